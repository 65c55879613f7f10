/**
 * File helpers for material that must not leak: private keys and tokens are
 * created with mode 0600 atomically (the mode is set at open, never chmod'ed
 * after the bytes are already readable), fsync'ed, and never overwritten
 * silently.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { VigieError } from './errors.js';

export interface WriteOptions {
  mode?: number; // default 0o644 for public material
  overwrite?: boolean; // default false: refuse to clobber an existing file
}

export async function writeFileDurable(
  file: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  if (!options.overwrite) {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
    let handle;
    try {
      handle = await fs.open(file, flags, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new VigieError('file-exists', `${file} already exists; refusing to overwrite it`);
      }
      throw err;
    }
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return;
  }
  // Replace atomically: write a sibling temp file with the final mode, fsync, rename.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await fs.open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
    mode,
  );
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/** Writes a secret (private key, token): mode 0600, never overwrites unless asked. */
export async function writePrivateFile(
  file: string,
  data: string | Uint8Array,
  overwrite = false,
): Promise<void> {
  await writeFileDurable(file, data, { mode: 0o600, overwrite });
}

export async function readTextFile(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new VigieError('file-unreadable', `cannot read ${what} ${file}: ${code}`, { cause: err });
  }
}
