/**
 * Encryption at rest for storage secret keys: AES-256-GCM under a key derived from
 * `STORAGE_SECRET_KEY`. The stored form is `v2.<key id>.<iv>.<tag>.<ciphertext>` (base64url), so
 * a wrong key or a tampered value fails loudly instead of yielding garbage, and every value says
 * which master key sealed it. The key id is a hash of the master key, never the key.
 *
 * Rotating the master key: set STORAGE_SECRET_KEY to the new key and the old one in
 * STORAGE_SECRET_KEY_PREVIOUS (values sealed by either open), then `npm run rekey` re-seals every
 * value with the new key; the old key can then be dropped. Values from before key ids (`v1.`)
 * are opened by trying each key (GCM's tag tells the right one) and re-sealed the same way.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

interface MasterKey {
  id: string;
  key: Buffer;
}

function masterKey(secret: string): MasterKey {
  return {
    id: createHash('sha256').update(`headroom-storage-key-id:${secret}`).digest('hex').slice(0, 12),
    key: createHash('sha256').update(`headroom-storage-secrets:${secret}`).digest(),
  };
}

function decrypt(key: Buffer, iv: string, tag: string, body: string): string {
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
}

/** Seals with the current master key; opens what the current or a previous one sealed. */
export class SecretBox {
  private readonly current: MasterKey;
  private readonly byId = new Map<string, MasterKey>();

  constructor(secret: string, previous: readonly string[] = []) {
    this.current = masterKey(secret);
    for (const k of [this.current, ...previous.map(masterKey)]) if (!this.byId.has(k.id)) this.byId.set(k.id, k);
  }

  /** The id of the key new values are sealed with. */
  get keyId(): string {
    return this.current.id;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v2', this.current.id, ...[iv, c.getAuthTag(), body].map((x) => x.toString('base64url'))].join('.');
  }

  open(sealed: string): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const [, id, iv, tag, body] = parts as [string, string, string, string, string];
      const k = this.byId.get(id);
      if (!k) throw new Error(`sealed secret was sealed with master key ${id}, which is neither STORAGE_SECRET_KEY nor in STORAGE_SECRET_KEY_PREVIOUS`);
      return decrypt(k.key, iv, tag, body);
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      const [, iv, tag, body] = parts as [string, string, string, string];
      for (const k of this.byId.values()) {
        try {
          return decrypt(k.key, iv, tag, body);
        } catch {
          // the tag did not match: another key sealed it
        }
      }
      throw new Error('sealed secret (v1) opens with none of the configured master keys');
    }
    throw new Error('sealed secret has an unknown format');
  }

  /** The id of the master key that sealed `sealed` (undefined for v1 values, which carry none). */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts[0] === 'v2' && parts.length === 5 ? parts[1] : undefined;
  }

  /** Whether `sealed` was sealed by another key than the current one (or before key ids). */
  needsReseal(sealed: string): boolean {
    return SecretBox.keyIdOf(sealed) !== this.current.id;
  }
}
