/**
 * The journal's two figures, each side by side with its baseline in the same
 * run (ANCHORS.md):
 * (a) durable appends per second of SqliteJournal.append (entry, P-256 signed
 *     head, one transaction) against a bare better-sqlite3 INSERT loop with the
 *     same durability: WAL, synchronous=FULL, one row per transaction
 *     (~5,800/s). Target: ratio >= 0.5.
 * (b) `vigie journal verify` speed over a 1,000,000-entry journal, one core,
 *     against a bare SHA-256 chain loop over as many inputs of the same size
 *     (~260k/s). Target: >= 150k entries/s.
 * Bounded in count and time; the temp directory is removed at the end.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync, hash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteJournal } from '../agent/src/journal/sqlite-journal.js';
import { EntryHasher } from '../protocol/src/entry-hasher.js';
import { openWritableDatabase } from '../agent/src/journal/journal-database.js';
import { verifyJournalFile } from '../agent/src/journal/verify-journal.js';
import { canonicalJson } from '../protocol/src/canonical-json.js';
import { GENESIS_HASH } from '../protocol/src/journal-entry.js';
import { signHead } from '../protocol/src/journal-head.js';
import { bareChainRate } from './bare-chain.js';

const APPENDS_PER_ROUND = 300;
const ROUNDS = 6; // alternate ours and bare so disk drift hits both alike
const APPEND_BUDGET_MS = 30_000;
const VERIFY_ENTRIES = Number(process.env.VIGIE_BENCH_VERIFY_ENTRIES ?? 1_000_000);
const MILESTONE_EVERY = 1000;

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-journal-bench-'));
const box = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const data = (i: number): Record<string, unknown> => ({
  sessionId: randomUUID(),
  cameras: ['cam-01', 'cam-02'],
  recipient: 'csu-metz',
  purpose: 'occupation-parties-communes',
  callRef: `CSU-2025-${i}`,
});
const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;

function benchAppends(): void {
  const journal = new SqliteJournal({
    file: path.join(dir, 'append.db'),
    source: 'box-01',
    bootId: randomUUID(),
    signingKey: box.privateKey,
    clocks: { wallNowMs: () => Date.now() },
  });
  journal.open();
  const bare = new Database(path.join(dir, 'bare.db'));
  bare.pragma('journal_mode = WAL');
  bare.pragma('synchronous = FULL');
  bare.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, data TEXT NOT NULL, hash BLOB NOT NULL)');
  const insert = bare.prepare('INSERT INTO t (data, hash) VALUES (?, ?)');
  let [ourN, ourSec, bareN, bareSec] = [0, 0, 0, 0];
  const deadline = Date.now() + APPEND_BUDGET_MS;
  for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < APPENDS_PER_ROUND; i++) journal.append('session.opened', data(i));
    ourSec += seconds(start);
    ourN += APPENDS_PER_ROUND;
    start = process.hrtime.bigint();
    for (let i = 0; i < APPENDS_PER_ROUND; i++) {
      insert.run(canonicalJson(data(i)), hash('sha256', String(i), 'buffer'));
    }
    bareSec += seconds(start);
    bareN += APPENDS_PER_ROUND;
  }
  journal.close();
  bare.close();
  const ours = ourN / ourSec;
  const base = bareN / bareSec;
  console.log(
    `(a) durable appends (entry + P-256 signed head, 1 tx): ${ours.toFixed(0)}/s over ${ourN}`,
  );
  console.log(
    `    bare INSERT, WAL + synchronous=FULL, 1 row per tx: ${base.toFixed(0)}/s over ${bareN}`,
  );
  console.log(`    ratio ours/bare: ${(ours / base).toFixed(2)} (target >= 0.50)`);
}

/** Writes `count` chained entries straight as rows in one transaction, heads every MILESTONE_EVERY. */
function buildLargeJournal(file: string, count: number): void {
  const db = openWritableDatabase(file);
  const hasher = new EntryHasher();
  const insert = db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const milestone = db.prepare('INSERT INTO heads VALUES (?, ?, ?, ?)');
  const current = db.prepare('INSERT OR REPLACE INTO current_head VALUES (1, ?, ?, ?, ?)');
  const bootId = randomUUID();
  const t0 = Date.UTC(2025, 2, 1);
  db.transaction(() => {
    let prev: Buffer = Buffer.from(GENESIS_HASH, 'hex');
    for (let seq = 1; seq <= count; seq++) {
      const time = new Date(t0 + seq * 1000).toISOString();
      const type = seq % 2 ? 'session.opened' : 'session.closed';
      const json = canonicalJson(data(seq));
      const entryHash = hasher.hash('box-01', seq, time, bootId, type, json, prev);
      insert.run(seq, 'box-01', time, bootId, type, json, prev, entryHash);
      if (seq % MILESTONE_EVERY === 0 || seq === count) {
        const head = signHead(
          { source: 'box-01', seq, hash: entryHash.toString('hex') },
          box.privateKey,
        );
        const row = [seq, 'box-01', entryHash, Buffer.from(head.sig, 'base64url')] as const;
        if (seq % MILESTONE_EVERY === 0) milestone.run(...row);
        if (seq === count) current.run(...row);
      }
      prev = entryHash;
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function benchVerify(): void {
  const file = path.join(dir, 'large.db');
  let start = process.hrtime.bigint();
  buildLargeJournal(file, VERIFY_ENTRIES);
  const mb = statSync(file).size / 1e6;
  console.log(
    `(b) built a ${VERIFY_ENTRIES}-entry journal (${mb.toFixed(0)} MB) in ${seconds(start).toFixed(1)} s`,
  );
  globalThis.gc?.();
  start = process.hrtime.bigint();
  const report = verifyJournalFile(file, box.publicKey);
  const sec = seconds(start);
  if (!report.ok || report.lastSeq !== VERIFY_ENTRIES)
    throw new Error(`verify failed: ${JSON.stringify(report.break)}`);
  const rate = VERIFY_ENTRIES / sec;
  const rssMb = process.memoryUsage().rss / 1e6;
  console.log(
    `    verify: ${rate.toFixed(0)} entries/s (${sec.toFixed(2)} s, ${report.headsChecked} head signatures, RSS ${rssMb.toFixed(0)} MB after) (target >= 150000)`,
  );
  // A typical entry's hash input: tag, source, seq, time, bootId, type, data, prevHash.
  const entryBytes =
    26 + 10 + 8 + 28 + 40 + 18 + Buffer.byteLength(canonicalJson(data(1))) + 4 + 32;
  const oneShot = bareChainRate(VERIFY_ENTRIES, entryBytes, true);
  const withObject = bareChainRate(VERIFY_ENTRIES, entryBytes, false);
  console.log(
    `    bare SHA-256 chain, ${entryBytes}-byte inputs, crypto.hash: ${oneShot.toFixed(0)}/s`,
  );
  console.log(`    bare SHA-256 chain, same, createHash (ANCHORS): ${withObject.toFixed(0)}/s`);
  console.log(
    `    ratio verify/bare chain: ${(rate / oneShot).toFixed(2)} (crypto.hash), ${(rate / withObject).toFixed(2)} (createHash)`,
  );
}

try {
  benchAppends();
  benchVerify();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
