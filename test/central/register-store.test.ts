import Database from 'better-sqlite3';
import fc from 'fast-check';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SqliteJournal } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { SqliteRegisterStore } from '../../central/src/register/register-store.js';
import { REGISTER_TABLES } from '../../central/src/register/register-database.js';
import { ENTRY_COLUMNS, entryToRow } from '../../central/src/register/register-rows.js';
import { canonicalJson } from '../../protocol/src/canonical-json.js';
import { merkleRoot, verifyCheckpoint } from '../../protocol/src/checkpoint.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../protocol/src/journal-head.js';
import {
  journalOptions,
  p256Key,
  steppingClock,
  tempDir,
  type BoxKey,
} from '../agent/journal-fixtures.js';

const boxKey = p256Key();
const otherBoxKey = p256Key();
const registerKey = generateKeyPairSync('ed25519');

interface Chain {
  readonly entries: JournalEntry[];
  /** heads[i] is the box-signed head after entries[i]. */
  readonly heads: SignedHead[];
}

/**
 * A genuine chain written by the box's own journal. `dataOf(i)` gives entry
 * i's data: two chains with the same dataOf up to some i share those entries
 * (same clock, boot and key), and diverge after.
 */
function boxChain(
  t: Test,
  count: number,
  options: { source?: string; key?: BoxKey; dataOf?: (i: number) => Record<string, unknown> } = {},
): Chain {
  const key = options.key ?? boxKey;
  const file = journalFileIn(tempDir(t, 'vigie-box-'));
  const journal = new SqliteJournal(
    journalOptions(file, key, options.source ? { source: options.source } : {}),
  );
  journal.open();
  const entries: JournalEntry[] = [];
  const heads: SignedHead[] = [];
  for (let i = 0; i < count; i++) {
    entries.push(journal.append('session.opened', options.dataOf?.(i) ?? { sessionId: `s-${i}` }));
    const head = journal.lastHead();
    if (!head) throw new Error('the journal signed no head');
    heads.push(head);
  }
  journal.close();
  return { entries, heads };
}

function storeIn(t: Test, dir = tempDir(t, 'vigie-register-')): SqliteRegisterStore {
  const store = new SqliteRegisterStore({
    file: path.join(dir, 'register.db'),
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: steppingClock(),
  });
  store.open();
  t.teardown(() => store.close());
  return store;
}

const keys =
  (map: Record<string, KeyObject> = { 'box-01': boxKey.publicKey }) =>
  (source: string): KeyObject | undefined =>
    map[source];

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

/** Runs `edit` with the append-only triggers dropped: someone holding the file. */
function tamper(file: string, edit: (db: Database.Database) => void): void {
  const db = new Database(file);
  try {
    for (const table of REGISTER_TABLES) {
      db.exec(`DROP TRIGGER ${table}_no_update; DROP TRIGGER ${table}_no_delete;`);
    }
    edit(db);
  } finally {
    db.close();
  }
}

const chain = boxChain(t, 10);
const last = at(chain.heads, 9);

void t.test('ingests a genuine chain with its head and acknowledges the last entry', (t) => {
  const store = storeIn(t);
  t.equal(store.lastAcked('box-01'), null, 'a box never heard of resumes from the start');
  const result = store.ingest({
    source: 'box-01',
    entries: chain.entries,
    head: last,
    boxKey: boxKey.publicKey,
  });
  t.same(result, {
    accepted: 10,
    duplicates: 0,
    lastAcked: { seq: 10, hash: at(chain.entries, 9).hash },
    head: 'stored',
    problems: [],
  });
  t.same(store.lastAcked('box-01'), { seq: 10, hash: at(chain.entries, 9).hash });
  t.same(store.entriesOf('box-01'), chain.entries, 'entries read back exactly as sent');
  const report = store.verifyAll(keys());
  t.equal(report.ok, true);
  t.same(report.sources, [{ source: 'box-01', entries: 10, lastSeq: 10, vouchedThroughSeq: 10 }]);
  t.end();
});

void t.test('a resend of everything changes no count and no checkpoint', (t) => {
  const store = storeIn(t);
  const batch = { source: 'box-01', entries: chain.entries, head: last, boxKey: boxKey.publicKey };
  store.ingest(batch);
  const checkpoint = store.checkpoint();
  const counts = store.counts();
  const again = store.ingest(batch);
  t.same(again, {
    accepted: 0,
    duplicates: 10,
    lastAcked: { seq: 10, hash: at(chain.entries, 9).hash },
    head: 'known',
    problems: [],
  });
  t.same(store.counts(), counts);
  t.same(store.checkpoint(), checkpoint, 'same tree size: the stored checkpoint, unchanged');
  t.same(counts, { entries: 10, heads: 1, evidence: 0, checkpoints: 1 });
  t.end();
});

