import Database from 'better-sqlite3';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { SqliteJournal } from '../../agent/src/journal/index.js';
import { EntryHasher } from '../../protocol/src/entry-hasher.js';
import { canonicalJson } from '../../protocol/src/canonical-json.js';
import { verifyChain } from '../../protocol/src/journal-chain.js';
import { GENESIS_HASH, hashEntry, JournalEntrySchema } from '../../protocol/src/journal-entry.js';
import { verifyHead } from '../../protocol/src/journal-head.js';
import {
  journalOptions,
  newBootId,
  openJournal,
  p256Key,
  tempDir,
  writeJournal,
} from './journal-fixtures.js';

const key = p256Key();

void t.test('append builds a valid chain with a box-signed head at every append', (t) => {
  const journal = openJournal(t, key);
  t.equal(journal.writable, true);
  t.equal(journal.lastEntry(), null);
  t.equal(journal.lastHead(), null);
  const first = journal.append('agent.started', { version: '0.1.0' });
  t.match(first, { seq: 1, prevHash: GENESIS_HASH, source: 'box-01', type: 'agent.started' });
  t.equal(first.time, '2025-03-01T10:00:01.000Z', 'time from the injected wall clock');
  t.ok(JournalEntrySchema.safeParse(first).success);
  const second = journal.append('session.opened', { sessionId: 's-1' });
  t.match(second, { seq: 2, prevHash: first.hash });
  const head = journal.lastHead();
  t.match(head, { source: 'box-01', seq: 2, hash: second.hash });
  t.ok(head && verifyHead(head, key.publicKey), 'head signed with the box P-256 key');
  const entries = [...journal.entries()];
  t.same(entries, [first, second], 'entries read back exactly as appended');
  t.match(verifyChain(entries, head ? [head] : [], key.publicKey), {
    ok: true,
    vouchedThroughSeq: 2,
  });
  t.end();
});

void t.test('reopening continues the chain (seq and prevHash) across restarts', (t) => {
  const dir = tempDir(t);
  const firstBoot = openJournal(t, key, { dir });
  const a = firstBoot.append('agent.started', {});
  const b = firstBoot.append('session.opened', { sessionId: 's-1' });
  firstBoot.close();
  const secondBoot = openJournal(t, key, { dir, bootId: newBootId() });
  t.same(secondBoot.lastEntry(), b, 'last entry read at open');
  const c = secondBoot.append('agent.started', {});
  t.equal(c.seq, 3);
  t.equal(c.prevHash, b.hash, 'links to the entry written before the restart');
  t.not(c.bootId, a.bootId, 'each boot has its own bootId');
  const head = secondBoot.lastHead();
  t.match(verifyChain([...secondBoot.entries()], head ? [head] : [], key.publicKey), {
    ok: true,
    lastSeq: 3,
  });
  t.end();
});

void t.test('entries and entriesOfTypes page through the journal in seq order', (t) => {
  const journal = openJournal(t, key);
  for (let i = 0; i < 1200; i++) journal.append(i % 3 === 0 ? 'session.opened' : 'tick', { i });
  t.same(
    [...journal.entries(1000, 5)].map((e) => e.seq),
    [1000, 1001, 1002, 1003, 1004],
  );
  t.equal([...journal.entries()].length, 1200, 'more than one page');
  const opened = [...journal.entriesOfTypes(['session.opened', 'session.closed'], 600)];
  t.equal(opened.length, 200);
  t.ok(opened.every((e) => e.type === 'session.opened' && e.seq >= 600));
  t.same([...journal.entriesOfTypes([])], []);
  // Pages, not an open cursor: appending while iterating is allowed.
  const seen: number[] = [];
  for (const entry of journal.entries(1)) {
    seen.push(entry.seq);
    if (entry.seq === 10) journal.append('tick', { late: true });
  }
  t.equal(seen.length, 1201, 'an append during iteration is seen on a later page');
  t.end();
});

void t.test('the database refuses UPDATE and DELETE of entries and heads (triggers)', (t) => {
  const file = writeJournal(t, key, 3, { milestoneEvery: 2 });
  const db = new Database(file);
  t.teardown(() => db.close());
  t.throws(() => db.prepare("UPDATE entries SET data = '{}' WHERE seq = 2").run(), /append-only/);
  t.throws(() => db.prepare('DELETE FROM entries WHERE seq = 3').run(), /append-only/);
  t.throws(() => db.prepare('UPDATE current_head SET seq = 1').run(), /append-only/);
  t.throws(() => db.prepare('DELETE FROM current_head').run(), /append-only/);
  t.throws(() => db.prepare('DELETE FROM heads').run(), /append-only/);
  t.equal(db.prepare('SELECT count(*) FROM entries').pluck().get(), 3, 'nothing changed');
  t.end();
});

