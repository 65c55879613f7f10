/**
 * The register's durable ingest rate (entries/s) through RegisterStore.ingest
 * (judge every entry: schema, hash, link; store it with its leaf and Merkle
 * nodes; verify and store the batch's P-256 head; one transaction per batch),
 * side by side with a bare insert loop of the same rows into the same table
 * (same indexes), with the same durability and batch size, for SQLite (WAL, synchronous=FULL) and
 * PostgreSQL (synchronous_commit=on, on 127.0.0.1 via scripts/postgres.sh).
 * Target (ANCHORS: SQLite ~20,000/s at 100 entries per commit): ingest >= 50%
 * of bare. Also shown: with a signed checkpoint after every batch, as the
 * ingest service does. Bounded in count; temp files and schema removed.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  createRegisterStore,
  type RegisterBackendOptions,
} from '../central/src/register/register-factory.js';
import type { RegisterStore } from '../central/src/register/register-port.js';
import { canonicalJson } from '../protocol/src/canonical-json.js';
import { appendEntry, type JournalEntry } from '../protocol/src/journal-entry.js';
import { signHead, type SignedHead } from '../protocol/src/journal-head.js';
import { entryToRow } from '../protocol/src/journal-rows.js';
import { testPgUrl } from '../test/central/register-store-fixtures.js';

const BATCH = 100;
const ENTRIES = Number(process.env.VIGIE_BENCH_INGEST_ENTRIES ?? 20_000);
const ROUNDS = 4; // alternate ours and bare so disk drift hits both alike

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-register-ingest-'));
const box = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const registerKey = generateKeyPairSync('ed25519');
const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;

interface Batch {
  readonly entries: JournalEntry[];
  readonly head: SignedHead;
}

/** One box's chain cut in batches, each closed by its signed head. */
function makeBatches(source: string, count: number): Batch[] {
  const bootId = randomUUID();
  const t0 = Date.UTC(2025, 2, 1);
  const batches: Batch[] = [];
  let prev: JournalEntry | null = null;
  for (let from = 0; from < count; from += BATCH) {
    const entries: JournalEntry[] = [];
    for (let i = from; i < Math.min(from + BATCH, count); i++) {
      prev = appendEntry(prev, {
        source,
        time: new Date(t0 + i * 1000).toISOString(),
        bootId,
        type: i % 2 ? 'session.closed' : 'session.opened',
        data: {
          sessionId: randomUUID(),
          cameras: ['cam-01', 'cam-02'],
          recipient: 'csu-metz',
          callRef: `CSU-${i}`,
        },
      });
      entries.push(prev);
    }
    const last = entries[entries.length - 1] as JournalEntry;
    batches.push({
      entries,
      head: signHead({ source, seq: last.seq, hash: last.hash }, box.privateKey),
    });
  }
  return batches;
}

interface Contender {
  readonly name: string;
  /** Seconds to ingest `batches` (a chain of its own source) durably. */
  run(batches: readonly Batch[]): Promise<number>;
}

async function storeContender(
  backend: RegisterBackendOptions,
  checkpoint: boolean,
): Promise<Contender & { store: RegisterStore }> {
  const store = createRegisterStore(backend, {
    registerKey: registerKey.privateKey,
    kid: 'bench',
    clocks: { wallNowMs: () => Date.now() },
  });
  await store.open();
  return {
    name: backend.backend,
    store,
    async run(batches) {
      const source = batches[0]?.entries[0]?.source ?? 'box';
      await store.rememberSource({
        source,
        kind: 'box',
        site: 'site-1',
        spkiDer: box.publicKey.export({ type: 'spki', format: 'der' }),
        certSha256: '0'.repeat(64),
      });
      const start = process.hrtime.bigint();
      for (const b of batches) {
        const result = await store.ingest({ source, ...b, boxKey: box.publicKey });
        if (result.accepted !== b.entries.length)
          throw new Error(JSON.stringify(result.problems[0]));
        if (checkpoint) await store.checkpoint();
      }
      return seconds(start);
    },
  };
}

