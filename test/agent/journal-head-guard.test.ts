/**
 * The box never signs over a chain it did not sign: before an append, the
 * file's current head must be this box's and vouch for the last entry. A
 * chain rewritten and re-signed with another key is otherwise laundered by
 * the next genuine append (the new head, signed with the box key, would cover
 * the forged history and `vigie journal verify` would pass).
 */
import t, { type Test } from 'tap';
import { isVigieError } from '../../lib/src/errors.js';
import { verifyJournalFile } from '../../agent/src/journal/verify-journal.js';
import { SqliteJournal } from '../../agent/src/journal/sqlite-journal.js';
import {
  fileFingerprint,
  journalOptions,
  p256Key,
  rechain,
  resignHeads,
  tamper,
  tempDir,
  writeJournal,
} from './journal-fixtures.js';

const box = p256Key();
const attacker = p256Key();

function reopen(t: Test, file: string): SqliteJournal {
  const journal = new SqliteJournal(journalOptions(file, box));
  journal.open();
  t.teardown(() => journal.close());
  return journal;
}

void t.test('a journal the box signed takes new entries after a restart', (t) => {
  const file = writeJournal(t, box, 5, { dir: tempDir(t) });
  const journal = reopen(t, file);
  t.equal(journal.append('agent.started', {}).seq, 6);
  t.equal(journal.append('agent.started', {}).seq, 7, 'its own head is trusted as written');
  t.end();
});

const forgeries: [string, (db: Parameters<Parameters<typeof tamper>[1]>[0]) => void, RegExp][] = [
  [
    'a history rewritten and re-signed with another key',
    (db) => {
      db.prepare(`UPDATE entries SET data = '{"n":99}' WHERE seq = 2`).run();
      rechain(db, 1);
      resignHeads(db, attacker.privateKey);
    },
    /not signed by this box's key/,
  ],
  [
    'entries removed from the end',
    (db) => db.prepare('DELETE FROM entries WHERE seq > 3').run(),
    /names seq 5, the last entry is seq 3/,
  ],
  [
    'the current head removed',
    (db) => db.prepare('DELETE FROM current_head').run(),
    /no signed head vouches for the last entry/,
  ],
];

for (const [what, edit, message] of forgeries) {
  void t.test(`${what}: no append, nothing signed over it`, (t) => {
    const file = writeJournal(t, box, 5, { dir: tempDir(t) });
    tamper(file, edit);
    const before = fileFingerprint(file);
    const journal = reopen(t, file);
    let caught: unknown = null;
    try {
      journal.append('agent.started', {});
    } catch (err) {
      caught = err;
    }
    t.ok(isVigieError(caught, 'journal-unwritable'), 'the append is refused');
    t.match((caught as Error | null)?.message ?? '', message);
    t.notOk(journal.writable, 'sessions are refused (rule 5)');
    journal.close();
    t.equal(fileFingerprint(file), before, 'the file is as the attacker left it');
    t.notOk(verifyJournalFile(file, box.publicKey).ok, 'and verify still says so');
    t.end();
  });
}

void t.test('a file changed under the running agent is caught at its next append', (t) => {
  const file = writeJournal(t, box, 5, { dir: tempDir(t) });
  const journal = reopen(t, file);
  journal.append('agent.started', {});
  tamper(file, (db) => {
    db.prepare(`UPDATE entries SET data = '{"n":98}' WHERE seq = 3`).run();
    rechain(db, 1);
    resignHeads(db, attacker.privateKey);
  });
  t.throws(() => journal.append('session.opened', {}), /not signed by this box's key/);
  t.end();
});
