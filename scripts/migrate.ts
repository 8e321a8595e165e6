/**
 * `npm run migrate [-- up|down]`: applies (or rolls back every) migration on DATABASE_URL.
 * The server migrates itself at start; this is for operators who run migrations as a step.
 */
import { loadConfig } from '../server/config.js';
import { createDb } from '../server/db/database.js';
import { migrateDownAll, migrateLatest } from '../server/db/migrations.js';

const config = loadConfig(process.env);
if (!config.database.url) {
  console.error('DATABASE_URL is required (the embedded database is migrated by `npm start`)');
  process.exit(2);
}
const db = createDb(config.database.url, 2);
try {
  const down = process.argv[2] === 'down';
  const names = down ? await migrateDownAll(db) : await migrateLatest(db);
  console.log(names.length ? `${down ? 'rolled back' : 'applied'}: ${names.join(', ')}` : 'nothing to do');
} finally {
  await db.destroy();
}
