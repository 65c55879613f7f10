/** Test helper (not a test file): fills a small filesystem to ENOSPC. */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Writes zeros to `file` until the filesystem says ENOSPC. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
