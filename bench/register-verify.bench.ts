/**
 * verifyAll over a 1,000,000-entry register (entries/s, one core), side by
 * side with a bare SHA-256 chain loop over as many inputs of the same size in
 * the same run (ANCHORS: ~260k/s). Target: >= 150,000 entries/s.
 *
 * The register is written straight as rows (one transaction, as ingest would
 * leave them: entries with their leaves, Merkle nodes, a P-256 head every
 * 1,000 entries, a signed checkpoint every 10,000), 10 boxes interleaved in
 * batches of 100. verifyAll re-reads and re-checks all of it: every entry
 * hash and link, every head signature, every node, every checkpoint.
 * SQLite always; PostgreSQL too when scripts/postgres.sh has set it up
 * (VIGIE_BENCH_VERIFY_PG_ENTRIES, default 1,000,000; 0 skips it).
 * Each verification runs VIGIE_BENCH_VERIFY_RUNS times (default 3), each run
 * followed by the bare chains, and the medians are compared: this machine's
 * speed drifts by 20-30 % between runs of a few seconds.
 * Bounded; the temp directory and schema are removed at the end.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EntryHasher } from '../protocol/src/entry-hasher.js';
import {
  createRegisterStore,
  type RegisterBackendOptions,
} from '../central/src/register/register-factory.js';
import { MerkleFrontier } from '../central/src/register/merkle-nodes.js';
import { newCheckpoint } from '../central/src/register/register-ingest.js';
import { checkpointToRow } from '../central/src/register/register-rows.js';
import { canonicalJson } from '../protocol/src/canonical-json.js';
import { GENESIS_HASH } from '../protocol/src/journal-entry.js';
import { signHead } from '../protocol/src/journal-head.js';
import { testPgUrl } from '../test/central/register-store-fixtures.js';
import { bareChainRate } from './bare-chain.js';

const ENTRIES = Number(process.env.VIGIE_BENCH_VERIFY_ENTRIES ?? 1_000_000);
const PG_ENTRIES = Number(process.env.VIGIE_BENCH_VERIFY_PG_ENTRIES ?? 1_000_000);
const BOXES = 10;
const BATCH = 100;
const HEAD_EVERY = 1000;
const CHECKPOINT_EVERY = 10_000;
const FLUSH_EVERY = 10_000;
const RUNS = Math.max(1, Number(process.env.VIGIE_BENCH_VERIFY_RUNS ?? 3));

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-register-verify-'));
const box = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const registerKey = generateKeyPairSync('ed25519');
const common = {
  registerKey: registerKey.privateKey,
  kid: 'bench',
  clocks: { wallNowMs: () => Date.now() },
};
const spkiDer = box.publicKey.export({ type: 'spki', format: 'der' });
const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
const data = (i: number): string =>
  canonicalJson({
    sessionId: randomUUID(),
    cameras: ['cam-01', 'cam-02'],
    recipient: 'csu-metz',
    callRef: `CSU-2025-${i}`,
  });

/** What a writer does with the rows the generator makes. */
interface RowSink {
  entry(row: unknown[]): void;
  node(level: number, index: number, hash: Buffer): void;
  head(row: unknown[]): void;
  checkpoint(row: unknown[]): void;
}

/**
 * `count` entries of BOXES boxes, batches of BATCH interleaved, as ingest would
 * store them; pauses (yields) every FLUSH_EVERY entries so that a writer can
 * flush what it buffered.
 */
function* generate(count: number, sink: RowSink): Generator<void> {
  const hasher = new EntryHasher();
  const frontier = MerkleFrontier.empty();
  const bootId = randomUUID();
  const t0 = Date.UTC(2025, 2, 1);
  const prev: { seq: number; hash: Buffer }[] = Array.from({ length: BOXES }, () => ({
    seq: 0,
    hash: Buffer.from(GENESIS_HASH, 'hex'),
  }));
  for (let leaf = 0; leaf < count; leaf++) {
    const b = Math.floor(leaf / BATCH) % BOXES;
    const p = prev[b] as { seq: number; hash: Buffer };
    const source = `box-${b}`;
    const seq = p.seq + 1;
    const time = new Date(t0 + leaf * 1000).toISOString();
    const type = seq % 2 ? 'session.opened' : 'session.closed';
    const json = data(leaf);
    const h = hasher.hash(source, seq, time, bootId, type, json, p.hash);
    sink.entry([leaf, seq, source, time, bootId, type, json, p.hash, h]);
    frontier.append(h, (level, index, node) => sink.node(level, index, node));
    if (seq % HEAD_EVERY === 0) {
      const head = signHead({ source, seq, hash: h.toString('hex') }, box.privateKey);
      sink.head([seq, source, h, Buffer.from(head.sig, 'base64url')]);
    }
    if (frontier.size % CHECKPOINT_EVERY === 0 || leaf === count - 1) {
      sink.checkpoint(checkpointToRow(newCheckpoint(frontier.size, frontier.root(), common)));
    }
    prev[b] = { seq, hash: h };
    if ((leaf + 1) % FLUSH_EVERY === 0) yield;
  }
}

/** Creates the register and its BOXES sources, as the ingest service would. */
async function rememberBoxes(backend: RegisterBackendOptions): Promise<void> {
  const store = createRegisterStore(backend, common);
  await store.open();
  for (let b = 0; b < BOXES; b++) {
    const source = `box-${b}`;
    await store.rememberSource({
      source,
      kind: 'box',
      site: 's',
      spkiDer,
      certSha256: '0'.repeat(64),
    });
  }
  await store.close();
}

