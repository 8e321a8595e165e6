/**
 * Secret encryption as JuiceFS does it when `KeyEncrypted` is true (v1.0+, `config.go`):
 * AES-GCM with key MD5(UUID) (so AES-128), a random 12-byte nonce, no additional data, stored as
 * base64(nonce ‖ ciphertext ‖ tag).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

function keyOf(uuid: string): Buffer {
  return createHash('md5').update(uuid).digest();
}

/** Encrypts a secret for the setting of the volume with this UUID. */
export function encryptSecret(uuid: string, plaintext: string): string {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-128-gcm', keyOf(uuid), nonce);
  const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64');
}

/** Decrypts a secret written by JuiceFS or by {@link encryptSecret}; throws if it does not authenticate. */
export function decryptSecret(uuid: string, stored: string): string {
  const raw = Buffer.from(stored, 'base64');
  if (raw.length < 12 + 16) throw new Error('encrypted secret too short');
  const d = createDecipheriv('aes-128-gcm', keyOf(uuid), raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
}
