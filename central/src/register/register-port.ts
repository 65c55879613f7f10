/**
 * The register's storage contract (issue 6): what the ingest service, the
 * readers (CLI, exports, web page) and the benchmarks see of a register,
 * whatever holds it. Two implementations pass the same suite
 * (test/central/register-contract.ts): SQLite (one file, the default) and
 * PostgreSQL (larger deployments). Every method is async so both fit.
 *
 * Append-only everywhere but one place: access-log entries older than the
 * retention (three years) are purged by purgeAccessLog, which writes a purge
 * record in the same transaction. Nothing else is deletable.
 */
import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { Acked, EvidenceRecord, RegisterProblem } from './register-rows.js';
import type { RegisterVerifyReport } from './register-verify.js';

export type { Acked, EvidenceRecord, RegisterProblem, RegisterVerifyReport };

/** Who a connected source is, from its mTLS certificate (never from what it sends). */
export interface SourceIdentity {
  /** The journal `source`: the box id of urn:vigie:box:<site>:<box>, or a service name. */
  readonly source: string;
  readonly kind: 'box' | 'relay';
  /** The site of a box (urn:vigie:box:<site>:<box>); null for a relay. */
  readonly site: string | null;
  /** DER SubjectPublicKeyInfo of the certificate's key: it checks the source's heads. */
  readonly spkiDer: Buffer;
  /** SHA-256 of the certificate DER, hex. */
  readonly certSha256: string;
}

export interface SourceRecord {
  readonly source: string;
  readonly kind: 'box' | 'relay';
  readonly site: string | null;
  /** Every key this source's certificates have had, oldest first (renewals add one). */
  readonly spkiDers: readonly Buffer[];
  readonly firstSeenMs: number;
  readonly entries: number;
  readonly lastSeq: number | null;
  /** Time (as hashed) of the last accepted entry. */
  readonly lastTime: string | null;
  /** Highest seq vouched for by a stored box-signed head. */
  readonly vouchedThroughSeq: number | null;
  /** Evidence rows held for this source (0: nothing refused so far). */
  readonly evidence: number;
}

export interface IngestBatch {
  /** The source that sent the batch, as its mTLS certificate names it. */
  readonly source: string;
  /** Journal entries, any order (sorted by claimed seq); received data, judged one by one. */
  readonly entries: readonly unknown[];
  /** The source-signed head closing the batch, if any. */
  readonly head?: unknown;
  /** The public key of the source's certificate (ECDSA P-256 or Ed25519). */
  readonly boxKey: KeyObject;
}

export interface IngestResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly lastAcked: Acked | null;
  readonly head: 'stored' | 'known' | 'none' | 'refused';
  readonly problems: readonly RegisterProblem[];
}

/** Filters of entries(); every field optional, all combined with AND. */
export interface EntryQuery {
  readonly sources?: readonly string[];
  /** Exact types, or a prefix ending with '.' (e.g. 'session.'). */
  readonly types?: readonly string[];
  /** Entry `time` >= fromTime (ISO UTC, as hashed). */
  readonly fromTime?: string;
  /** Entry `time` < toTime. */
  readonly toTime?: string;
  /** For one source: seq >= fromSeq. */
  readonly fromSeq?: number;
  readonly limit?: number;
}

/** The follow-up of a transmission as the receiving centre reported it (EMH records it). */
export interface AnnotationInput {
  readonly sessionId: string;
  /** Free text, <= 2,000 characters: what came of the intervention. */
  readonly outcome: string;
  /** Who records it (a login or a person's name). */
  readonly author: string;
}

export interface Annotation extends AnnotationInput {
  readonly id: number;
  readonly timeMs: number;
}

/** One consultation or extraction of the register (the law's access log). */
export interface AccessInput {
  /** Who: the authenticated login or the OS user running the CLI. */
  readonly who: string;
  readonly action: 'consult' | 'export' | 'verify' | 'annotate';
  /** Why: the reason given (required for exports). */
  readonly why: string;
  /** To whom the extraction goes (empty for a consultation). */
  readonly toWhom: string;
  /** Which cameras the consulted or extracted rows concern. */
  readonly cameras: readonly string[];
  /** What was asked: the query, the format, the session... as short text. */
  readonly detail: string;
}

