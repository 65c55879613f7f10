/**
 * The central register in PostgreSQL (larger deployments): the same
 * `RegisterStore` as the SQLite file, the same judgement (register-judge.ts),
 * the same Merkle nodes (merkle-nodes.ts) and problem codes, the same suite
 * (test/central/register-contract.ts).
 *
 * - One transaction per batch, committed with synchronous_commit = on: the
 *   acknowledgement returned is on disk.
 * - Two round trips per batch, the connections being pipelined (pg's
 *   `pipeline` mode: a query is sent without waiting for the one before):
 *   BEGIN + lock and the read go together, the read running after the lock
 *   as a statement of its own (its own snapshot, so it sees every batch
 *   committed before the lock was granted); the TypeScript judge decides;
 *   the write and COMMIT go together, the result returned once COMMIT has
 *   answered COMMIT (after a failed write PostgreSQL answers ROLLBACK).
 * - The tree is global (leaf numbers, Merkle nodes), so every append and every
 *   checkpoint first takes one transaction-scoped advisory lock per schema:
 *   batches of different sources may be in flight at once from the ingest
 *   service; they are judged and appended one after the other.
 * - Loopback only: the URL must name 127.0.0.1, ::1 or localhost.
 */
import { createPublicKey } from 'node:crypto';
import pg from 'pg';
import { VigieError } from '../../../lib/src/errors.js';
import type { Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import { headKeyKind } from '../../../protocol/src/journal-head.js';
import { consistencyPlan, type SubtreeId } from '../../../protocol/src/merkle-consistency.js';
import { MerkleFrontier, nodeFetch, nodeHashes, nodeKey } from './merkle-nodes.js';
import { preparePgSchema } from './postgres-schema.js';
import { PostgresRegisterReaders } from './postgres-register-readers.js';
import { pgSnapshot } from './postgres-verify-snapshot.js';
import {
  checkRegisterKey,
  inclusionOf,
  ingestResult,
  newCheckpoint,
  refusedBatch,
  registerDamaged,
  spkiOf,
  unwritable,
  type RegisterCommonOptions,
} from './register-ingest.js';
import { claimedSeqs, judgeBatch } from './register-judge.js';
import type {
  AccessInput,
  AccessRecord,
  Annotation,
  AnnotationInput,
  EntryQuery,
  IngestBatch,
  IngestResult,
  PurgeRecord,
  RegisterCounts,
  RegisterStore,
  SourceIdentity,
  SourceRecord,
  VerifyOptions,
} from './register-port.js';
import {
  CHECKPOINT_COLUMNS,
  checkpointToRow,
  ENTRY_COLUMNS,
  entryToRow,
  EVIDENCE_COLUMNS,
  evidenceRow,
  HEAD_COLUMNS,
  headToRow,
  rowToCheckpoint,
  type Acked,
  type CheckpointRow,
  type EvidenceRecord,
} from './register-rows.js';
import { verifyRegister, type RegisterVerifyReport } from './register-verify.js';

export interface PostgresRegisterStoreOptions extends RegisterCommonOptions {
  /** postgres://user:password@127.0.0.1:5432/db (loopback only). */
  readonly url: string;
  /** The PostgreSQL schema holding the register (created if missing); default `vigie_register`. */
  readonly schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
/** One lock per schema: the tree's appends and checkpoints, one at a time. */
const TREE_LOCK = `SELECT pg_advisory_xact_lock(hashtext('vigie.register.tree.' || current_schema()))`;

/** int8 as a JS number (leaf, seq, ms are far below 2^53); refuses what would lose digits. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${text} is not a safe integer`);
  return n;
}

/** pg's OID of int8 (bigint), pg_type.oid = 20. */
const INT8_OID = 20;

const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? parseInt8
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as typeof pg.types.getTypeParser,
};

/** The pool's settings for `url` and `schema`; `config-invalid` for anything but loopback. */
export function pgPoolConfig(url: string, schema: string): pg.PoolConfig {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new VigieError('config-invalid', 'register.postgres.url: not a URL');
  }
  if (!/^postgres(ql)?:$/.test(new URL(url).protocol) || !LOOPBACK.has(host)) {
    throw new VigieError(
      'config-invalid',
      `register.postgres.url: must be postgres://...@127.0.0.1 (loopback only), not host ${host}`,
    );
  }
  if (!SCHEMA_NAME.test(schema)) {
    throw new VigieError(
      'config-invalid',
      `register.postgres.schema: "${schema}" is not a plain name`,
    );
  }
  return {
    connectionString: url,
    options: `-c search_path=${schema} -c synchronous_commit=on`,
    types: TYPES,
    max: 4,
    // Queries sent without waiting for the previous answer (see ingest); every
    // caller still awaits its answers in order, and nothing here reads through
    // a portal (pg refuses cursors and `rows` on a pipelined connection).
    pipeline: true,
  };
}

