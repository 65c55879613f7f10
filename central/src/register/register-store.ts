/**
 * The central register in one SQLite file (issue 6): the `RegisterStore` of
 * register-port.ts. Internals are synchronous better-sqlite3; the interface is
 * async so that PostgreSQL (postgres-register-store.ts) fits the same suite.
 *
 * - ingest() judges a source's batch (register-judge.ts) in one IMMEDIATE
 *   transaction: accepted entries get the next leaf numbers and the Merkle
 *   nodes they complete (merkle-nodes.ts); refusals are kept as evidence; with
 *   WAL and synchronous=FULL the acknowledgement returned is on disk.
 * - checkpoint() signs the root of the frontier, consistencyProof() reads
 *   O(log n) stored nodes: neither recomputes the tree.
 * - verifyAll() streams the whole file from a read-only connection of its own
 *   (register-verify.ts), one snapshot.
 * Readers (entries, sources, annotations, access log) are in
 * sqlite-register-readers.ts.
 */
import type Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { VigieError } from '../../../lib/src/errors.js';
import type { Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import { headKeyKind } from '../../../protocol/src/journal-head.js';
import {
  consistencyPlan,
  type MerklePlan,
  type SubtreeId,
} from '../../../protocol/src/merkle-consistency.js';
import { MerkleFrontier, nodeFetch, nodeHashes, nodeKey } from './merkle-nodes.js';
import { openRegisterDatabase, openRegisterReadonly } from './register-database.js';
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
import {
  claimedSeqs,
  judgeBatch,
  type AcceptedEntry,
  type BatchVerdict,
} from './register-judge.js';
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
  type EntryRow,
  type EvidenceRecord,
  type HeadRow,
} from './register-rows.js';
import { SqliteRegisterReaders } from './sqlite-register-readers.js';
import { verifyRegister, type RegisterVerifyReport } from './register-verify.js';
import { sqliteSnapshot } from './sqlite-verify-snapshot.js';

export interface SqliteRegisterStoreOptions extends RegisterCommonOptions {
  /** The register's database file. */
  readonly file: string;
}

type LastRow = [seq: number, hash: Buffer];

