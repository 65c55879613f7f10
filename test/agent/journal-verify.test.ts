import type Database from 'better-sqlite3';
import fc from 'fast-check';
import { copyFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { verifyJournalFile } from '../../agent/src/journal/index.js';
import {
  fileFingerprint,
  openJournal,
  p256Key,
  rechain,
  rehashOne,
  swapEntries,
  resignHeads,
  tamper,
  tempDir,
  writeJournal,
} from './journal-fixtures.js';

const box = p256Key();
const attacker = p256Key();

const cases: [string, (db: Database.Database) => void, object][] = [
  [
    'an edited entry',
    (db) => db.prepare(`UPDATE entries SET data = '{"n":99}' WHERE seq = 5`).run(),
    { seq: 5, problem: 'hash-mismatch', what: 'entry edited' },
  ],
  [
    'a removed entry',
    (db) => db.prepare('DELETE FROM entries WHERE seq = 5').run(),
    { seq: 5, problem: 'seq-gap', what: 'entry removed' },
  ],
  [
    "two rows' contents swapped (reordered)",
    (db) => swapEntries(db, 4, 5),
    { seq: 4, problem: 'prev-hash-mismatch', what: 'entries reordered' },
  ],
  [
    'an entry edited and re-hashed alone',
    (db) => {
      db.prepare(`UPDATE entries SET data = '{"n":99}' WHERE seq = 5`).run();
      rehashOne(db, 5);
    },
    { seq: 6, problem: 'prev-hash-mismatch', what: /broken link/ },
  ],
  [
    'the whole chain re-hashed and re-signed with another key',
    (db) => {
      db.prepare(`UPDATE entries SET data = '{"n":99}' WHERE seq = 2`).run();
      rechain(db, 1);
      resignHeads(db, attacker.privateKey);
    },
    { seq: 4, problem: 'head-bad-signature', what: /re-signed with another key/ },
  ],
  [
    'entries removed from the end',
    (db) => db.prepare('DELETE FROM entries WHERE seq > 8').run(),
    { seq: 9, problem: 'head-out-of-range', what: 'entries removed from the end' },
  ],
  [
    'the current head removed',
    (db) => db.prepare('DELETE FROM current_head').run(),
    { seq: 9, problem: 'head-missing' },
  ],
  [
    'a head altered',
    (db) => db.prepare('UPDATE heads SET seq = 5 WHERE seq = 4').run(),
    { seq: 5, problem: 'head-bad-signature' },
  ],
];

for (const [name, edit, expected] of cases) {
  void t.test(`verify finds ${name} at the right seq`, (t) => {
    const file = writeJournal(t, box, 10, { milestoneEvery: 4 });
    tamper(file, edit);
    const report = verifyJournalFile(file, box.publicKey);
    t.equal(report.ok, false);
    t.match(report.break, expected);
    t.end();
  });
}

void t.test('an edit re-hashed to the end is caught by the genuine head after it', (t) => {
  const file = writeJournal(t, box, 10, { milestoneEvery: 4 });
  tamper(file, (db) => {
    db.prepare(`UPDATE entries SET data = '{"n":99}' WHERE seq = 6`).run();
    rechain(db, 6);
  });
  t.match(verifyJournalFile(file, box.publicKey), {
    ok: false,
    entriesVerified: 7,
    headsChecked: 2,
    break: { seq: 8, problem: 'head-hash-mismatch', what: 'chain re-hashed after signing' },
  });
  t.end();
});

void t.test('verify never modifies the file or its WAL', (t) => {
  const journal = openJournal(t, box);
  for (let i = 0; i < 50; i++) journal.append('tick', { i });
  // Verified while the agent still holds it open: the entries are in the -wal.
  const live = fileFingerprint(journal.file);
  t.ok(statSync(`${journal.file}-wal`).size > 0, 'entries still in the WAL');
  t.match(verifyJournalFile(journal.file, box.publicKey), { ok: true, lastSeq: 50 });
  t.equal(fileFingerprint(journal.file), live, 'live journal and its WAL untouched');
  journal.close();
  const closed = fileFingerprint(journal.file);
  t.match(verifyJournalFile(journal.file, box.publicKey), { ok: true, lastSeq: 50 });
  t.equal(fileFingerprint(journal.file), closed, 'closed journal untouched, no WAL content');
  tamper(journal.file, (db) => db.prepare('DELETE FROM entries WHERE seq = 7').run());
  const tampered = fileFingerprint(journal.file);
  t.match(verifyJournalFile(journal.file, box.publicKey), { ok: false });
  t.equal(fileFingerprint(journal.file), tampered, 'broken journal untouched');
  t.end();
});

void t.test('any sequence of appends verifies (property)', (t) => {
  const dir = tempDir(t);
  let run = 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          type: fc.constantFrom('session.opened', 'session.closed', 'command.refused', 'tick'),
          data: fc
            .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
              maxKeys: 4,
            })
            .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      fc.integer({ min: 1, max: 7 }),
      (appends, milestoneEvery) => {
        const journal = openJournal(t, box, { dir: path.join(dir, `${run++}`), milestoneEvery });
        for (const { type, data } of appends) journal.append(type, data);
        journal.close();
        const report = verifyJournalFile(journal.file, box.publicKey);
        return report.ok && report.lastSeq === appends.length;
      },
    ),
    { numRuns: 60 },
  );
  t.pass('every random journal verified');
  t.end();
});

void t.test(
  'any single-byte change of any stored entry field is found at its seq (property)',
  (t) => {
    const dir = tempDir(t);
    const pristine = writeJournal(t, box, 12, { milestoneEvery: 5 });
    const columns = ['source', 'time', 'boot_id', 'type', 'data', 'prev_hash', 'hash'] as const;
    let run = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(...columns),
        fc.nat(),
        fc.integer({ min: 1, max: 127 }),
        (seq, column, at, xor) => {
          const file = path.join(dir, `m-${run++}.db`);
          copyFileSync(pristine, file);
          tamper(file, (db) => {
            const value = db
              .prepare(`SELECT ${column} FROM entries WHERE seq = ?`)
              .pluck()
              .get(seq);
            const bytes = Buffer.isBuffer(value) ? Buffer.from(value) : Buffer.from(String(value));
            const i = at % bytes.length;
            // Stay within ASCII for text so the change is one byte of valid UTF-8.
            bytes[i] = Buffer.isBuffer(value)
              ? (bytes[i] ?? 0) ^ xor
              : ((bytes[i] ?? 0) ^ xor) & 0x7f || 0x21;
            if (!Buffer.isBuffer(value) && bytes.toString() === value)
              bytes[i] = (bytes[i] ?? 0) === 0x21 ? 0x22 : 0x21;
            const mutated = Buffer.isBuffer(value) ? bytes : bytes.toString();
            db.prepare(`UPDATE entries SET ${column} = ? WHERE seq = ?`).run(mutated, seq);
          });
          const report = verifyJournalFile(file, box.publicKey);
          return !report.ok && report.break?.seq === seq;
        },
      ),
      { numRuns: 150 },
    );
    t.pass('every mutation found at the mutated entry');
    t.end();
  },
);
