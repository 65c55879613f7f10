/**
 * The register's vocabulary (problem codes, acknowledgements, evidence) and how
 * entries and heads sit in its rows. Hashes and signatures are raw bytes in the
 * file, hex / base64url in the protocol's objects, as in the box's journal.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../protocol/src/canonical-json.js';
import type { Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { ChainProblem } from '../../../protocol/src/journal-chain.js';
import { z } from 'zod';
import { VigieError } from '../../../lib/src/errors.js';
import type { AccessInput, AccessRecord, Annotation, PurgeRecord } from './register-port.js';

/**
 * Stable problem codes (they reach alarms and the register's readers): the
 * protocol's chain problems, plus what only a register can see.
 */
export type RegisterProblemCode =
  | ChainProblem
  /** Not a JournalEntry at all (schema): kept as received; verifyAll: a stored hash that is not 32 bytes. */
  | 'entry-malformed'
  /** Same (source, seq) as a stored entry, different content: never merged. */
  | 'seq-conflict'
  /** Not a SignedHead (schema). */
  | 'head-malformed'
  /** verifyAll: no certificate key known for this box, its heads cannot be checked. */
  | 'box-key-unknown'
  /** verifyAll: a stored checkpoint's signature does not verify under the register key. */
  | 'checkpoint-bad-signature'
  /** verifyAll: the stored entries no longer give a stored checkpoint's root hash. */
  | 'checkpoint-root-mismatch'
  /** verifyAll: a stored checkpoint covers more entries than the file holds. */
  | 'checkpoint-size-exceeds'
  /** verifyAll: a stored Merkle node is not the hash of the entries below it (or one is missing). */
  | 'merkle-node-mismatch'
  /** verifyAll: the entries' leaf numbers skip or repeat (entries removed or moved in the tree). */
  | 'leaf-out-of-order';

/** Every code, in the order of the docs (docs/register.md): a test keeps them in sync. */
export const REGISTER_PROBLEM_CODES: readonly RegisterProblemCode[] = [
  'entry-malformed',
  'source-mismatch',
  'hash-mismatch',
  'seq-conflict',
  'seq-gap',
  'prev-hash-mismatch',
  'head-malformed',
  'head-bad-signature',
  'head-out-of-range',
  'head-hash-mismatch',
  'box-key-unknown',
  'checkpoint-bad-signature',
  'checkpoint-root-mismatch',
  'checkpoint-size-exceeds',
  'merkle-node-mismatch',
  'leaf-out-of-order',
];

export interface RegisterProblem {
  readonly source: string | null;
  readonly seq: number | null;
  readonly reason: RegisterProblemCode;
  readonly message: string;
}

/** Where a box's chain stands in the register: where it resumes. */
export interface Acked {
  readonly seq: number;
  readonly hash: string;
}

export interface EvidenceRecord extends RegisterProblem {
  readonly source: string;
  /** The received entry or head as JSON, exactly as it was judged. */
  readonly raw: string;
  readonly receivedMs: number;
}

export {
  ENTRY_COLUMNS,
  entryToRow,
  HEAD_COLUMNS,
  headToRow,
  rowToEntry,
  rowToHead,
  type EntryRow,
  type HeadRow,
} from '../../../protocol/src/journal-rows.js';

/** A `checkpoints` row: tree_size, root_hash, time, kid, sig. */
export type CheckpointRow = [
  treeSize: number,
  rootHash: Buffer,
  time: string,
  kid: string,
  sig: Buffer,
];

export const CHECKPOINT_COLUMNS = 'tree_size, root_hash, time, kid, sig';

export function rowToCheckpoint(row: CheckpointRow): Checkpoint {
  const [treeSize, rootHash, time, kid, sig] = row;
  return {
    treeSize,
    rootHash: rootHash.toString('hex'),
    time,
    kid,
    sig: sig.toString('base64url'),
  };
}

export function checkpointToRow(c: Checkpoint): CheckpointRow {
  return [
    c.treeSize,
    Buffer.from(c.rootHash, 'hex'),
    c.time,
    c.kid,
    Buffer.from(c.sig, 'base64url'),
  ];
}

/** An `evidence` row as written: source, seq, reason, message, raw, raw_sha256, received_ms. */
export type EvidenceRow = [
  source: string,
  seq: number | null,
  reason: string,
  message: string,
  raw: string,
  rawSha256: Buffer,
  receivedMs: number,
];

export const EVIDENCE_COLUMNS = 'source, seq, reason, message, raw, raw_sha256, received_ms';

export function evidenceRow(
  source: string,
  raw: unknown,
  refusal: Omit<RegisterProblem, 'source'>,
  receivedMs: number,
): EvidenceRow {
  const json = rawJson(raw);
  const digest = createHash('sha256').update(json).digest();
  return [source, refusal.seq, refusal.reason, refusal.message, json, digest, receivedMs];
}

