/** Small helper for secrets that zero-config mode generates once and keeps under DATA_DIR. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Reads a secret file, or creates it (mode 0600) with `make()` the first time. */
export async function loadOrCreate(file: string, make: () => string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const value = make();
    await mkdir(path.dirname(file), { recursive: true });
    // 'wx' so two processes starting at once cannot both write different secrets.
    await writeFile(file, value + '\n', { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    return (await readFile(file, 'utf8')).trim();
  }
}
