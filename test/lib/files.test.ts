import t from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileDurable, writePrivateFile, readTextFile } from '../../lib/src/files.js';
import { isVigieError } from '../../lib/src/errors.js';

t.test('private files are created with mode 0600 and never overwritten silently', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'sub', 'op.key');
  const oldMask = process.umask(0);
  t.teardown(() => process.umask(oldMask));
  await writePrivateFile(file, 'secret');
  t.equal((await fs.stat(file)).mode & 0o777, 0o600);
  await t.rejects(writePrivateFile(file, 'other'), { code: 'file-exists' });
  t.equal(await fs.readFile(file, 'utf8'), 'secret');
  await writePrivateFile(file, 'replaced', true);
  t.equal(await fs.readFile(file, 'utf8'), 'replaced');
  t.equal((await fs.stat(file)).mode & 0o777, 0o600, 'replacement keeps 0600');
});

t.test('public files default to 0644 and atomic replacement leaves no temp file', async (t) => {
  const dir = t.testdir();
  const oldMask = process.umask(0);
  t.teardown(() => process.umask(oldMask));
  const file = path.join(dir, 'ca.crt');
  await writeFileDurable(file, 'a');
  await writeFileDurable(file, 'b', { overwrite: true });
  t.equal((await fs.stat(file)).mode & 0o777, 0o644);
  t.same(await fs.readdir(dir), ['ca.crt']);
});

t.test('an unreadable file gives a clear, typed error', async (t) => {
  const err = await readTextFile('/nonexistent/x.yaml', 'policy file').catch((e: unknown) => e);
  t.ok(isVigieError(err, 'file-unreadable'));
  t.match((err as Error).message, 'cannot read policy file /nonexistent/x.yaml: ENOENT');
});
