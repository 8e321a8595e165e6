import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { openSqlite } from '../../server/engines/local/sqlite.js';
import { kvEngineContract } from './kv-engine.contract.js';
import { tkvVolumeContract } from './tkv-volume.contract.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-local-'));
kvEngineContract('local (SQLite)', async () => new LocalEngine(path.join(dir, 'contract.db')));
tkvVolumeContract(
  'local (SQLite)',
  async () => new LocalEngine(path.join(dir, 'tkv.db')),
  (n) => Buffer.from(n),
);

describe('local engine persistence', () => {
  it('runs on node:sqlite from Node 24 and on better-sqlite3 on Node 20 (which aborts on 24)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const db = openSqlite(path.join(dir, 'driver.db'));
    expect(db.driver).toBe(major >= 24 ? 'node:sqlite' : major === 20 ? 'better-sqlite3' : db.driver);
    db.exec('CREATE TABLE b (k BLOB)');
    db.prepare<[Buffer]>('INSERT INTO b VALUES (?)').run(Buffer.from([0, 255]));
    const row = db.prepare<[], { k: Buffer }>('SELECT k FROM b').get();
    expect(Buffer.isBuffer(row?.k) && row.k.equals(Buffer.from([0, 255]))).toBe(true);
    expect(() =>
      db.immediate(() => {
        db.exec("INSERT INTO b VALUES (x'01')");
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(db.prepare<[], { n: number }>('SELECT count(*) AS n FROM b').get()?.n).toBe(1);
    db.close();
    db.close();
    expect(db.isOpen).toBe(false);
  });

  it('keeps committed data across a reopen, and drops an uncommitted transaction', async () => {
    const file = path.join(dir, 'reopen.db');
    const a = new LocalEngine(file);
    await a.txn(async (t) => t.put(Buffer.from('k'), Buffer.from('v')));
    const pending = a.txn(async (t) => {
      t.put(Buffer.from('half'), Buffer.from('x'));
      await a.close(); // the process "dies" before commit
    });
    await expect(pending).rejects.toThrow();
    const b = new LocalEngine(file);
    expect(Buffer.from((await b.get(Buffer.from('k')))!).toString()).toBe('v');
    expect(await b.get(Buffer.from('half'))).toBeUndefined();
    await b.close();
  });
});