export interface AccessRecord extends AccessInput {
  readonly id: number;
  readonly timeMs: number;
}

/** What a purge removed: written in the same transaction as the removal, kept forever. */
export interface PurgeRecord {
  readonly id: number;
  readonly timeMs: number;
  readonly who: string;
  /** Entries with timeMs < beforeMs were removed. */
  readonly beforeMs: number;
  readonly removed: number;
  readonly firstId: number | null;
  readonly lastId: number | null;
  /** SHA-256 (hex) over the removed rows' canonical JSON, in id order: what they were. */
  readonly removedSha256: string;
}

export interface RegisterCounts {
  readonly entries: number;
  readonly heads: number;
  readonly evidence: number;
  readonly checkpoints: number;
  readonly sources: number;
}

export interface VerifyOptions {
  /** Called now and then with the entries checked so far (long verifications). */
  readonly onProgress?: (checked: number) => void;
}

export interface RegisterStore {
  /** 'sqlite' or 'postgres': shown by the CLI and the web page. */
  readonly backend: 'sqlite' | 'postgres';
  /** Creates or opens; throws `register-invalid` for a foreign or newer database. */
  open(): Promise<void>;
  close(): Promise<void>;

  /** Records the certificate a source connected with (idempotent; a new key adds a row). */
  rememberSource(identity: SourceIdentity): Promise<void>;
  /** Judges and stores one batch in one durable transaction (docs/register.md). */
  ingest(batch: IngestBatch): Promise<IngestResult>;
  lastAcked(source: string): Promise<Acked | null>;
  /** The signed tree head over every accepted entry; one per tree size. */
  checkpoint(): Promise<Checkpoint>;
  /** RFC 9162 §2.1.4 PROOF(oldSize, D[newSize]) from stored subtree hashes: O(log n). */
  consistencyProof(oldSize: number, newSize: number): Promise<Buffer[]>;
  /**
   * RFC 9162 §2.1.3 PATH(leafIndex, D[treeSize]) of `source`'s entry at `seq`
   * (leaf data: its 32-byte entry hash), from stored subtree hashes: O(log n).
   * EntryNotInTreeError when that entry is not among the first treeSize leaves;
   * RangeError for a size past the tree.
   */
  inclusionProof(
    source: string,
    seq: number,
    treeSize: number,
  ): Promise<{ leafIndex: number; proof: Buffer[] }>;
  /** Re-checks every chain (against the sources' stored keys), head and checkpoint. */
  verifyAll(options?: VerifyOptions): Promise<RegisterVerifyReport>;

  /** Accepted entries matching the query, by (time, source, seq). */
  entries(query: EntryQuery): AsyncIterable<JournalEntry>;
  sources(): Promise<SourceRecord[]>;
  evidence(source?: string): Promise<EvidenceRecord[]>;
  counts(): Promise<RegisterCounts>;

  annotate(input: AnnotationInput): Promise<Annotation>;
  /** Every annotation (of these sessions), oldest first: history is kept, the last one is current. */
  annotations(sessionIds?: readonly string[]): Promise<Annotation[]>;

  recordAccess(input: AccessInput): Promise<AccessRecord>;
  accessLog(range: { fromMs?: number; toMs?: number }): Promise<AccessRecord[]>;
  /** Removes access-log rows with timeMs < beforeMs and records the purge, atomically. */
  purgeAccessLog(beforeMs: number, who: string): Promise<PurgeRecord>;
  purges(): Promise<PurgeRecord[]>;
}

/** Three years: the access log's retention (issue 6; docs/register.md). */
export const ACCESS_LOG_RETENTION_MS = 3 * 365.25 * 24 * 3600 * 1000;

/** inclusionProof's refusal: the entry is not stored, or not in a tree of that size. */
export class EntryNotInTreeError extends RangeError {
  override readonly name = 'EntryNotInTreeError';
}
