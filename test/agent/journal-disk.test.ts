/**
 * Rule 5 on real failing storage: the data directory on a tiny tmpfs that we
 * fill, and a read-only bind mount. Needs root (mount); skipped with a clear
 * message where mounting is not allowed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SqliteJournal, verifyJournalFile } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { journalOptions, p256Key, tempDir, writeJournal } from './journal-fixtures.js';
import { fillDisk } from '../helpers/disk.js';

const key = p256Key();

function run(cmd: string, ...args: string[]): string | null {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  return result.status === 0
    ? null
    : `${cmd} ${args.join(' ')}: ${result.stderr.trim() || result.error?.message}`;
}

/** Mounts with `mountArgs` on a fresh directory, unmounted in teardown; null (and a skip) if not allowed. */
function mounted(t: Test, mountArgs: string[]): string | null {
  const dir = tempDir(t, 'vigie-journal-mnt-');
  const target = path.join(dir, 'mnt');
  mkdirSync(target);
  const failed = run('mount', ...mountArgs, target);
  if (failed) {
    void t.skip(`cannot mount here (needs root and CAP_SYS_ADMIN): ${failed}`, (st) => st.end());
    return null;
  }
  // Lazy unmount: a journal still open by a failing test must not wedge the teardown.
  t.teardown(() => {
    const failedUnmount = run('umount', '-l', target);
    if (failedUnmount) t.comment(failedUnmount);
  });
  return target;
}

/** Ends a test whose mount was refused (the skip is already recorded). */
function skipped(t: Test): void {
  t.end();
}

function skipBecause(t: Test, why: string): void {
  void t.skip(why, (st) => st.end());
  t.end();
}

function opened(t: Test, file: string): SqliteJournal {
  const journal = new SqliteJournal(journalOptions(file, key));
  journal.open();
  t.teardown(() => journal.close());
  return journal;
}

void t.test('disk full: append throws journal-unwritable, writable goes false, no crash', (t) => {
  const dir = mounted(t, ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs']);
  if (!dir) return skipped(t);
  const journal = opened(t, journalFileIn(dir));
  for (let i = 0; i < 5; i++) journal.append('tick', { i });
  const filler = path.join(dir, 'filler');
  fillDisk(filler);

  let error: unknown = null;
  for (let i = 0; i < 200 && error === null; i++) {
    try {
      journal.append('session.opened', { sessionId: `s-${i}`, pad: 'x'.repeat(8000) });
    } catch (err) {
      error = err;
    }
  }
  t.match(error, { code: 'journal-unwritable', message: /SQLITE_FULL|disk is full/ });
  t.equal(journal.writable, false, 'the agent now refuses new sessions');
  const last = journal.lastEntry();
  t.ok(last, 'still readable');

  unlinkSync(filler);
  const closing = journal.append('session.closed', { reason: 'journal-unwritable' });
  t.equal(closing.seq, (last?.seq ?? 0) + 1, 'space back: the next append continues the chain');
  t.equal(closing.prevHash, last?.hash);
  t.equal(journal.writable, true);
  journal.close();
  t.match(verifyJournalFile(journal.file, key.publicKey), { ok: true, lastSeq: closing.seq });
  t.end();
});

void t.test('disk full before the journal exists: open throws journal-unwritable', (t) => {
  const dir = mounted(t, ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs']);
  if (!dir) return skipped(t);
  fillDisk(path.join(dir, 'filler'));
  const journal = new SqliteJournal(journalOptions(journalFileIn(dir), key));
  t.throws(() => journal.open(), { code: 'journal-unwritable' });
  t.equal(journal.writable, false);
  rmSync(journalFileIn(dir), { force: true });
  t.end();
});

void t.test('read-only storage, journal closed cleanly: open throws journal-unwritable', (t) => {
  const source = tempDir(t);
  writeJournal(t, key, 3, { dir: source });
  const dir = mounted(t, ['--bind', source]);
  if (!dir) return skipped(t);
  const readOnly = run('mount', '-o', 'remount,bind,ro', dir);
  if (readOnly) return skipBecause(t, readOnly);
  // SQLite cannot read a WAL database on read-only media without its -shm
  // (it would need the `immutable` URI, which better-sqlite3 does not take).
  const journal = new SqliteJournal(journalOptions(journalFileIn(dir), key));
  t.throws(() => journal.open(), {
    code: 'journal-unwritable',
    message: /open the journal .*(EROFS|SQLITE_CANTOPEN|SQLITE_READONLY)/,
  });
  t.equal(journal.writable, false);
  t.end();
});

void t.test(
  'read-only storage, WAL present: opens read-only, append refused, then recovers',
  (t) => {
    const source = tempDir(t);
    // The journal still open on its own path keeps its -wal and -shm, as after a crash.
    const holder = opened(t, journalFileIn(source));
    for (let i = 0; i < 3; i++) holder.append('tick', { i });
    const dir = mounted(t, ['--bind', source]);
    if (!dir) return skipped(t);
    const readOnly = run('mount', '-o', 'remount,bind,ro', dir);
    if (readOnly) return skipBecause(t, readOnly);

    const journal = opened(t, journalFileIn(dir));
    t.equal(
      journal.writable,
      false,
      'open falls back to read-only: the agent starts, refuses sessions',
    );
    t.equal(journal.lastEntry()?.seq, 3, 'and can still read its journal');
    t.throws(() => journal.append('session.opened', {}), {
      code: 'journal-unwritable',
      message: /append a session.opened entry .*(EROFS|SQLITE_READONLY|SQLITE_CANTOPEN)/,
    });
    t.equal(journal.writable, false);
    t.match(verifyJournalFile(journal.file, key.publicKey), { ok: true, lastSeq: 3 });

    const writableAgain = run('mount', '-o', 'remount,bind,rw', dir);
    if (writableAgain) return skipBecause(t, writableAgain);
    t.equal(journal.append('session.closed', { reason: 'agent-restart' }).seq, 4, 'recovers');
    t.equal(journal.writable, true);
    t.end();
  },
);
