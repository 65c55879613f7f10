/**
 * The central register's storage core (issue 6): every box's journal entries,
 * stored once per (source, seq), in one SQLite file.
 *
 * - ingest() judges a box's batch entry by entry (register-judge.ts): an
 *   identical resend changes nothing; a conflict, a gap or a broken link is not
 *   stored with the entries but kept as evidence and reported as a problem code,
 *   never merged. The head closing the batch is checked with the box's
 *   certificate key and kept. One batch is one IMMEDIATE transaction: with WAL
 *   and synchronous=FULL the acknowledgement returned is on disk.
 * - checkpoint() signs the Merkle tree head over every accepted entry hash in
 *   ingestion order (protocol/src/checkpoint.ts, RFC 9162), one per tree size.
 * - verifyAll() re-checks everything from the rows (register-verify.ts).
 *
 * Not wired yet: the gRPC ingest, the box's outbox and the CLI (docs/register.md).
 */
import type Database from 'better-sqlite3';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import { canonicalJson } from '../../../protocol/src/canonical-json.js';
import { merkleRoot, signCheckpoint, type Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import { headKeyKind } from '../../../protocol/src/journal-head.js';
import { openRegisterDatabase } from './register-database.js';
import { claimedSeq, judgeEntry, judgeHead, type Refusal } from './register-judge.js';
import {
  ENTRY_COLUMNS,
  entryToRow,
  HEAD_COLUMNS,
  headToRow,
  rawJson,
  rowToEntry,
  type Acked,
  type EntryRow,
  type EvidenceRecord,
  type HeadRow,
  type RegisterProblem,
} from './register-rows.js';
import {
  CHECKPOINT_COLUMNS,
  rowToCheckpoint,
  verifyRegister,
  type BoxKeyLookup,
  type RegisterVerifyReport,
} from './register-verify.js';

export interface SqliteRegisterStoreOptions {
  /** The register's database file. */
  readonly file: string;
  /** The register's Ed25519 private key: it signs checkpoints (checkpoint.ts). */
  readonly registerKey: KeyObject;
  /** The key id written in every checkpoint. */
  readonly kid: string;
  readonly clocks: { wallNowMs(): number };
  readonly logger?: Logger;
}

export interface IngestBatch {
  /** The box that sent the batch, as its mTLS certificate names it. */
  readonly source: string;
  /** Journal entries in ascending seq; received data, judged one by one. */
  readonly entries: readonly unknown[];
  /** The box-signed head closing the batch, if any. */
  readonly head?: unknown;
  /** The public key of the box's certificate (ECDSA P-256 or Ed25519). */
  readonly boxKey: KeyObject;
}

export interface IngestResult {
  /** Entries newly stored by this batch. */
  readonly accepted: number;
  /** Entries already stored identically (resends): nothing changed. */
  readonly duplicates: number;
  /** Where the box stands now: acknowledge this, resume after it. */
  readonly lastAcked: Acked | null;
  /** 'stored' (new), 'known' (already stored), 'none' (no head), 'refused' (see problems). */
  readonly head: 'stored' | 'known' | 'none' | 'refused';
  /** Everything refused, each also kept in the evidence table. */
  readonly problems: readonly RegisterProblem[];
}

export interface RegisterCounts {
  readonly entries: number;
  readonly heads: number;
  readonly evidence: number;
  readonly checkpoints: number;
}

type LastRow = [seq: number, hash: Buffer];
type EvidenceRow = [
  source: string,
  seq: number | null,
  reason: string,
  message: string,
  raw: string,
  rawSha256: Buffer,
  receivedMs: number,
];

export class SqliteRegisterStore {
  readonly #options: SqliteRegisterStoreOptions;
  #db: Database.Database | null = null;

  constructor(options: SqliteRegisterStoreOptions) {
    this.#options = options;
  }

  /** Creates or opens the file; throws `register-invalid` for a foreign or newer file. */
  open(): void {
    if (this.#db) return;
    if (this.#options.registerKey.asymmetricKeyType !== 'ed25519') {
      throw new VigieError(
        'register-key-unsupported',
        `checkpoints are signed with Ed25519; this is a ${this.#options.registerKey.asymmetricKeyType ?? 'non-asymmetric'} key`,
      );
    }
    this.#db = openRegisterDatabase(this.#options.file);
  }

  close(): void {
    const db = this.#db;
    this.#db = null;
    db?.close();
  }

  /** Judges and stores one box's batch in one durable transaction (see the file comment). */
  ingest(batch: IngestBatch): IngestResult {
    headKeyKind(batch.boxKey); // journal-key-unsupported: a caller's mistake, not evidence
    const db = this.#requireDb();
    try {
      return db.transaction(() => this.#ingest(db, batch)).immediate();
    } catch (err) {
      throw this.#unwritable(`ingest a batch from ${batch.source}`, err);
    }
  }

  /** The last accepted entry of `source`: where its box resumes. */
  lastAcked(source: string): Acked | null {
    const row = this.#requireDb()
      .prepare<[string], LastRow>(
        'SELECT seq, hash FROM entries WHERE source = ? ORDER BY seq DESC LIMIT 1',
      )
      .raw()
      .get(source);
    return row ? { seq: row[0], hash: row[1].toString('hex') } : null;
  }

  /**
   * The signed tree head over every accepted entry. One checkpoint per tree
   * size: asking again with nothing new returns the stored one unchanged.
   */
  checkpoint(): Checkpoint {
    const db = this.#requireDb();
    try {
      return db.transaction(() => this.#checkpoint(db)).immediate();
    } catch (err) {
      throw this.#unwritable('sign a checkpoint', err);
    }
  }

  /** Every chain and checkpoint re-checked from the rows; each problem with its position. */
  verifyAll(boxKeys: BoxKeyLookup): RegisterVerifyReport {
    return verifyRegister(this.#requireDb(), boxKeys, createPublicKey(this.#options.registerKey));
  }

  /** A box's accepted entries in seq order (readers, tests). */
  entriesOf(source: string): JournalEntry[] {
    return this.#requireDb()
      .prepare<[string], EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE source = ? ORDER BY seq`,
      )
      .raw()
      .all(source)
      .map(rowToEntry);
  }

  /** The evidence kept, oldest first. */
  evidence(source?: string): EvidenceRecord[] {
    const rows = this.#requireDb()
      .prepare<[string | null, string | null], EvidenceRow>(
        `SELECT source, seq, reason, message, raw, raw_sha256, received_ms FROM evidence
         WHERE ? IS NULL OR source = ? ORDER BY id`,
      )
      .raw()
      .all(source ?? null, source ?? null);
    return rows.map(([src, seq, reason, message, raw, , receivedMs]) => ({
      source: src,
      seq,
      reason: reason as EvidenceRecord['reason'],
      message,
      raw,
      receivedMs,
    }));
  }

  counts(): RegisterCounts {
    const db = this.#requireDb();
    const count = (table: string): number =>
      db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get() ?? 0;
    return {
      entries: count('entries'),
      heads: count('heads'),
      evidence: count('evidence'),
      checkpoints: count('checkpoints'),
    };
  }

  #ingest(db: Database.Database, batch: IngestBatch): IngestResult {
    const { source, boxKey } = batch;
    const storedHash = (seq: number): string | undefined =>
      db
        .prepare<[string, number], Buffer>('SELECT hash FROM entries WHERE source = ? AND seq = ?')
        .pluck()
        .get(source, seq)
        ?.toString('hex');
    const insert = db.prepare<EntryRow>(
      `INSERT INTO entries (${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const problems: RegisterProblem[] = [];
    let last = this.lastAcked(source);
    let accepted = 0;
    let duplicates = 0;
    // Transport may reorder a batch; the chain's order is seq order.
    for (const raw of sortBySeq(batch.entries)) {
      const verdict = judgeEntry(raw, { source, boxKey, last, storedHash });
      if (verdict.kind === 'duplicate') duplicates++;
      else if (verdict.kind === 'refuse')
        problems.push(this.#keepEvidence(db, source, raw, verdict));
      else {
        insert.run(...entryToRow(verdict.entry, canonicalJson(verdict.entry.data)));
        last = { seq: verdict.entry.seq, hash: verdict.entry.hash };
        accepted++;
      }
    }
    const head = this.#ingestHead(db, batch, storedHash, problems);
    return { accepted, duplicates, lastAcked: last, head, problems };
  }

  #ingestHead(
    db: Database.Database,
    batch: IngestBatch,
    storedHash: (seq: number) => string | undefined,
    problems: RegisterProblem[],
  ): IngestResult['head'] {
    const verdict = judgeHead(batch.head, batch.source, batch.boxKey, storedHash);
    if (verdict.kind === 'none') return 'none';
    if (verdict.kind === 'refuse') {
      problems.push(this.#keepEvidence(db, batch.source, batch.head, verdict));
      return 'refused';
    }
    const { changes } = db
      .prepare<HeadRow>(`INSERT OR IGNORE INTO heads (${HEAD_COLUMNS}) VALUES (?, ?, ?, ?)`)
      .run(...headToRow(verdict.head));
    return changes > 0 ? 'stored' : 'known';
  }

  #keepEvidence(
    db: Database.Database,
    source: string,
    raw: unknown,
    refusal: Refusal,
  ): RegisterProblem {
    const json = rawJson(raw);
    const digest = createHash('sha256').update(json).digest();
    db.prepare<EvidenceRow>(
      `INSERT OR IGNORE INTO evidence (source, seq, reason, message, raw, raw_sha256, received_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      source,
      refusal.seq,
      refusal.reason,
      refusal.message,
      json,
      digest,
      this.#options.clocks.wallNowMs(),
    );
    this.#options.logger?.warn('register refused a journal entry or head', {
      source,
      seq: refusal.seq,
      reason: refusal.reason,
    });
    return { source, seq: refusal.seq, reason: refusal.reason, message: refusal.message };
  }

  #checkpoint(db: Database.Database): Checkpoint {
    const leaves = db.prepare<[], Buffer>('SELECT hash FROM entries ORDER BY leaf').pluck().all();
    const stored = db
      .prepare<[number], CheckpointRow>(
        `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints WHERE tree_size = ?`,
      )
      .raw()
      .get(leaves.length);
    if (stored) return rowToCheckpoint(stored);
    const checkpoint = signCheckpoint(
      {
        treeSize: leaves.length,
        rootHash: merkleRoot(leaves).toString('hex'),
        time: new Date(this.#options.clocks.wallNowMs()).toISOString(),
        kid: this.#options.kid,
      },
      this.#options.registerKey,
    );
    db.prepare<CheckpointRow>(
      `INSERT INTO checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
    ).run(
      checkpoint.treeSize,
      Buffer.from(checkpoint.rootHash, 'hex'),
      checkpoint.time,
      checkpoint.kid,
      Buffer.from(checkpoint.sig, 'base64url'),
    );
    return checkpoint;
  }

  #requireDb(): Database.Database {
    if (!this.#db) throw new VigieError('register-invalid', 'the register is not open');
    return this.#db;
  }

  #unwritable(what: string, err: unknown): VigieError {
    if (err instanceof VigieError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new VigieError(
      'register-unwritable',
      `cannot ${what} in ${this.#options.file}: ${message}`,
      {
        cause: err,
      },
    );
  }
}

type CheckpointRow = [treeSize: number, rootHash: Buffer, time: string, kid: string, sig: Buffer];

/** Stable sort by claimed seq; what claims none stays first, to be judged malformed. */
function sortBySeq(entries: readonly unknown[]): unknown[] {
  return [...entries].sort((a, b) => (claimedSeq(a) ?? -1) - (claimedSeq(b) ?? -1));
}