async function buildSqlite(file: string, count: number): Promise<void> {
  await rememberBoxes({ backend: 'sqlite', file });
  const db = new Database(file);
  const insert = db.prepare(
    'INSERT INTO entries (leaf, seq, source, time, boot_id, type, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const node = db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
  const head = db.prepare('INSERT INTO heads (seq, source, hash, sig) VALUES (?, ?, ?, ?)');
  const checkpoint = db.prepare(
    'INSERT INTO checkpoints (tree_size, root_hash, time, kid, sig) VALUES (?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    const rows = generate(count, {
      entry: (row) => insert.run(row),
      node: (level, index, h) => node.run(level, index, h),
      head: (row) => head.run(row),
      checkpoint: (row) => checkpoint.run(row),
    });
    while (!rows.next().done);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Rows sent by FLUSH_EVERY with unnest as they are made (synchronous_commit off, like a bulk load). */
async function buildPostgres(url: string, schema: string, count: number): Promise<void> {
  await rememberBoxes({ backend: 'postgres', url, schema });
  const client = new pg.Client({
    connectionString: url,
    options: `-c search_path=${schema} -c synchronous_commit=off`,
  });
  await client.connect();
  let entries = Array.from({ length: 9 }, (): unknown[] => []);
  let nodes = Array.from({ length: 3 }, (): unknown[] => []);
  const heads: unknown[][] = [];
  const checkpoints: unknown[][] = [];
  const rows = generate(count, {
    entry: (row) => row.forEach((v, i) => entries[i]?.push(v)),
    node: (level, index, h) => [level, index, h].forEach((v, i) => nodes[i]?.push(v)),
    head: (row) => heads.push(row),
    checkpoint: (row) => checkpoints.push(row),
  });
  const flush = async (): Promise<void> => {
    await client.query(
      `INSERT INTO entries (leaf, seq, source, time, boot_id, type, data, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])`,
      entries,
    );
    await client.query(
      'INSERT INTO merkle_nodes SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])',
      nodes,
    );
    entries = entries.map(() => []);
    nodes = nodes.map(() => []);
  };
  while (!rows.next().done) await flush();
  await flush();
  for (const row of heads)
    await client.query('INSERT INTO heads (seq, source, hash, sig) VALUES ($1, $2, $3, $4)', row);
  for (const row of checkpoints)
    await client.query(
      'INSERT INTO checkpoints (tree_size, root_hash, time, kid, sig) VALUES ($1, $2, $3, $4, $5)',
      row,
    );
  await client.query('VACUUM ANALYZE entries');
  await client.end();
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Bytes of one entry's hash input in this register (for the bare chains). */
const ENTRY_BYTES = 26 + 9 + 8 + 28 + 40 + 18 + Buffer.byteLength(data(1)) + 4 + 32;

/** One verifyAll, entries/s. */
async function verifyOnce(
  label: string,
  backend: RegisterBackendOptions,
  count: number,
): Promise<number> {
  const store = createRegisterStore(backend, common);
  await store.open();
  try {
    globalThis.gc?.();
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const report = await store.verifyAll();
    const sec = seconds(start);
    const cpuSec = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6;
    if (!report.ok || report.entries !== count)
      throw new Error(`verify failed: ${JSON.stringify(report.problems[0])}`);
    const rate = count / sec;
    const rssMb = process.memoryUsage().rss / 1e6;
    console.log(
      `    ${label} verifyAll: ${rate.toFixed(0)} entries/s (${sec.toFixed(2)} s, process CPU ${cpuSec.toFixed(2)} s, ${report.headsChecked} head signatures, ${report.checkpoints} checkpoints, RSS ${rssMb.toFixed(0)} MB after)`,
    );
    return rate;
  } finally {
    await store.close();
  }
}

/** RUNS verifications, each followed by the two bare chains; prints the medians and ratios. */
async function verify(
  label: string,
  backend: RegisterBackendOptions,
  count: number,
): Promise<void> {
  const rates: number[] = [];
  const oneShot: number[] = [];
  const withObject: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    rates.push(await verifyOnce(label, backend, count));
    oneShot.push(bareChainRate(count, ENTRY_BYTES, true));
    withObject.push(bareChainRate(count, ENTRY_BYTES, false));
    console.log(
      `    bare SHA-256 chain, ${ENTRY_BYTES}-byte inputs: ${oneShot.at(-1)?.toFixed(0)}/s (crypto.hash), ${withObject.at(-1)?.toFixed(0)}/s (createHash, ANCHORS)`,
    );
  }
  const rate = median(rates);
  console.log(
    `  ${label} verifyAll, median of ${RUNS}: ${rate.toFixed(0)} entries/s (target >= 150000: ${rate >= 150_000 ? 'met' : 'NOT met'}); ratio to the bare chain: ${(rate / median(oneShot)).toFixed(2)} (crypto.hash), ${(rate / median(withObject)).toFixed(2)} (createHash)`,
  );
}

async function main(): Promise<void> {
  const file = path.join(dir, 'register.db');
  let start = process.hrtime.bigint();
  await buildSqlite(file, ENTRIES);
  console.log(
    `built a ${ENTRIES}-entry SQLite register (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${seconds(start).toFixed(1)} s`,
  );
  await verify('SQLite', { backend: 'sqlite', file }, ENTRIES);
  const url = testPgUrl();
  if (!url || PG_ENTRIES === 0) {
    console.log(
      'PostgreSQL: not measured (no URL: run scripts/postgres.sh as root, or VIGIE_BENCH_VERIFY_PG_ENTRIES=0)',
    );
    return;
  }
  const schema = `vigie_bench_verify_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    start = process.hrtime.bigint();
    await buildPostgres(url, schema, PG_ENTRIES);
    console.log(
      `built a ${PG_ENTRIES}-entry PostgreSQL register in ${seconds(start).toFixed(1)} s`,
    );
    await verify('PostgreSQL', { backend: 'postgres', url, schema }, PG_ENTRIES);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
