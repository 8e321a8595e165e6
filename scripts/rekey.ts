/**
 * `npm run rekey`: re-seals tenants' storage secret keys with the current master key. Rotate the
 * master key by setting STORAGE_SECRET_KEY to the new key and STORAGE_SECRET_KEY_PREVIOUS to the
 * old one (the server opens values sealed by either), then run this once against DATABASE_URL;
 * afterwards the old key can be dropped. Safe to repeat and to run while the server runs.
 */
import { resolveStorageSecret } from '../server/auth/resolve-secret.js';
import { loadConfig } from '../server/config.js';
import { createDb } from '../server/db/database.js';
import { SecretBox } from '../server/storage/secret-box.js';
import { rekeyStorageSecrets } from '../server/storage/storage-rekey.js';

const config = loadConfig(process.env);
if (!config.database.url) {
  console.error('DATABASE_URL is required (point it at the database the server uses)');
  process.exit(2);
}
const box = new SecretBox(await resolveStorageSecret(config), config.storageSecretKeysPrevious);
const db = createDb(config.database.url, 2);
try {
  const r = await rekeyStorageSecrets(db, box);
  console.log(`master key ${r.keyId}: re-sealed ${r.resealed}, already current ${r.alreadyCurrent}, unreadable ${r.unreadable.length}`);
  if (r.unreadable.length) {
    console.error(`no configured key opens the storage secret of: ${r.unreadable.join(', ')}; add the key that sealed them to STORAGE_SECRET_KEY_PREVIOUS`);
    process.exitCode = 1;
  }
} finally {
  await db.destroy();
}