function bareSqlite(): Contender & { close(): void } {
  const db = new Database(path.join(dir, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // The register's entries table, with its indexes (register-database.ts).
  db.exec(`CREATE TABLE entries (leaf INTEGER PRIMARY KEY, seq INTEGER, source TEXT, time TEXT,
    boot_id TEXT, type TEXT, data TEXT, prev_hash BLOB, hash BLOB, UNIQUE (source, seq)) STRICT;
    CREATE INDEX entries_by_time ON entries (time, source, seq);
    CREATE INDEX entries_by_type ON entries (type, time);`);
  const insert = db.prepare(
    'INSERT INTO entries (seq, source, time, boot_id, type, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return {
    name: 'bare SQLite',
    run(batches) {
      const start = process.hrtime.bigint();
      for (const b of batches) {
        db.transaction(() => {
          for (const e of b.entries) insert.run(...entryToRow(e, canonicalJson(e.data)));
        }).immediate();
      }
      return Promise.resolve(seconds(start));
    },
    close: () => db.close(),
  };
}

async function barePostgres(
  url: string,
  schema: string,
): Promise<Contender & { close(): Promise<void> }> {
  const client = new pg.Client({
    connectionString: url,
    options: `-c search_path=${schema} -c synchronous_commit=on`,
  });
  await client.connect();
  // The register's entries table, with its indexes (postgres-schema.ts).
  await client.query(`CREATE TABLE bare (leaf bigserial PRIMARY KEY, seq bigint, source text COLLATE "C",
    time text COLLATE "C", boot_id text, type text COLLATE "C", data text, prev_hash bytea, hash bytea,
    UNIQUE (source, seq));
    CREATE INDEX bare_by_time ON bare (time, source, seq);
    CREATE INDEX bare_by_type ON bare (type, time);`);
  return {
    name: 'bare PostgreSQL',
    async run(batches) {
      const start = process.hrtime.bigint();
      for (const b of batches) {
        const columns: unknown[][] = Array.from({ length: 8 }, () => []);
        for (const e of b.entries) {
          entryToRow(e, canonicalJson(e.data)).forEach((v, i) => columns[i]?.push(v));
        }
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO bare (seq, source, time, boot_id, type, data, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[])`,
          columns,
        );
        await client.query('COMMIT');
      }
      return seconds(start);
    },
    close: () => client.end(),
  };
}

let sources = 0;
/** A new box's chain: every contender ingests its own source's entries. */
const freshChain = (): Batch[] => makeBatches(`box-${sources++}`, ENTRIES);

/** Alternates ours and bare ROUNDS times over ENTRIES each; prints rates and the ratio. */
async function sideBySide(
  label: string,
  ours: Contender,
  bare: Contender,
  withCheckpoint: Contender,
): Promise<void> {
  let [ourSec, bareSec, cpSec] = [0, 0, 0];
  for (let round = 0; round < ROUNDS; round++) {
    ourSec += await ours.run(freshChain());
    bareSec += await bare.run(freshChain());
    cpSec += await withCheckpoint.run(freshChain());
  }
  const n = ENTRIES * ROUNDS;
  const [o, b, c] = [n / ourSec, n / bareSec, n / cpSec];
  console.log(
    `${label}: ingest ${o.toFixed(0)} entries/s, bare insert (same table and indexes) ${b.toFixed(0)} entries/s (${BATCH} per transaction, ${n} entries each)`,
  );
  console.log(
    `    ratio ingest/bare: ${(o / b).toFixed(2)} (target >= 0.50); with a checkpoint signed after every batch: ${c.toFixed(0)} entries/s (${(c / b).toFixed(2)} of bare)`,
  );
}

async function main(): Promise<void> {
  const sqliteOurs = await storeContender(
    { backend: 'sqlite', file: path.join(dir, 'register.db') },
    false,
  );
  const sqliteCp = await storeContender(
    { backend: 'sqlite', file: path.join(dir, 'register-cp.db') },
    true,
  );
  const sqliteBare = bareSqlite();
  try {
    await sideBySide('SQLite WAL synchronous=FULL', sqliteOurs, sqliteBare, sqliteCp);
  } finally {
    await sqliteOurs.store.close();
    await sqliteCp.store.close();
    sqliteBare.close();
  }
  const url = testPgUrl();
  if (!url) {
    console.log('PostgreSQL: no URL (run scripts/postgres.sh as root): not measured');
    return;
  }
  const schema = `vigie_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const ours = await storeContender({ backend: 'postgres', url, schema }, false);
    const cp = await storeContender({ backend: 'postgres', url, schema: `${schema}_cp` }, true);
    const bare = await barePostgres(url, schema);
    try {
      await sideBySide('PostgreSQL synchronous_commit=on', ours, bare, cp);
    } finally {
      await ours.store.close();
      await cp.store.close();
      await bare.close();
    }
  } finally {
    await admin.query(
      `DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_cp CASCADE`,
    );
    await admin.end();
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