void t.test('a journal of another box, or another file, is refused at open', (t) => {
  const dir = tempDir(t);
  const file = writeJournal(t, key, 2, { dir });
  const other = new SqliteJournal(journalOptions(file, key, { source: 'box-02' }));
  t.throws(() => other.open(), { code: 'journal-invalid', message: /box-01, not of box-02/ });
  const foreign = path.join(dir, 'foreign.db');
  const db = new Database(foreign);
  db.exec('CREATE TABLE x (y)');
  db.close();
  t.throws(() => new SqliteJournal(journalOptions(foreign, key)).open(), {
    code: 'journal-invalid',
    message: /not a Vigie journal/,
  });
  const text = path.join(dir, 'text.db');
  writeFileSync(text, 'not a database at all, not even close to one, really');
  t.throws(() => new SqliteJournal(journalOptions(text, key)).open(), /journal|database/);
  t.end();
});

void t.test('a bad entry type or data is refused without marking the journal unwritable', (t) => {
  const journal = openJournal(t, key);
  t.throws(() => journal.append('Session Opened', {}), { code: 'payload-invalid' });
  t.throws(() => journal.append('x', { n: Number.NaN }), { code: 'payload-invalid' });
  t.throws(() => journal.append('x', { big: 'a'.repeat(17 * 1024) }), { code: 'payload-invalid' });
  t.equal(journal.writable, true);
  t.equal(journal.append('x', {}).seq, 1, 'no seq consumed by refused entries');
  t.end();
});

void t.test('a bad source or bootId is refused at open', (t) => {
  const file = path.join(tempDir(t), 'journal.db');
  t.throws(() => new SqliteJournal(journalOptions(file, key, { source: 'Box 01' })).open(), {
    code: 'config-invalid',
  });
  t.throws(() => new SqliteJournal(journalOptions(file, key, { bootId: 'boot-1' })).open(), {
    code: 'config-invalid',
  });
  t.end();
});

void t.test('an unsupported signing key is refused at open', async (t) => {
  const rsa = (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 });
  const journal = new SqliteJournal(journalOptions(path.join(tempDir(t), 'journal.db'), rsa));
  t.throws(() => journal.open(), { code: 'journal-key-unsupported' });
  t.end();
});

void t.test('the row hasher equals the protocol hashEntry for any entry (property)', (t) => {
  const hasher = new EntryHasher();
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  fc.assert(
    fc.property(
      fc.record({
        source: text,
        seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        time: text,
        bootId: text,
        type: text,
        // Through JSON: plain objects, as entries hold (fast-check makes null-prototype ones).
        data: fc
          .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }))
          .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>),
        prevHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      }),
      (e) => {
        const prevHash = Buffer.from(e.prevHash).toString('hex');
        const expected = hashEntry({ ...e, prevHash });
        const actual = hasher.hash(
          e.source,
          e.seq,
          e.time,
          e.bootId,
          e.type,
          canonicalJson(e.data),
          e.prevHash,
        );
        const json = canonicalJson(e.data);
        const hex = hasher.hashHex(e.source, e.seq, e.time, e.bootId, e.type, json, prevHash);
        return actual.toString('hex') === expected && hex === expected;
      },
    ),
    { numRuns: 500 },
  );
  t.pass('byte-for-byte the protocol hash, as bytes and as hex');
  t.end();
});

void t.test('the row hasher refuses a previous hash that is not 64 hex digits', (t) => {
  const hasher = new EntryHasher();
  const hashHex = (prev: string): string => hasher.hashHex('box-1', 1, 't', 'b', 'x', '{}', prev);
  t.equal(hashHex('a'.repeat(64)).length, 64);
  for (const bad of [
    '',
    'a'.repeat(62),
    'a'.repeat(66),
    `${'a'.repeat(62)}zz`,
    `zz${'a'.repeat(62)}`,
  ]) {
    t.throws(() => hashHex(bad), RangeError, JSON.stringify(bad));
  }
  t.end();
});
