/** Sealed values carry the id of the master key that sealed them; previous keys still open them. */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../../server/storage/secret-box.js';

const OLD = 'old-master-key-old-master-key-0123456789';
const NEW = 'new-master-key-new-master-key-0123456789';

/** A value in the format before key ids (v1), as the earlier SecretBox wrote it. */
function sealV1(secret: string, plain: string): string {
  const key = createHash('sha256').update(`headroom-storage-secrets:${secret}`).digest();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return ['v1', iv, c.getAuthTag(), body].map((x) => (typeof x === 'string' ? x : x.toString('base64url'))).join('.');
}

describe('SecretBox', () => {
  it('seals with the key id of the current key and opens its own values', () => {
    const box = new SecretBox(NEW);
    const sealed = box.seal('s3cr3t');
    expect(sealed.startsWith(`v2.${box.keyId}.`)).toBe(true);
    expect(box.keyId).not.toContain(NEW.slice(0, 6));
    expect(box.open(sealed)).toBe('s3cr3t');
    expect(box.needsReseal(sealed)).toBe(false);
  });

  it('opens what a previous key sealed, and says it needs re-sealing', () => {
    const sealed = new SecretBox(OLD).seal('s3cr3t');
    const box = new SecretBox(NEW, [OLD]);
    expect(box.open(sealed)).toBe('s3cr3t');
    expect(box.needsReseal(sealed)).toBe(true);
    expect(SecretBox.keyIdOf(sealed)).toBe(new SecretBox(OLD).keyId);
  });

  it('names the key it lacks', () => {
    const sealed = new SecretBox(OLD).seal('s3cr3t');
    expect(() => new SecretBox(NEW).open(sealed)).toThrow(new RegExp(`master key ${new SecretBox(OLD).keyId}`));
  });

  it('opens values from before key ids with whichever key sealed them', () => {
    const box = new SecretBox(NEW, [OLD]);
    expect(box.open(sealV1(OLD, 'legacy'))).toBe('legacy');
    expect(box.open(sealV1(NEW, 'legacy-new'))).toBe('legacy-new');
    expect(box.needsReseal(sealV1(NEW, 'x'))).toBe(true);
    expect(() => new SecretBox(NEW).open(sealV1(OLD, 'x'))).toThrow(/none of the configured master keys/);
  });

  it('refuses a tampered value', () => {
    const box = new SecretBox(NEW);
    const parts = box.seal('s3cr3t').split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => box.open('v9.x')).toThrow(/unknown format/);
  });
});