export function rowToEvidence(row: EvidenceRow): EvidenceRecord {
  const [source, seq, reason, message, raw, , receivedMs] = row;
  return { source, seq, reason: reason as RegisterProblemCode, message, raw, receivedMs };
}

/** An `access_log` row: id, time_ms, who, action, why, to_whom, cameras (JSON), detail. */
export type AccessRow = [
  id: number,
  timeMs: number,
  who: string,
  action: string,
  why: string,
  toWhom: string,
  cameras: string,
  detail: string,
];

export const ACCESS_COLUMNS = 'id, time_ms, who, action, why, to_whom, cameras, detail';

export function rowToAccess(row: AccessRow): AccessRecord {
  const [id, timeMs, who, action, why, toWhom, cameras, detail] = row;
  return {
    id,
    timeMs,
    who,
    action: action as AccessRecord['action'],
    why,
    toWhom,
    cameras: JSON.parse(cameras) as string[],
    detail,
  };
}

/**
 * What a purge of `removed` (in id order) records: their count, id range and
 * the SHA-256 over each row's canonical JSON followed by a newline.
 */
export function purgeSummary(
  removed: readonly AccessRecord[],
): Pick<PurgeRecord, 'removed' | 'firstId' | 'lastId' | 'removedSha256'> {
  const digest = createHash('sha256');
  for (const record of removed) digest.update(`${canonicalJson(record)}\n`);
  return {
    removed: removed.length,
    firstId: removed[0]?.id ?? null,
    lastId: removed[removed.length - 1]?.id ?? null,
    removedSha256: digest.digest('hex'),
  };
}

/** A `purges` row: id, time_ms, who, before_ms, removed, first_id, last_id, removed_sha256. */
export type PurgeRow = [
  id: number,
  timeMs: number,
  who: string,
  beforeMs: number,
  removed: number,
  firstId: number | null,
  lastId: number | null,
  removedSha256: string,
];

export const PURGE_COLUMNS =
  'id, time_ms, who, before_ms, removed, first_id, last_id, removed_sha256';

export function rowToPurge(row: PurgeRow): PurgeRecord {
  const [id, timeMs, who, beforeMs, removed, firstId, lastId, removedSha256] = row;
  return { id, timeMs, who, beforeMs, removed, firstId, lastId, removedSha256 };
}

/** An `annotations` row: id, time_ms, session_id, outcome, author. */
export type AnnotationRow = [
  id: number,
  timeMs: number,
  sessionId: string,
  outcome: string,
  author: string,
];

export const ANNOTATION_COLUMNS = 'id, time_ms, session_id, outcome, author';

export function rowToAnnotation(row: AnnotationRow): Annotation {
  const [id, timeMs, sessionId, outcome, author] = row;
  return { id, timeMs, sessionId, outcome, author };
}

/** The received thing as JSON for the evidence table; never throws. */
export function rawJson(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    // A cycle or a BigInt cannot come from the wire, but evidence must still be kept.
    return String(raw);
  }
}

const Text = (max: number): z.ZodString => z.string().min(1).max(max);

export const AnnotationInputSchema = z.strictObject({
  sessionId: Text(128),
  outcome: Text(2000),
  author: Text(256),
});

export const AccessInputSchema = z.strictObject({
  who: Text(256),
  action: z.enum(['consult', 'export', 'verify', 'annotate']),
  why: z.string().max(2000),
  toWhom: z.string().max(256),
  cameras: z.array(Text(128)).max(1024),
  detail: z.string().max(4000),
});

/** Checks a reader's input; `payload-invalid` with `path: message` for the first issue. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first ? `${first.path.join('.') || what}: ${first.message}` : 'invalid';
  throw new VigieError('payload-invalid', `${what} refused (${where})`);
}

/** Exports demand a reason: the law's access log says why an extraction was made. */
export function checkAccess(input: AccessInput): AccessInput {
  const access = parseInput(AccessInputSchema, input, 'access record');
  if (access.action === 'export' && access.why.trim() === '') {
    throw new VigieError(
      'payload-invalid',
      'access record refused (why: an export needs a reason)',
    );
  }
  return access;
}

/** A purge may only remove what is past the retention: never a recent access. */
export function checkPurge(
  beforeMs: number,
  who: string,
  nowMs: number,
  retentionMs: number,
): void {
  if (!Number.isSafeInteger(beforeMs) || beforeMs > nowMs - retentionMs) {
    throw new VigieError(
      'payload-invalid',
      `purge refused (beforeMs: ${new Date(beforeMs).toISOString()} is less than the retention of ${Math.round(retentionMs / 86_400_000)} days before now)`,
    );
  }
  if (who.trim() === '') throw new VigieError('payload-invalid', 'purge refused (who: required)');
}
