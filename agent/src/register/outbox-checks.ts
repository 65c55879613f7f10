/**
 * What the outbox decides on its own, without I/O: how a batch is closed (the
 * box signs a head only over a chain it has checked) and whether a register's
 * checkpoint may replace the one kept (signature, key id, RFC 9162
 * consistency with the kept one, inclusion of the entry just acknowledged).
 */
import type { KeyObject } from 'node:crypto';
import type { AlarmCode } from '../../../protocol/src/alarms.js';
import { encodeBase64url } from '../../../protocol/src/base64url.js';
import {
  CheckpointSchema,
  verifyCheckpoint,
  type Checkpoint,
} from '../../../protocol/src/checkpoint.js';
import { verifyChain, type ChainAnchor } from '../../../protocol/src/journal-chain.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import { signHead, verifyHead, type SignedHead } from '../../../protocol/src/journal-head.js';
import { verifyConsistency, verifyInclusion } from '../../../protocol/src/merkle-consistency.js';

export interface BatchKeys {
  readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface ClosedBatch {
  /** The entries to send, as read (never repaired: the register judges them). */
  readonly entries: readonly JournalEntry[];
  readonly head: SignedHead;
  /** A break the box found in its own journal (the register will refuse there too). */
  readonly localProblem: { seq: number | null; alarm: AlarmCode; message: string } | null;
}

const BAD_HEAD_ALARMS: Record<string, AlarmCode> = {
  'head-bad-signature': 'journal-head-bad-signature',
  'head-hash-mismatch': 'journal-hash-mismatch',
  'head-out-of-range': 'journal-hash-mismatch',
  'seq-gap': 'journal-gap',
};

/**
 * Closes a batch read from the journal after `anchor` (the register's Resume
 * or last Ack). The chain is checked with the protocol's verifyChain, and the
 * journal's own current head (signed at append time) with it:
 * - all good: a fresh head over the last entry, signed with the box key;
 * - the stored head does not verify: the batch goes closed by that head as
 *   stored, so the register refuses it (head-bad-signature) with its position;
 * - an entry breaks the chain: the entries up to the break go, closed by a
 *   fresh head over the last good one (or the stored head when there is
 *   none): the register refuses the break with its seq and keeps it as
 *   evidence. The box never signs over what it found broken.
 */
export function closeBatch(
  batch: readonly JournalEntry[],
  anchor: ChainAnchor,
  storedHead: SignedHead | null,
  keys: BatchKeys,
): ClosedBatch {
  const first = batch[0];
  const last = batch[batch.length - 1];
  if (!first || !last) throw new RangeError('closeBatch needs at least one entry');
  const sign = (e: JournalEntry): SignedHead =>
    signHead({ source: e.source, seq: e.seq, hash: e.hash }, keys.signingKey);
  const inBatch = storedHead !== null && storedHead.seq >= first.seq && storedHead.seq <= last.seq;
  const result = verifyChain(batch, inBatch ? [storedHead] : [], keys.publicKey, anchor);
  if (result.ok) {
    if (storedHead && !inBatch && !verifyHead(storedHead, keys.publicKey)) {
      const message = `the journal's head at seq ${storedHead.seq} does not verify with this box's key`;
      return {
        entries: batch,
        head: storedHead,
        localProblem: { seq: storedHead.seq, alarm: 'journal-head-bad-signature', message },
      };
    }
    return { entries: batch, head: sign(last), localProblem: null };
  }
  const alarm = BAD_HEAD_ALARMS[result.problem] ?? 'journal-hash-mismatch';
  const localProblem = { seq: result.seq, alarm, message: result.message };
  if (result.problem.startsWith('head-') && storedHead) {
    return { entries: batch, head: storedHead, localProblem };
  }
  const entries = batch.slice(0, Math.min(result.index + 1, batch.length));
  const good = result.index > 0 ? batch[result.index - 1] : undefined;
  const head = good
    ? sign(good)
    : (storedHead ?? {
        source: first.source,
        seq: first.seq,
        hash: first.hash,
        sig: encodeBase64url(Buffer.alloc(64)), // vouches for nothing: refused as such
      });
  return { entries, head, localProblem };
}

export type CheckpointVerdict =
  | { readonly ok: true; readonly checkpoint: Checkpoint }
  | {
      readonly ok: false;
      readonly alarm: 'register-checkpoint-invalid' | 'register-history-rewritten';
      readonly message: string;
    };

/**
 * May `received` (with its proof from `proofFromSize`) replace `kept`? Its
 * signature must verify under the pinned register key and kid, and its tree
 * must extend the kept one (RFC 9162 §2.1.4); with nothing kept, the first
 * valid checkpoint is trusted (as the register key is, at enrolment).
 */
export function judgeCheckpoint(
  received: unknown,
  proofFromSize: number,
  proof: readonly Buffer[],
  kept: Checkpoint | null,
  registerKey: { readonly key: KeyObject; readonly kid: string },
): CheckpointVerdict {
  const parsed = CheckpointSchema.safeParse(received);
  if (!parsed.success) {
    return { ok: false, alarm: 'register-checkpoint-invalid', message: 'not a checkpoint' };
  }
  const c = parsed.data;
  if (c.kid !== registerKey.kid || !verifyCheckpoint(c, registerKey.key)) {
    const message = `checkpoint of size ${c.treeSize} (kid ${c.kid}) does not verify under the register key ${registerKey.kid}`;
    return { ok: false, alarm: 'register-checkpoint-invalid', message };
  }
  if (!kept) return { ok: true, checkpoint: c };
  const rewritten = (why: string): CheckpointVerdict => ({
    ok: false,
    alarm: 'register-history-rewritten',
    message: `checkpoint of size ${c.treeSize} does not extend the kept one of size ${kept.treeSize}: ${why}`,
  });
  if (c.treeSize < kept.treeSize) return rewritten('the tree shrank');
  if (proofFromSize !== kept.treeSize) {
    return rewritten(`the proof starts from size ${proofFromSize}`);
  }
  const ok = verifyConsistency(
    kept.treeSize,
    c.treeSize,
    Buffer.from(kept.rootHash, 'hex'),
    Buffer.from(c.rootHash, 'hex'),
    proof,
  );
  return ok ? { ok: true, checkpoint: c } : rewritten('the consistency proof fails');
}

/** Where the register says the acknowledged entry sits in the checkpoint's tree (register-proto.ts). */
export interface ReceivedInclusion {
  /** The seq the proof is for (0: none sent). */
  readonly seq: number;
  readonly leafIndex: number;
  readonly proof: readonly Buffer[];
}

export type InclusionVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly alarm: 'register-entry-missing'; readonly message: string };