void t.test(
  'reordered and duplicated delivery ends in the same state as in-order delivery',
  (t) => {
    const inOrder = storeIn(t);
    inOrder.ingest({ source: 'box-01', entries: chain.entries, boxKey: boxKey.publicKey });
    const shuffled = storeIn(t);
    const e = chain.entries;
    const batches = [
      [e[3], e[0], e[2], e[1], e[2]], // reordered inside a batch, one duplicate
      [e[7], e[8]], // ahead of the chain: a gap, kept as evidence, not stored
      [e[0], e[1], e[4], e[5], e[6], e[3]],
      [e[9], e[8], e[7], e[9]],
    ];
    for (const entries of batches) {
      shuffled.ingest({ source: 'box-01', entries, boxKey: boxKey.publicKey });
    }
    t.same(shuffled.entriesOf('box-01'), inOrder.entriesOf('box-01'));
    t.same(shuffled.lastAcked('box-01'), inOrder.lastAcked('box-01'));
    t.equal(shuffled.checkpoint().rootHash, inOrder.checkpoint().rootHash);
    t.same(
      shuffled.evidence().map((row) => [row.seq, row.reason]),
      [
        [8, 'seq-gap'],
        [9, 'seq-gap'],
      ],
      'the early batch is on record',
    );
    t.end();
  },
);

void t.test(
  'a conflict, a gap, a broken link and bad heads are kept as evidence, never stored',
  (t) => {
    const store = storeIn(t);
    // Same box, same first two entries, then another history from seq 3.
    const forked = boxChain(t, 5, {
      dataOf: (i) => (i < 2 ? { sessionId: `s-${i}` } : { sessionId: `forged-${i}` }),
    });
    t.equal(at(forked.entries, 1).hash, at(chain.entries, 1).hash, 'the fork shares seq 1-2');
    store.ingest({
      source: 'box-01',
      entries: chain.entries.slice(0, 3),
      boxKey: boxKey.publicKey,
    });
    const otherKeyHead = at(boxChain(t, 3, { key: otherBoxKey }).heads, 2);
    const result = store.ingest({
      source: 'box-01',
      entries: [
        at(forked.entries, 2), // seq 3, other content
        at(forked.entries, 3), // seq 4 linking to the forged seq 3
        at(chain.entries, 5), // seq 6 while 3 is the last: a gap
        { seq: 7, hello: 'world' },
      ],
      head: otherKeyHead,
      boxKey: boxKey.publicKey,
    });
    t.equal(result.accepted, 0);
    t.same(result.lastAcked, { seq: 3, hash: at(chain.entries, 2).hash });
    t.equal(result.head, 'refused');
    t.same(
      result.problems.map((p) => [p.source, p.seq, p.reason]),
      [
        ['box-01', 3, 'seq-conflict'],
        ['box-01', 4, 'prev-hash-mismatch'],
        ['box-01', 6, 'seq-gap'],
        ['box-01', 7, 'entry-malformed'],
        ['box-01', 3, 'head-bad-signature'],
      ],
    );
    const evidence = store.evidence('box-01');
    t.same(
      evidence.map((row) => [row.seq, row.reason]),
      result.problems.map((p) => [p.seq, p.reason]),
    );
    t.same(
      JSON.parse(at(evidence, 0).raw),
      at(forked.entries, 2),
      'the conflicting entry as received',
    );
    t.same(store.entriesOf('box-01'), chain.entries.slice(0, 3), 'the stored history is untouched');
    const ahead = store.ingest({
      source: 'box-01',
      entries: [],
      head: at(chain.heads, 5),
      boxKey: boxKey.publicKey,
    });
    t.same(
      ahead.problems.map((p) => p.reason),
      ['head-out-of-range'],
    );
    const stranger = store.ingest({
      source: 'box-01',
      entries: boxChain(t, 1, { source: 'box-02' }).entries,
      boxKey: boxKey.publicKey,
    });
    t.same(
      stranger.problems.map((p) => p.reason),
      ['source-mismatch'],
    );
    const counts = store.counts();
    store.ingest({
      source: 'box-01',
      entries: [at(forked.entries, 2), at(forked.entries, 3)],
      boxKey: boxKey.publicKey,
    });
    t.same(store.counts(), counts, 'a resend of refused entries adds no evidence row');
    t.ok(store.verifyAll(keys()).ok, 'what was stored still verifies');
    t.end();
  },
);

void t.test('the register file is append-only and refuses foreign files', (t) => {
  const dir = tempDir(t, 'vigie-register-');
  const store = storeIn(t, dir);
  store.ingest({ source: 'box-01', entries: chain.entries, boxKey: boxKey.publicKey });
  const db = new Database(path.join(dir, 'register.db'));
  t.teardown(() => db.close());
  t.throws(() => db.exec("UPDATE entries SET type = 'x' WHERE seq = 1"), /append-only/);
  t.throws(() => db.exec('DELETE FROM entries WHERE seq = 10'), /append-only/);
  const foreign = path.join(dir, 'foreign.db');
  writeFileSync(foreign, '');
  new Database(foreign).exec('CREATE TABLE t (x)');
  const other = new SqliteRegisterStore({
    file: foreign,
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: steppingClock(),
  });
  t.throws(() => other.open(), { code: 'register-invalid' });
  t.end();
});

