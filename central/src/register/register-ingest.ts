/**
 * What both register stores (SQLite and PostgreSQL) decide alike, whatever
 * holds the rows: the options they share, the refusal of a batch sent with a
 * key the register was never told about, the result of an ingest, the
 * checkpoint to sign for a tree size, and which proof an inclusion asks for.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import { signCheckpoint, type Checkpoint } from '../../../protocol/src/checkpoint.js';
import { inclusionPlan, type MerklePlan } from '../../../protocol/src/merkle-consistency.js';
import type { BatchVerdict, Refusal } from './register-judge.js';
import { EntryNotInTreeError, type IngestBatch, type IngestResult } from './register-port.js';
import type { Acked, RegisterProblem } from './register-rows.js';

/** What every backend needs besides where its rows live (register-factory.ts). */
export interface RegisterCommonOptions {
  /** The register's Ed25519 private key: it signs checkpoints (checkpoint.ts). */
  readonly registerKey: KeyObject;
  /** The key id written in every checkpoint. */
  readonly kid: string;
  readonly clocks: { wallNowMs(): number };
  readonly logger?: Logger;
}

export function checkRegisterKey(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new VigieError(
      'register-key-unsupported',
      `checkpoints are signed with Ed25519; this is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key`,
    );
  }
}

const spkiCache = new WeakMap<KeyObject, Buffer>();

/** DER SubjectPublicKeyInfo: how a key sits in `source_keys` (exported once per KeyObject). */
export function spkiOf(key: KeyObject): Buffer {
  let der = spkiCache.get(key);
  if (!der) {
    der = key.export({ type: 'spki', format: 'der' });
    spkiCache.set(key, der);
  }
  return der;
}

/**
 * A batch whose key is none of the source's remembered certificate keys:
 * nothing in it is judged (its heads could not be checked later). The ingest
 * service remembers the certificate (rememberSource) before each batch.
 */
export function unknownKeyRefusal(batch: IngestBatch): { raw: unknown; refusal: Refusal } {
  const spkiSha256 = createHash('sha256').update(spkiOf(batch.boxKey)).digest('hex');
  const message = `${batch.source} sent ${batch.entries.length} entries with a key the register does not know (SPKI SHA-256 ${spkiSha256.slice(0, 12)}…): remember its certificate first`;
  return {
    raw: { source: batch.source, boxKeySpkiSha256: spkiSha256, entries: batch.entries.length },
    refusal: { kind: 'refuse', seq: null, reason: 'box-key-unknown', message },
  };
}

/** The verdict of a batch refused whole (unknown key). */
export function refusedBatch(batch: IngestBatch, last: Acked | null): BatchVerdict {
  const whole = unknownKeyRefusal(batch);
  const sentHead = batch.head !== undefined && batch.head !== null;
  return {
    accepted: [],
    duplicates: 0,
    refused: [whole],
    head: sentHead ? whole.refusal : { kind: 'none' },
    lastAcked: last,
  };
}

export function ingestResult(
  source: string,
  verdict: BatchVerdict,
  headStored: boolean,
  logger: Logger | undefined,
): IngestResult {
  const problems: RegisterProblem[] = verdict.refused.map(({ refusal }) => ({
    source,
    seq: refusal.seq,
    reason: refusal.reason,
    message: refusal.message,
  }));
  for (const p of problems) {
    logger?.warn('register refused a journal entry or head', {
      source,
      seq: p.seq,
      reason: p.reason,
    });
  }
  const head =
    verdict.head.kind === 'accept'
      ? headStored
        ? 'stored'
        : 'known'
      : verdict.head.kind === 'refuse'
        ? 'refused'
        : 'none';
  return {
    accepted: verdict.accepted.length,
    duplicates: verdict.duplicates,
    lastAcked: verdict.lastAcked,
    head,
    problems,
  };
}

/** The checkpoint to sign for a tree of `treeSize` leaves whose root is `root`. */
export function newCheckpoint(
  treeSize: number,
  root: Buffer,
  options: RegisterCommonOptions,
): Checkpoint {
  return signCheckpoint(
    {
      treeSize,
      rootHash: root.toString('hex'),
      time: new Date(options.clocks.wallNowMs()).toISOString(),
      kid: options.kid,
    },
    options.registerKey,
  );
}

/** Wraps a storage failure as `register-unwritable` (a VigieError passes as it is). */
export function unwritable(what: string, where: string, err: unknown): VigieError {
  if (err instanceof VigieError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VigieError('register-unwritable', `cannot ${what} in ${where}: ${message}`, {
    cause: err,
  });
}

/** A register whose tables disagree with themselves (a node or a leaf missing). */
export function registerDamaged(where: string): (what: string) => VigieError {
  return (what) =>
    new VigieError('register-invalid', `${where}: ${what} is missing; run verifyAll`);
}

/**
 * The plan of inclusionProof(source, seq, treeSize), given the entry's leaf
 * (null: not stored) and the register's tree size `size`.
 */
export function inclusionOf(
  where: { source: string; seq: number; treeSize: number },
  leaf: number | null,
  size: number,
): { leafIndex: number; plan: MerklePlan } {
  const { source, seq, treeSize } = where;
  if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > size) {
    throw new RangeError(`tree size ${String(treeSize)} is not in 0..${size}`);
  }
  if (leaf === null || leaf >= treeSize) {
    throw new EntryNotInTreeError(
      `${source}'s entry at seq ${String(seq)} is not in the tree of size ${treeSize}`,
    );
  }
  return { leafIndex: leaf, plan: inclusionPlan(leaf, treeSize) };
}
