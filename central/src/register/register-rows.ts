/**
 * The register's vocabulary (problem codes, acknowledgements, evidence) and how
 * entries and heads sit in its rows. Hashes and signatures are raw bytes in the
 * file, hex / base64url in the protocol's objects, as in the box's journal.
 */
import type { ChainProblem } from '../../../protocol/src/journal-chain.js';

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

/** The received thing as JSON for the evidence table; never throws. */
export function rawJson(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    // A cycle or a BigInt cannot come from the wire, but evidence must still be kept.
    return String(raw);
  }
}
