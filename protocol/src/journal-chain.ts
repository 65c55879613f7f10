/**
 * Verifies a run of journal entries from one source against signed heads.
 * It reports the first broken position and why; it never "repairs" anything.
 * A gap or a hash mismatch is an alarm for the register, never accepted.
 *
 * Positions: an entry whose own hash is wrong breaks at that entry; a link that
 * does not hold (seq not previous + 1, prevHash not previous hash) breaks at the
 * later entry of the link; a head breaks at the entry it names.
 *
 * Heads are Ed25519 or ECDSA P-256 (a box's certificate key): see journal-head.ts.
 */
import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, hashEntry, type JournalEntry } from './journal-entry.js';
import { headKeyKind, verifyHead, type SignedHead } from './journal-head.js';

export type ChainProblem =
  | 'empty'
  | 'no-anchor'
  | 'source-mismatch'
  | 'seq-gap'
  | 'prev-hash-mismatch'
  | 'hash-mismatch'
  | 'head-bad-signature'
  | 'head-hash-mismatch'
  | 'head-out-of-range';

export interface ChainBreak {
  readonly ok: false;
  /** Index in `entries` of the first broken position (entries.length for a head past the end). */
  readonly index: number;
  readonly seq: number | null;
  readonly problem: ChainProblem;
  readonly message: string;
}

export interface ChainOk {
  readonly ok: true;
  /** Highest seq vouched for by a valid head, or null if no head covers the run yet. */
  readonly vouchedThroughSeq: number | null;
  readonly lastSeq: number;
  readonly lastHash: string;
}

export type ChainResult = ChainOk | ChainBreak;

export interface ChainAnchor {
  readonly seq: number; // last entry already verified (e.g. acknowledged by the register)
  readonly hash: string;
}

function broken(
  index: number,
  seq: number | null,
  problem: ChainProblem,
  message: string,
): ChainBreak {
  return { ok: false, index, seq, problem, message };
}

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

function checkEntry(
  entry: JournalEntry,
  index: number,
  prev: ChainAnchor,
  source: string,
): ChainBreak | null {
  if (entry.source !== source) {
    return broken(
      index,
      entry.seq,
      'source-mismatch',
      `entry ${index} is from ${entry.source}, not ${source}`,
    );
  }
  if (entry.seq !== prev.seq + 1) {
    return broken(
      index,
      entry.seq,
      'seq-gap',
      `entry ${index} has seq ${entry.seq}, expected ${prev.seq + 1}`,
    );
  }
  if (entry.prevHash !== prev.hash) {
    const message = `seq ${entry.seq} prevHash ${short(entry.prevHash)} is not the hash of seq ${prev.seq} ${short(prev.hash)}`;
    return broken(index, entry.seq, 'prev-hash-mismatch', message);
  }
  const actual = hashEntry(entry);
  if (actual !== entry.hash) {
    return broken(
      index,
      entry.seq,
      'hash-mismatch',
      `seq ${entry.seq} hashes to ${short(actual)}, not ${short(entry.hash)}`,
    );
  }
  return null;
}

/** The first entry that breaks the chain, or null. */
function firstEntryBreak(
  entries: readonly JournalEntry[],
  start: ChainAnchor,
  source: string,
): ChainBreak | null {
  let prev = start;
  for (const [index, entry] of entries.entries()) {
    const problem = checkEntry(entry, index, prev, source);
    if (problem) return problem;
    prev = { seq: entry.seq, hash: entry.hash };
  }
  return null;
}

/** Checks one head against the (already verified) entries; null when it is valid. */
function headBreak(
  head: SignedHead,
  entries: readonly JournalEntry[],
  publicKey: KeyObject,
  source: string,
  firstSeq: number,
): ChainBreak | null {
  const index = head.seq - firstSeq;
  const entry = entries[index];
  if (head.source !== source || !entry) {
    const at = Math.min(Math.max(index, 0), entries.length);
    return broken(
      at,
      head.seq,
      'head-out-of-range',
      `head for ${head.source} seq ${head.seq} names no entry of this run`,
    );
  }
  if (!verifyHead(head, publicKey)) {
    return broken(
      index,
      head.seq,
      'head-bad-signature',
      `head at seq ${head.seq} has a signature that does not verify`,
    );
  }
  if (head.hash !== entry.hash) {
    const message = `head at seq ${head.seq} vouches for ${short(head.hash)}, the entry has ${short(entry.hash)}`;
    return broken(index, head.seq, 'head-hash-mismatch', message);
  }
  return null;
}

/**
 * Verifies `entries` (one source, ascending seq, starting at seq 1 or right
 * after `anchor`) and `heads` (signed by `publicKey`, Ed25519 or ECDSA P-256).
 * Returns the first broken position, or how far the run is vouched for by a
 * valid head. Throws `journal-key-unsupported` for any other key type.
 */
export function verifyChain(
  entries: readonly JournalEntry[],
  heads: readonly SignedHead[],
  publicKey: KeyObject,
  anchor?: ChainAnchor,
): ChainResult {
  headKeyKind(publicKey);
  const first = entries[0];
  if (!first) return broken(0, null, 'empty', 'no entries to verify');
  const start = anchor ?? (first.seq === 1 ? { seq: 0, hash: GENESIS_HASH } : null);
  if (!start)
    return broken(0, first.seq, 'no-anchor', `run starts at seq ${first.seq} without an anchor`);
  const entryBreak = firstEntryBreak(entries, start, first.source);
  const verified = entryBreak ? entries.slice(0, entryBreak.index) : entries;
  let earliest: ChainBreak | null = entryBreak;
  let vouched: number | null = null;
  for (const head of heads) {
    // Heads past an entry break cannot be judged: the break is reported instead.
    if (entryBreak && head.seq - first.seq >= entryBreak.index) continue;
    const problem = headBreak(head, verified, publicKey, first.source, first.seq);
    if (problem && (!earliest || problem.index < earliest.index)) earliest = problem;
    if (!problem) vouched = Math.max(vouched ?? 0, head.seq);
  }
  if (earliest) return earliest;
  const last = entries[entries.length - 1] ?? first;
  return { ok: true, vouchedThroughSeq: vouched, lastSeq: last.seq, lastHash: last.hash };
}