export class PostgresRegisterStore implements RegisterStore {
  readonly backend = 'postgres' as const;
  readonly #options: PostgresRegisterStoreOptions;
  readonly #schema: string;
  #pool: pg.Pool | null = null;
  #readers: PostgresRegisterReaders | null = null;
  #frontier: MerkleFrontier | null = null;

  constructor(options: PostgresRegisterStoreOptions) {
    this.#options = options;
    this.#schema = options.schema ?? 'vigie_register';
  }

  get schema(): string {
    return this.#schema;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    checkRegisterKey(this.#options.registerKey);
    const pool = new pg.Pool(pgPoolConfig(this.#options.url, this.#schema));
    pool.on('error', (err) => this.#options.logger?.error('register database connection', { err }));
    try {
      const client = await pool.connect();
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
        await preparePgSchema(client, `schema ${this.#schema}`);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.#pool = pool;
    this.#readers = new PostgresRegisterReaders(pool, this.#options.clocks, (what, work) =>
      this.#transaction(what, work),
    );
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    this.#readers = null;
    this.#frontier = null;
    await pool?.end();
  }

  rememberSource(identity: SourceIdentity): Promise<void> {
    return this.#transaction('remember a source', async (client) => {
      const now = this.#options.clocks.wallNowMs();
      await client.query(
        `INSERT INTO sources (source, kind, site, first_seen_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [identity.source, identity.kind, identity.site, now],
      );
      await client.query(
        `INSERT INTO source_keys (source, spki_der, cert_sha256, first_seen_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [identity.source, identity.spkiDer, identity.certSha256, now],
      );
    });
  }

  /**
   * Two round trips: [BEGIN + lock, read] then, judged, [write, COMMIT]. The
   * result is returned only once COMMIT has answered COMMIT.
   */
  async ingest(batch: IngestBatch): Promise<IngestResult> {
    const what = `ingest a batch from ${batch.source}`;
    const client = await this.#requirePool().connect();
    try {
      headKeyKind(batch.boxKey); // journal-key-unsupported: a caller's mistake, not evidence
      const [, state] = await settledInOrder(
        client.query(`BEGIN; ${TREE_LOCK}`),
        readBatchState(client, batch),
      );
      const { write, result } = await this.#judgeAndPlan(client, batch, state);
      const [written, committed] = await settledInOrder(
        client.query(write),
        client.query('COMMIT'),
      );
      if (committed.command !== 'COMMIT') {
        throw new Error(`COMMIT answered ${committed.command}: the batch was not stored`);
      }
      return result((written.rowCount ?? 0) > 0);
    } catch (err) {
      await this.#rollback(client);
      throw unwritable(what, `PostgreSQL schema ${this.#schema}`, err);
    } finally {
      client.release();
    }
  }

  async lastAcked(source: string): Promise<Acked | null> {
    return lastAckedOf(this.#requirePool(), source);
  }

  checkpoint(): Promise<Checkpoint> {
    return this.#transaction(
      'sign a checkpoint',
      async (client) => {
        const size = await treeSize(client);
        const stored = await client.query<CheckpointRow>({
          text: `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE tree_size = $1`,
          values: [size],
          rowMode: 'array',
        });
        if (stored.rows[0]) return rowToCheckpoint(stored.rows[0]);
        const root = (await this.#frontierAt(client, size)).root();
        const checkpoint = newCheckpoint(size, root, this.#options);
        await client.query(
          `INSERT INTO checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)`,
          checkpointToRow(checkpoint),
        );
        return checkpoint;
      },
      { lockTree: true },
    );
  }

  async consistencyProof(oldSize: number, newSize: number): Promise<Buffer[]> {
    const pool = this.#requirePool();
    const size = await treeSize(pool);
    if (newSize > size) throw new RangeError(`tree size ${newSize} is past the register's ${size}`);
    const plan = consistencyPlan(oldSize, newSize);
    return plan.assemble(await this.#subtreeHashes(pool, plan.subtrees));
  }

  async inclusionProof(
    source: string,
    seq: number,
    ofSize: number,
  ): Promise<{ leafIndex: number; proof: Buffer[] }> {
    const pool = this.#requirePool();
    const found = await pool.query<{ leaf: number }>(
      'SELECT leaf FROM entries WHERE source = $1 AND seq = $2',
      [source, seq],
    );
    const where = { source, seq, treeSize: ofSize };
    const { leafIndex, plan } = inclusionOf(
      where,
      found.rows[0]?.leaf ?? null,
      await treeSize(pool),
    );
    return { leafIndex, proof: plan.assemble(await this.#subtreeHashes(pool, plan.subtrees)) };
  }

  async verifyAll(options: VerifyOptions = {}): Promise<RegisterVerifyReport> {
    const client = await this.#requirePool().connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const report = await verifyRegister(
        pgSnapshot(client),
        createPublicKey(this.#options.registerKey),
        options.onProgress,
      );
      await client.query('COMMIT');
      return report;
    } finally {
      client.release();
    }
  }

  entries(query: EntryQuery): AsyncIterable<JournalEntry> {
    return this.#requireReaders().entries(query);
  }

  async sources(): Promise<SourceRecord[]> {
    return this.#requireReaders().sources();
  }

  async evidence(source?: string): Promise<EvidenceRecord[]> {
    return this.#requireReaders().evidence(source);
  }

  async counts(): Promise<RegisterCounts> {
    return this.#requireReaders().counts();
  }

  async annotate(input: AnnotationInput): Promise<Annotation> {
    return this.#requireReaders().annotate(input);
  }

  async annotations(sessionIds?: readonly string[]): Promise<Annotation[]> {
    return this.#requireReaders().annotations(sessionIds);
  }

  async recordAccess(input: AccessInput): Promise<AccessRecord> {
    return this.#requireReaders().recordAccess(input);
  }

  async accessLog(range: { fromMs?: number; toMs?: number }): Promise<AccessRecord[]> {
    return this.#requireReaders().accessLog(range);
  }

  async purgeAccessLog(beforeMs: number, who: string): Promise<PurgeRecord> {
    return this.#requireReaders().purgeAccessLog(beforeMs, who);
  }

  async purges(): Promise<PurgeRecord[]> {
    return this.#requireReaders().purges();
  }

  /** One transaction on one connection; on failure, rolled back and the frontier forgotten. */
  async #transaction<T>(
    what: string,
    work: (client: pg.PoolClient) => Promise<T>,
    options: { lockTree?: boolean } = {},
  ): Promise<T> {
    const client = await this.#requirePool().connect();
    try {
      // One round trip: the lock is the transaction's first statement.
      await client.query(options.lockTree ? `BEGIN; ${TREE_LOCK}` : 'BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await this.#rollback(client);
      throw unwritable(what, `PostgreSQL schema ${this.#schema}`, err);
    } finally {
      client.release();
    }
  }

  /** After a failure: ROLLBACK (harmless if COMMIT already answered ROLLBACK), the frontier forgotten. */
  async #rollback(client: pg.PoolClient): Promise<void> {
    this.#frontier = null;
    await client.query('ROLLBACK').catch((rollback: unknown) => {
      this.#options.logger?.warn('register rollback failed', { err: String(rollback) });
    });
  }

  /**
   * The judge's verdict on a batch read under the lock (register-judge.ts
   * decides), and the one statement writing it, with the result it gives once
   * committed. Appends to the frontier: a failure after this forgets it.
   */
  async #judgeAndPlan(
    client: pg.PoolClient,
    batch: IngestBatch,
    state: BatchState,
  ): Promise<{ write: pg.QueryConfig; result: (headStored: boolean) => IngestResult }> {
    const { source } = batch;
    const verdict = state.known
      ? judgeBatch(batch, batch.boxKey, state.last, state.stored)
      : refusedBatch(batch, state.last);
    const frontier =
      verdict.accepted.length > 0 ? await this.#frontierAt(client, state.treeSize) : null;
    const entries: unknown[][] = Array.from({ length: 9 }, () => []);
    const nodes: unknown[][] = [[], [], []];
    for (const { entry, dataJson } of verdict.accepted) {
      const f = frontier as MerkleFrontier;
      const row = [f.size, ...entryToRow(entry, dataJson)] as const;
      row.forEach((value, i) => entries[i]?.push(value));
      f.append(row[8], (level, index, hash) => {
        nodes[0]?.push(level);
        nodes[1]?.push(index);
        nodes[2]?.push(hash);
      });
    }
    const now = this.#options.clocks.wallNowMs();
    const evidence: unknown[][] = Array.from({ length: 7 }, () => []);
    for (const { raw, refusal } of verdict.refused) {
      evidenceRow(source, raw, refusal, now).forEach((value, i) => evidence[i]?.push(value));
    }
    const heads: unknown[][] = [[], [], [], []];
    if (verdict.head.kind === 'accept') {
      headToRow(verdict.head.head).forEach((value, i) => heads[i]?.push(value));
    }
    return {
      write: {
        name: 'vigie-register-write-batch',
        text: WRITE_BATCH,
        values: [...entries, ...nodes, ...evidence, ...heads],
      },
      result: (headStored) => ingestResult(source, verdict, headStored, this.#options.logger),
    };
  }

  async #frontierAt(client: pg.PoolClient, size: number): Promise<MerkleFrontier> {
    if (this.#frontier?.size !== size) {
      this.#frontier = null;
      const hashes = await this.#subtreeHashes(client, MerkleFrontier.plan(size));
      this.#frontier = MerkleFrontier.of(size, hashes);
    }
    return this.#frontier;
  }

  async #subtreeHashes(db: pg.Pool | pg.PoolClient, ids: readonly SubtreeId[]): Promise<Buffer[]> {
    const fetch = nodeFetch(ids);
    const stored = await db.query<{ level: number; idx: number; hash: Buffer }>(
      `SELECT level, idx, hash FROM merkle_nodes
       WHERE (level, idx) IN (SELECT * FROM unnest($1::int[], $2::bigint[]))`,
      [fetch.stored.map((id) => id.level), fetch.stored.map((id) => id.index)],
    );
    const leaves = await db.query<{ leaf: number; hash: Buffer }>(
      'SELECT leaf, hash FROM entries WHERE leaf = ANY($1::bigint[])',
      [fetch.leaves],
    );
    return nodeHashes(
      ids,
      new Map(stored.rows.map((r) => [nodeKey({ level: r.level, index: r.idx }), r.hash])),
      new Map(leaves.rows.map((r) => [r.leaf, r.hash])),
      registerDamaged(`PostgreSQL schema ${this.#schema}`),
    );
  }

  #requirePool(): pg.Pool {
    if (!this.#pool) throw new VigieError('register-invalid', 'the register is not open');
    return this.#pool;
  }

  #requireReaders(): PostgresRegisterReaders {
    this.#requirePool();
    return this.#readers as PostgresRegisterReaders;
  }
}

/**
 * Awaits queries already sent together on one pipelined connection, every one
 * of them settled before returning or throwing (nothing left in flight that a
 * ROLLBACK could overtake; no unhandled rejection): their results in order, or
 * the first one's error.
 */
async function settledInOrder<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

async function treeSize(db: pg.Pool | pg.PoolClient): Promise<number> {
  const result = await db.query<{ last: number | null }>('SELECT max(leaf) AS last FROM entries');
  const last = result.rows[0]?.last;
  return typeof last === 'number' ? last + 1 : 0;
}

async function lastAckedOf(db: pg.Pool | pg.PoolClient, source: string): Promise<Acked | null> {
  const result = await db.query<{ seq: number; hash: Buffer }>(
    'SELECT seq, hash FROM entries WHERE source = $1 ORDER BY seq DESC LIMIT 1',
    [source],
  );
  const row = result.rows[0];
  return row ? { seq: row.seq, hash: row.hash.toString('hex') } : null;
}

/** A batch's entries, nodes, evidence and head in one statement (data-modifying CTEs). */
const WRITE_BATCH = `
WITH e AS (
  INSERT INTO entries (leaf, ${ENTRY_COLUMNS})
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                       $6::text[], $7::text[], $8::bytea[], $9::bytea[])
), n AS (
  INSERT INTO merkle_nodes (level, idx, hash)
  SELECT * FROM unnest($10::int[], $11::bigint[], $12::bytea[])
), v AS (
  INSERT INTO evidence (${EVIDENCE_COLUMNS})
  SELECT * FROM unnest($13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[],
                       $18::bytea[], $19::bigint[])
  ON CONFLICT DO NOTHING
)
INSERT INTO heads (${HEAD_COLUMNS})
SELECT * FROM unnest($20::bigint[], $21::text[], $22::bytea[], $23::bytea[])
ON CONFLICT DO NOTHING`;

/**
 * What judging a batch needs, read in one statement after the lock. The hashes
 * stored at the claimed seqs come one index probe on (source, seq) per claimed
 * seq (a correlated sub-select, never flattened into a join), aligned with $3
 * (NULL where nothing is stored): the cost is the batch's, not the source's
 * history (`source = $1 AND seq = ANY($3)` let the planner scan all of the
 * source's entries and filter them, twice, growing with every batch).
 */
const READ_BATCH_STATE = `
SELECT (SELECT max(leaf) FROM entries) AS last_leaf,
       l.seq AS last_seq, l.hash AS last_hash,
       EXISTS (SELECT 1 FROM source_keys WHERE source = $1 AND spki_der = $2) AS known,
       ARRAY(SELECT (SELECT encode(e.hash, 'hex') FROM entries e
                     WHERE e.source = $1 AND e.seq = c.seq)
             FROM unnest($3::bigint[]) WITH ORDINALITY AS c(seq, i) ORDER BY c.i) AS hashes
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT seq, hash FROM entries WHERE source = $1 ORDER BY seq DESC LIMIT 1
) AS l ON true`;

interface BatchState {
  readonly treeSize: number;
  readonly last: Acked | null;
  readonly known: boolean;
  readonly stored: Map<number, string>;
}

/** Sent right behind BEGIN + lock on the same pipelined connection: it runs once the lock is held. */
async function readBatchState(client: pg.PoolClient, batch: IngestBatch): Promise<BatchState> {
  const claimed = claimedSeqs(batch.entries, batch.head);
  const result = await client.query<{
    last_leaf: number | null;
    last_seq: number | null;
    last_hash: Buffer | null;
    known: boolean;
    hashes: (string | null)[];
  }>({
    name: 'vigie-register-read-batch',
    text: READ_BATCH_STATE,
    values: [batch.source, spkiOf(batch.boxKey), claimed],
  });
  const row = result.rows[0];
  if (!row) throw new Error('the batch state query returned no row');
  if (row.hashes.length !== claimed.length) {
    throw new Error('the batch state query returned hashes not aligned with the claimed seqs');
  }
  const stored = new Map<number, string>();
  row.hashes.forEach((hash, i) => {
    if (hash !== null) stored.set(claimed[i] as number, hash);
  });
  return {
    treeSize: row.last_leaf === null ? 0 : row.last_leaf + 1,
    last:
      row.last_seq === null || row.last_hash === null
        ? null
        : { seq: row.last_seq, hash: row.last_hash.toString('hex') },
    known: row.known,
    stored,
  };
}