export class SqliteRegisterStore implements RegisterStore {
  readonly backend = 'sqlite' as const;
  readonly #options: SqliteRegisterStoreOptions;
  #db: Database.Database | null = null;
  #readers: SqliteRegisterReaders | null = null;
  /** The tree's right edge, kept between batches; null when it must be read again. */
  #frontier: MerkleFrontier | null = null;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(options: SqliteRegisterStoreOptions) {
    this.#options = options;
  }

  get file(): string {
    return this.#options.file;
  }

  open(): Promise<void> {
    try {
      if (!this.#db) {
        checkRegisterKey(this.#options.registerKey);
        this.#db = openRegisterDatabase(this.#options.file);
        this.#readers = new SqliteRegisterReaders(this.#db, this.#options.clocks);
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    this.#readers = null;
    this.#frontier = null;
    this.#statements.clear();
    db?.close();
    return Promise.resolve();
  }

  rememberSource(identity: SourceIdentity): Promise<void> {
    return this.#write('remember a source', (db) => {
      const now = this.#options.clocks.wallNowMs();
      this.#sql(
        db,
        'INSERT OR IGNORE INTO sources (source, kind, site, first_seen_ms) VALUES (?, ?, ?, ?)',
      ).run(identity.source, identity.kind, identity.site, now);
      this.#sql(
        db,
        `INSERT OR IGNORE INTO source_keys (source, spki_der, cert_sha256, first_seen_ms)
         VALUES (?, ?, ?, ?)`,
      ).run(identity.source, identity.spkiDer, identity.certSha256, now);
    });
  }

  ingest(batch: IngestBatch): Promise<IngestResult> {
    return this.#write(`ingest a batch from ${batch.source}`, (db) => {
      headKeyKind(batch.boxKey); // journal-key-unsupported: a caller's mistake, not evidence
      return this.#ingest(db, batch);
    });
  }

  lastAcked(source: string): Promise<Acked | null> {
    return this.#read(() => this.#lastAcked(this.#requireDb(), source));
  }

  checkpoint(): Promise<Checkpoint> {
    return this.#write('sign a checkpoint', (db) => {
      const size = this.#treeSize(db);
      const stored = this.#sql<[number], CheckpointRow>(
        db,
        `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE tree_size = ?`,
      )
        .raw()
        .get(size);
      if (stored) return rowToCheckpoint(stored);
      const checkpoint = newCheckpoint(size, this.#frontierAt(db, size).root(), this.#options);
      this.#sql(db, `INSERT INTO checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)`).run(
        ...checkpointToRow(checkpoint),
      );
      return checkpoint;
    });
  }

  consistencyProof(oldSize: number, newSize: number): Promise<Buffer[]> {
    return this.#read(() => {
      const db = this.#requireDb();
      const size = this.#treeSize(db);
      if (newSize > size) {
        throw new RangeError(`tree size ${newSize} is past the register's ${size}`);
      }
      return this.#run(db, consistencyPlan(oldSize, newSize));
    });
  }

  inclusionProof(
    source: string,
    seq: number,
    ofSize: number,
  ): Promise<{ leafIndex: number; proof: Buffer[] }> {
    return this.#read(() => {
      const db = this.#requireDb();
      const leaf = this.#sql<[string, number], number>(
        db,
        'SELECT leaf FROM entries WHERE source = ? AND seq = ?',
      )
        .pluck()
        .get(source, seq);
      const { leafIndex, plan } = inclusionOf(
        { source, seq, treeSize: ofSize },
        leaf ?? null,
        this.#treeSize(db),
      );
      return { leafIndex, proof: this.#run(db, plan) };
    });
  }

  async verifyAll(options: VerifyOptions = {}): Promise<RegisterVerifyReport> {
    this.#requireDb();
    const db = openRegisterReadonly(this.#options.file);
    try {
      db.exec('BEGIN');
      const report = await verifyRegister(
        sqliteSnapshot(db),
        createPublicKey(this.#options.registerKey),
        options.onProgress,
      );
      db.exec('COMMIT');
      return report;
    } finally {
      db.close();
    }
  }

  entries(query: EntryQuery): AsyncIterable<JournalEntry> {
    return this.#requireReaders().entries(query);
  }

  /** A read on the open database; a throw becomes a rejection. */
  #read<T>(work: (readers: SqliteRegisterReaders) => T): Promise<T> {
    try {
      return Promise.resolve(work(this.#requireReaders()));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  sources(): Promise<SourceRecord[]> {
    return this.#read((readers) => readers.sources());
  }

  evidence(source?: string): Promise<EvidenceRecord[]> {
    return this.#read((readers) => readers.evidence(source));
  }

  counts(): Promise<RegisterCounts> {
    return this.#read((readers) => readers.counts());
  }

  annotate(input: AnnotationInput): Promise<Annotation> {
    return this.#write('annotate', () => this.#requireReaders().annotate(input));
  }

  annotations(sessionIds?: readonly string[]): Promise<Annotation[]> {
    return this.#read((readers) => readers.annotations(sessionIds));
  }

  recordAccess(input: AccessInput): Promise<AccessRecord> {
    return this.#write('record an access', () => this.#requireReaders().recordAccess(input));
  }

  accessLog(range: { fromMs?: number; toMs?: number }): Promise<AccessRecord[]> {
    return this.#read((readers) => readers.accessLog(range));
  }

  purgeAccessLog(beforeMs: number, who: string): Promise<PurgeRecord> {
    return this.#write('purge the access log', () =>
      this.#requireReaders().purgeAccessLog(beforeMs, who),
    );
  }

  purges(): Promise<PurgeRecord[]> {
    return this.#read((readers) => readers.purges());
  }

  /** One IMMEDIATE transaction; on failure the cached frontier is dropped (rolled back). */
  #write<T>(what: string, work: (db: Database.Database) => T): Promise<T> {
    try {
      const db = this.#requireDb();
      return Promise.resolve(db.transaction(() => work(db)).immediate());
    } catch (err) {
      this.#frontier = null;
      return Promise.reject(unwritable(what, this.#options.file, err));
    }
  }

  #ingest(db: Database.Database, batch: IngestBatch): IngestResult {
    const { source } = batch;
    const last = this.#lastAcked(db, source);
    const known = this.#sql<[string, Buffer], number>(
      db,
      'SELECT 1 FROM source_keys WHERE source = ? AND spki_der = ?',
    )
      .pluck()
      .get(source, spkiOf(batch.boxKey));
    const verdict: BatchVerdict = known
      ? judgeBatch(batch, batch.boxKey, last, this.#storedHashes(db, source, batch))
      : refusedBatch(batch, last);
    this.#append(db, verdict.accepted);
    const now = this.#options.clocks.wallNowMs();
    const keep = this.#sql(
      db,
      `INSERT OR IGNORE INTO evidence (${EVIDENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const { raw, refusal } of verdict.refused)
      keep.run(...evidenceRow(source, raw, refusal, now));
    let headStored = false;
    if (verdict.head.kind === 'accept') {
      headStored =
        this.#sql<HeadRow>(
          db,
          `INSERT OR IGNORE INTO heads (${HEAD_COLUMNS}) VALUES (?, ?, ?, ?)`,
        ).run(...headToRow(verdict.head.head)).changes > 0;
    }
    return ingestResult(source, verdict, headStored, this.#options.logger);
  }

  /** The stored hashes of the seqs the batch claims: one range read on (source, seq). */
  #storedHashes(db: Database.Database, source: string, batch: IngestBatch): Map<number, string> {
    const seqs = claimedSeqs(batch.entries, batch.head);
    const stored = new Map<number, string>();
    if (seqs.length === 0) return stored;
    const [low, high] = [Math.min(...seqs), Math.max(...seqs)];
    // A batch claiming far-apart seqs (a resend is contiguous) is read seq by seq.
    const rows =
      high - low < 4 * seqs.length
        ? this.#sql<[string, number, number], [number, Buffer]>(
            db,
            'SELECT seq, hash FROM entries WHERE source = ? AND seq BETWEEN ? AND ?',
          )
            .raw()
            .all(source, low, high)
        : seqs.flatMap((seq) =>
            this.#sql<[string, number], [number, Buffer]>(
              db,
              'SELECT seq, hash FROM entries WHERE source = ? AND seq = ?',
            )
              .raw()
              .all(source, seq),
          );
    const wanted = new Set(seqs);
    for (const [seq, hash] of rows) if (wanted.has(seq)) stored.set(seq, hash.toString('hex'));
    return stored;
  }

  /** Accepted entries at the next leaves, with the Merkle nodes they complete. */
  #append(db: Database.Database, entries: readonly AcceptedEntry[]): void {
    if (entries.length === 0) return;
    const frontier = this.#frontierAt(db, this.#treeSize(db));
    const insert = this.#sql<[number, ...EntryRow]>(
      db,
      `INSERT INTO entries (leaf, ${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertNode = this.#sql<[number, number, Buffer]>(
      db,
      'INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)',
    );
    for (const { entry, dataJson } of entries) {
      const row = entryToRow(entry, dataJson);
      insert.run(frontier.size, ...row);
      frontier.append(row[7], (level, index, hash) => insertNode.run(level, index, hash));
    }
  }

  /** The frontier at `size`: the cached one, or O(log n) stored nodes read again. */
  #frontierAt(db: Database.Database, size: number): MerkleFrontier {
    if (this.#frontier?.size !== size) {
      this.#frontier = null;
      this.#frontier = MerkleFrontier.of(size, this.#subtreeHashes(db, MerkleFrontier.plan(size)));
    }
    return this.#frontier;
  }

  #run(db: Database.Database, plan: MerklePlan): Buffer[] {
    return plan.assemble(this.#subtreeHashes(db, plan.subtrees));
  }

  #subtreeHashes(db: Database.Database, ids: readonly SubtreeId[]): Buffer[] {
    const fetch = nodeFetch(ids);
    const node = this.#sql<[number, number], Buffer>(
      db,
      'SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?',
    ).pluck();
    const leaf = this.#sql<[number], Buffer>(db, 'SELECT hash FROM entries WHERE leaf = ?').pluck();
    const stored = new Map<string, Buffer>();
    for (const id of fetch.stored) {
      const hash = node.get(id.level, id.index);
      if (hash) stored.set(nodeKey(id), hash);
    }
    const leaves = new Map<number, Buffer>();
    for (const n of fetch.leaves) {
      const hash = leaf.get(n);
      if (hash) leaves.set(n, hash);
    }
    return nodeHashes(ids, stored, leaves, registerDamaged(this.#options.file));
  }

  #lastAcked(db: Database.Database, source: string): Acked | null {
    const row = this.#sql<[string], LastRow>(
      db,
      'SELECT seq, hash FROM entries WHERE source = ? ORDER BY seq DESC LIMIT 1',
    )
      .raw()
      .get(source);
    return row ? { seq: row[0], hash: row[1].toString('hex') } : null;
  }

  /** Prepared once per open database: ingest runs the same few statements per batch. */
  /** Leaves in the tree: one prepared statement (a batch used to prepare it again). */
  #treeSize(db: Database.Database): number {
    const last = this.#sql<[], number | null>(db, 'SELECT max(leaf) FROM entries').pluck().get();
    return typeof last === 'number' ? last + 1 : 0;
  }

  #sql<P extends unknown[] | object = unknown[], R = unknown>(
    db: Database.Database,
    sql: string,
  ): Database.Statement<P, R> {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }

  #requireDb(): Database.Database {
    if (!this.#db) throw new VigieError('register-invalid', 'the register is not open');
    return this.#db;
  }

  #requireReaders(): SqliteRegisterReaders {
    this.#requireDb();
    return this.#readers as SqliteRegisterReaders;
  }
}

/** Leaves so far: the last leaf number + 1 (leaves are numbered from 0 without gaps). */
