/**
 * Judging what a box sends, one entry or head at a time, against what the
 * register already holds. Pure: the store reads and writes, this decides.
 * The rules are the protocol's own: an entry's hash is hashEntry's (computed
 * by EntryHasher from the canonical JSON made once, byte-for-byte equal to
 * hashEntry by its property test), a link is verifyChain's (seq = last + 1,
 * prevHash = last hash, with its problem codes), a head is verifyHead's: the
 * register and `vigie journal verify` cannot disagree on what a chain is.
 */
import type { KeyObject } from 'node:crypto';
import { EntryHasher } from '../../../protocol/src/entry-hasher.js';
import { GENESIS_HASH, type JournalEntry } from '../../../protocol/src/journal-entry.js';
import { readJournalEntry } from '../../../protocol/src/journal-entry-reader.js';
import {
  SignedHeadSchema,
  verifyHead,
  type SignedHead,
} from '../../../protocol/src/journal-head.js';
import type { Acked, RegisterProblemCode } from './register-rows.js';

export interface Refusal {
  readonly kind: 'refuse';
  readonly seq: number | null;
  readonly reason: RegisterProblemCode;
  readonly message: string;
}

/** An entry to store, with the canonical JSON of its data as hashed (stored as is). */
export interface AcceptedEntry {
  readonly entry: JournalEntry;
  readonly dataJson: string;
}

export type EntryVerdict =
  ({ readonly kind: 'accept' } & AcceptedEntry) | { readonly kind: 'duplicate' } | Refusal;

export type HeadVerdict =
  { readonly kind: 'accept'; readonly head: SignedHead } | { readonly kind: 'none' } | Refusal;

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

function refuse(seq: number | null, reason: RegisterProblemCode, message: string): Refusal {
  return { kind: 'refuse', seq, reason, message };
}

/** The seq a received thing claims, if it claims one we can read. */
export function claimedSeq(raw: unknown): number | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const seq = (raw as { seq?: unknown }).seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : null;
}

export interface EntryContext {
  readonly source: string;
  /** The last accepted entry of this source, inside the ingest transaction. */
  readonly last: Acked | null;
  /** The stored hash at (source, seq), if any. */
  storedHash(seq: number): string | undefined;
  readonly hasher: EntryHasher;
}

/**
 * Order of the checks: shape, source, the entry's own hash, then (source, seq)
 * already stored (identical: duplicate; different: conflict), then the link to
 * the last accepted entry (gap or prevHash) through verifyChain.
 */
export function judgeEntry(raw: unknown, ctx: EntryContext): EntryVerdict {
  const read = readJournalEntry(raw);
  if (!read.ok) {
    const where = `${read.path}: ${read.message}`;
    return refuse(claimedSeq(raw), 'entry-malformed', `not a journal entry (${where})`);
  }
  const { entry, dataJson } = read;
  if (entry.source !== ctx.source) {
    const message = `seq ${entry.seq} is from ${entry.source}, sent by ${ctx.source}`;
    return refuse(entry.seq, 'source-mismatch', message);
  }
  // As hex: a string from crypto.hash costs a quarter of a Buffer (entry-hasher.ts).
  const actual = ctx.hasher.hashHex(
    entry.source,
    entry.seq,
    entry.time,
    entry.bootId,
    entry.type,
    dataJson,
    entry.prevHash,
  );
  if (actual !== entry.hash) {
    const message = `seq ${entry.seq} hashes to ${short(actual)}, not ${short(entry.hash)}`;
    return refuse(entry.seq, 'hash-mismatch', message);
  }
  const stored = ctx.storedHash(entry.seq);
  if (stored !== undefined) {
    if (stored === entry.hash) return { kind: 'duplicate' };
    const message = `seq ${entry.seq} is stored with hash ${short(stored)}; this one has ${short(entry.hash)}`;
    return refuse(entry.seq, 'seq-conflict', message);
  }
  // verifyChain's link rules and codes, the entry's own hash being checked above.
  const last = ctx.last ?? { seq: 0, hash: GENESIS_HASH };
  if (entry.seq !== last.seq + 1) {
    const message = `seq ${entry.seq} does not follow the last accepted seq ${last.seq}: expected ${last.seq + 1}`;
    return refuse(entry.seq, 'seq-gap', message);
  }
  if (entry.prevHash !== last.hash) {
    const message = `seq ${entry.seq} prevHash ${short(entry.prevHash)} is not the hash of seq ${last.seq} ${short(last.hash)}`;
    return refuse(entry.seq, 'prev-hash-mismatch', message);
  }
  return { kind: 'accept', entry, dataJson };
}