void t.test('verifyAll names the position of an edited or a removed entry', async (t) => {
  const setUp = (t: Test): { store: SqliteRegisterStore; file: string } => {
    const dir = tempDir(t, 'vigie-register-');
    const store = storeIn(t, dir);
    store.ingest({
      source: 'box-01',
      entries: chain.entries,
      head: last,
      boxKey: boxKey.publicKey,
    });
    store.checkpoint();
    store.close();
    return { store, file: path.join(dir, 'register.db') };
  };
  await t.test('edited', (t) => {
    const { store, file } = setUp(t);
    tamper(file, (db) => db.exec(`UPDATE entries SET data = '{"sessionId":"s-x"}' WHERE seq = 4`));
    store.open();
    const report = store.verifyAll(keys());
    t.equal(report.ok, false);
    t.match(report.problems, [{ source: 'box-01', seq: 4, reason: 'hash-mismatch' }]);
    t.end();
  });
  await t.test('removed', (t) => {
    const { store, file } = setUp(t);
    tamper(file, (db) => db.exec('DELETE FROM entries WHERE seq = 6'));
    store.open();
    const report = store.verifyAll(keys());
    t.match(report.problems, [
      { source: 'box-01', seq: 7, reason: 'seq-gap' },
      { source: null, reason: 'checkpoint-size-exceeds', message: /checkpoint 10/ },
    ]);
    t.end();
  });
  await t.test(
    'a history rewritten with valid hashes is caught by the head and the checkpoint',
    (t) => {
      const { store, file } = setUp(t);
      const forged = boxChain(t, 10, { dataOf: (i) => ({ sessionId: `forged-${i}` }) });
      tamper(file, (db) => {
        db.exec('DELETE FROM entries');
        const insert = db.prepare(
          `INSERT INTO entries (${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const e of forged.entries) insert.run(...entryToRow(e, canonicalJson(e.data)));
      });
      store.open();
      t.match(store.verifyAll(keys()).problems, [
        { source: 'box-01', seq: 10, reason: 'head-hash-mismatch' },
        { source: null, reason: 'checkpoint-root-mismatch', message: /checkpoint 10/ },
      ]);
      t.end();
    },
  );
  await t.test('a box with no known key is reported, not skipped', (t) => {
    const { store } = setUp(t);
    store.open();
    t.match(store.verifyAll(keys({})).problems, [{ source: 'box-01', reason: 'box-key-unknown' }]);
    t.end();
  });
});

void t.test('checkpoints are signed tree heads over every accepted entry', (t) => {
  const store = storeIn(t);
  t.equal(store.checkpoint().treeSize, 0);
  const other = boxChain(t, 3, { source: 'box-02', key: otherBoxKey });
  store.ingest({ source: 'box-01', entries: chain.entries.slice(0, 4), boxKey: boxKey.publicKey });
  store.ingest({ source: 'box-02', entries: other.entries, boxKey: otherBoxKey.publicKey });
  const checkpoint = store.checkpoint();
  const leaves = [...chain.entries.slice(0, 4), ...other.entries].map((e) =>
    Buffer.from(e.hash, 'hex'),
  );
  t.equal(checkpoint.treeSize, 7);
  t.equal(checkpoint.rootHash, merkleRoot(leaves).toString('hex'), 'leaves in ingestion order');
  t.equal(checkpoint.kid, 'register-1');
  t.ok(verifyCheckpoint(checkpoint, registerKey.publicKey));
  t.equal(store.counts().checkpoints, 2);
  const report = store.verifyAll(
    keys({ 'box-01': boxKey.publicKey, 'box-02': otherBoxKey.publicKey }),
  );
  t.same(report.problems, []);
  t.equal(report.checkpoints, 2);
  t.end();
});

void t.test(
  'any interleaving of duplicates and resends leaves one entry per seq and no gap',
  (t) => {
    const n = chain.entries.length;
    const dir = tempDir(t, 'vigie-register-prop-');
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 12 }), { maxLength: 8 }),
        (batches) => {
          const store = new SqliteRegisterStore({
            file: path.join(dir, `register-${run++}.db`),
            registerKey: registerKey.privateKey,
            kid: 'register-1',
            clocks: steppingClock(),
          });
          store.open();
          try {
            for (const batch of batches) {
              store.ingest({
                source: 'box-01',
                entries: batch.map((i) => at(chain.entries, i)),
                boxKey: boxKey.publicKey,
              });
            }
            const stored = store.entriesOf('box-01');
            // Exactly one entry per seq from 1, no gap, each the box's own.
            const genuine = stored.every(
              (e, i) => e.seq === i + 1 && e.hash === at(chain.entries, i).hash,
            );
            if (!genuine) return false;
            // The box resumes after what was acknowledged and resends all the rest.
            const resume = store.lastAcked('box-01')?.seq ?? 0;
            store.ingest({
              source: 'box-01',
              entries: chain.entries.slice(resume),
              boxKey: boxKey.publicKey,
            });
            const final = store.entriesOf('box-01');
            return (
              final.length === n &&
              final.every((e, i) => e.seq === i + 1 && e.hash === at(chain.entries, i).hash) &&
              store.verifyAll(keys()).ok
            );
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
    t.end();
  },
);
