/**
 * The register's vocabulary (problem codes, acknowledgements, evidence) and how
 * entries and heads sit in its rows. Hashes and signatures are raw bytes in the
 * file, hex / base64url in the protocol's objects, as in the box's journal.
 */
import type { ChainProblem } from '../../../protocol/src/journal-chain.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../../protocol/src/journal-head.js';

/**
 * Stable problem codes (they reach alarms and the register's readers): the
 * protocol's chain problems, plus what only a register can see.
 */
export type RegisterProblemCode =
  | ChainProblem
  /** Not a JournalEntry at all (schema): kept as received. */
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
  | 'checkpoint-size-exceeds';

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

export const ENTRY_COLUMNS = 'source, seq, time, boot_id, type, data, prev_hash, hash';

export type EntryRow = [
  source: string,
  seq: number,
  time: string,
  bootId: string,
  type: string,
  data: string,
  prevHash: Buffer,
  hash: Buffer,
];

export const HEAD_COLUMNS = 'source, seq, hash, sig';

export type HeadRow = [source: string, seq: number, hash: Buffer, sig: Buffer];

export function entryToRow(entry: JournalEntry, dataJson: string): EntryRow {
  return [
    entry.source,
    entry.seq,
    entry.time,
    entry.bootId,
    entry.type,
    dataJson,
    Buffer.from(entry.prevHash, 'hex'),
    Buffer.from(entry.hash, 'hex'),
  ];
}

/** Throws a SyntaxError when `data` is not JSON (a tampered row): callers report it. */
export function rowToEntry(row: EntryRow): JournalEntry {
  const [source, seq, time, bootId, type, data, prevHash, hash] = row;
  return {
    source,
    seq,
    time,
    bootId,
    type,
    data: JSON.parse(data) as Record<string, unknown>,
    prevHash: prevHash.toString('hex'),
    hash: hash.toString('hex'),
  };
}

export function headToRow(head: SignedHead): HeadRow {
  return [head.source, head.seq, Buffer.from(head.hash, 'hex'), Buffer.from(head.sig, 'base64url')];
}

export function rowToHead(row: HeadRow): SignedHead {
  const [source, seq, hash, sig] = row;
  return { source, seq, hash: hash.toString('hex'), sig: sig.toString('base64url') };
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