/** A head must name a stored entry of this source, carry its hash, and verify under the box key. */
export function judgeHead(
  raw: unknown,
  source: string,
  boxKey: KeyObject,
  storedHash: (seq: number) => string | undefined,
): HeadVerdict {
  if (raw === undefined || raw === null) return { kind: 'none' };
  const parsed = SignedHeadSchema.safeParse(raw);
  if (!parsed.success) return refuse(claimedSeq(raw), 'head-malformed', 'not a signed head');
  const head = parsed.data;
  if (head.source !== source) {
    const message = `head at seq ${head.seq} is for ${head.source}, sent by ${source}`;
    return refuse(head.seq, 'source-mismatch', message);
  }
  if (!verifyHead(head, boxKey)) {
    const message = `head at seq ${head.seq} has a signature that does not verify under the box key`;
    return refuse(head.seq, 'head-bad-signature', message);
  }
  const stored = storedHash(head.seq);
  if (stored === undefined) {
    const message = `head at seq ${head.seq} names no accepted entry`;
    return refuse(head.seq, 'head-out-of-range', message);
  }
  if (stored !== head.hash) {
    const message = `head at seq ${head.seq} vouches for ${short(head.hash)}, the entry has ${short(stored)}`;
    return refuse(head.seq, 'head-hash-mismatch', message);
  }
  return { kind: 'accept', head };
}

/** What a batch does to the register, decided before anything is written. */
export interface BatchVerdict {
  /** Entries to store, in seq order. */
  readonly accepted: readonly AcceptedEntry[];
  readonly duplicates: number;
  /** Refused entries and head, with what was received. */
  readonly refused: readonly { readonly raw: unknown; readonly refusal: Refusal }[];
  readonly head: HeadVerdict;
  readonly lastAcked: Acked | null;
}

/** Stable sort by claimed seq; what claims none stays first, to be judged malformed. */
export function sortBySeq(entries: readonly unknown[]): unknown[] {
  return [...entries].sort((a, b) => (claimedSeq(a) ?? -1) - (claimedSeq(b) ?? -1));
}

/** The seqs a batch claims (entries and head): what the store reads before judging. */
export function claimedSeqs(entries: readonly unknown[], head: unknown): number[] {
  const seqs = new Set<number>();
  for (const raw of [...entries, head]) {
    const seq = claimedSeq(raw);
    if (seq !== null) seqs.add(seq);
  }
  return [...seqs];
}

/**
 * Judges a whole batch (sorted by seq: transport may reorder) against the
 * source's last accepted entry and the stored hashes of the seqs it claims
 * (`stored`, hex). Pure: the stores read before and write after.
 */
export function judgeBatch(
  batch: { readonly source: string; readonly entries: readonly unknown[]; readonly head?: unknown },
  boxKey: KeyObject,
  last: Acked | null,
  stored: ReadonlyMap<number, string>,
): BatchVerdict {
  const known = new Map(stored);
  const storedHash = (seq: number): string | undefined => known.get(seq);
  const accepted: AcceptedEntry[] = [];
  const hasher = new EntryHasher();
  const refused: { raw: unknown; refusal: Refusal }[] = [];
  let duplicates = 0;
  let lastAcked = last;
  for (const raw of sortBySeq(batch.entries)) {
    const verdict = judgeEntry(raw, {
      source: batch.source,
      last: lastAcked,
      storedHash,
      hasher,
    });
    if (verdict.kind === 'duplicate') duplicates++;
    else if (verdict.kind === 'refuse') refused.push({ raw, refusal: verdict });
    else {
      accepted.push({ entry: verdict.entry, dataJson: verdict.dataJson });
      known.set(verdict.entry.seq, verdict.entry.hash);
      lastAcked = { seq: verdict.entry.seq, hash: verdict.entry.hash };
    }
  }
  const head = judgeHead(batch.head, batch.source, boxKey, storedHash);
  if (head.kind === 'refuse') {
    // Nothing the box has not vouched for is stored: a batch whose closing head is
    // refused stores none of its entries (they link, but no valid signature covers
    // them). The head is kept as evidence; the box resends once it signs a good head.
    const held =
      accepted.length > 0 ? ` (the batch's ${accepted.length} entries were not stored)` : '';
    const refusal = { ...head, message: `${head.message}${held}` };
    refused.push({ raw: batch.head, refusal });
    return { accepted: [], duplicates, refused, head: refusal, lastAcked: last };
  }
  return { accepted, duplicates, refused, head, lastAcked };
}
