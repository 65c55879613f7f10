/**
 * One `vigie pki` writer at a time: two concurrent `issue` commands would
 * otherwise both read index.json and the second rename would drop the first
 * certificate from the index (and so from any future CRL).
 */
import { constants, promises as fs } from 'node:fs';
import { VigieError } from '../../lib/src/errors.js';
import type { PkiPaths } from './pki-layout.js';

export async function withPkiLock<T>(paths: PkiPaths, fn: () => Promise<T>): Promise<T> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(
      paths.lock,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      0o600,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VigieError(
        'pki-not-initialised',
        `${paths.dir} does not exist; run \`vigie pki init --dir ${paths.dir}\``,
        { cause: err },
      );
    }
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const holder = await fs.readFile(paths.lock, 'utf8').catch(() => 'unknown');
      throw new VigieError(
        'pki-locked',
        `${paths.dir} is locked by another vigie pki command (pid ${holder.trim() || 'unknown'}); ` +
          `if no such command is running, remove ${paths.lock}`,
      );
    }
    throw err;
  }
  try {
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    return await fn();
  } finally {
    await fs.rm(paths.lock, { force: true });
  }
}
