import t, { type Test } from 'tap';
import { SqliteKeyValues, SqliteReplayStore } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { openJournal, p256Key, tempDir } from './journal-fixtures.js';

const T0 = Date.UTC(2025, 2, 1, 10, 0, 0);

function openStore(t: Test, file: string): SqliteReplayStore {
  const store = new SqliteReplayStore({ file });
  store.open();
  t.teardown(() => store.close());
  return store;
}

void t.test('remember returns false for a duplicate id, also after a restart', (t) => {
  const file = journalFileIn(tempDir(t));
  const store = openStore(t, file);
  t.equal(store.remember('cmd-1', T0 + 60_000), true, 'new id');
  t.equal(store.remember('cmd-1', T0 + 60_000), false, 'redelivery (QoS 1)');
  t.equal(store.remember('cmd-1', T0 + 999_000), false, 'another keep-until changes nothing');
  t.equal(store.remember('cmd-2', T0 + 60_000), true);
  store.close();
  const reopened = openStore(t, file);
  t.equal(reopened.remember('cmd-1', T0 + 60_000), false, 'duplicate after restart');
  t.equal(reopened.remember('cmd-3', T0 + 60_000), true);
  t.end();
});

void t.test('purge forgets only the ids whose keep-until time has passed', (t) => {
  const store = openStore(t, journalFileIn(tempDir(t)));
  store.remember('old', T0 + 1_000);
  store.remember('edge', T0 + 2_000);
  store.remember('young', T0 + 60_000);
  t.equal(store.purge(T0 + 2_000), 1, 'keep-until is inclusive: "edge" stays');
  t.equal(store.remember('old', T0 + 90_000), true, 'a purged id is new again');
  t.equal(store.remember('edge', T0 + 90_000), false);
  t.equal(store.remember('young', T0 + 90_000), false);
  t.equal(store.purge(T0 + 61_000), 2);
  t.end();
});

void t.test('the replay store and key/values share the journal file with the journal', (t) => {
  const dir = tempDir(t);
  const key = p256Key();
  const journal = openJournal(t, key, { dir });
  const store = openStore(t, journal.file);
  const values = new SqliteKeyValues({ file: journal.file });
  values.open();
  t.teardown(() => values.close());
  journal.append('agent.started', {});
  t.equal(store.remember('cmd-1', T0), true);
  journal.append('command.accepted', { id: 'cmd-1' });
  t.equal(journal.lastEntry()?.seq, 2, 'interleaved writes on two connections');

  t.equal(values.lastTrustedWallMs(), null);
  values.recordTrustedWallMs(T0 + 5_000);
  values.recordTrustedWallMs(T0 + 1_000);
  t.equal(values.lastTrustedWallMs(), T0 + 5_000, 'a floor: never lowered');
  t.equal(values.registerCheckpoint(), null);
  values.setRegisterCheckpoint({ seq: 2, hash: 'ab'.repeat(32) });
  values.close();
  const reopened = new SqliteKeyValues({ file: journal.file });
  reopened.open();
  t.teardown(() => reopened.close());
  t.equal(reopened.lastTrustedWallMs(), T0 + 5_000, 'survives a restart');
  t.same(reopened.registerCheckpoint(), { seq: 2, hash: 'ab'.repeat(32) });
  t.end();
});

void t.test('a closed store refuses to answer rather than guess', (t) => {
  const store = new SqliteReplayStore({ file: journalFileIn(tempDir(t)) });
  t.throws(() => store.remember('x', T0), { code: 'journal-unwritable' });
  t.end();
});