/**
 * Is the box's entry the register acknowledged (`acked`: its seq, and its
 * hash as the box's journal holds it) in the tree of `checkpoint` (already
 * judged by judgeCheckpoint)? RFC 9162 §2.1.3 with leaf data the 32-byte entry
 * hash, as checkpoint.ts's merkleRoot: an Ack the signed tree does not hold
 * is a register that kept a batch out of what it signs.
 */
export function judgeInclusion(
  checkpoint: Checkpoint,
  inclusion: ReceivedInclusion,
  acked: { readonly seq: number; readonly hash: string },
): InclusionVerdict {
  const missing = (why: string): InclusionVerdict => ({
    ok: false,
    alarm: 'register-entry-missing',
    message: `checkpoint of size ${checkpoint.treeSize} does not hold this box's acknowledged entry at seq ${acked.seq}: ${why}`,
  });
  if (inclusion.seq !== acked.seq) {
    return missing(`the inclusion proof is for seq ${inclusion.seq}`);
  }
  const leaf = Buffer.from(acked.hash, 'hex');
  const root = Buffer.from(checkpoint.rootHash, 'hex');
  const ok =
    leaf.length === 32 &&
    verifyInclusion(inclusion.leafIndex, checkpoint.treeSize, leaf, root, inclusion.proof);
  return ok ? { ok: true } : missing(`the inclusion proof at leaf ${inclusion.leafIndex} fails`);
}
