/**
 * Re-checking the whole register file from its rows, trusting nothing the
 * store remembered: every box's chain (links, seq continuity, its signed heads)
 * with the protocol's verifyChain, and every stored checkpoint (signature, and
 * its root hash recomputed from the entries with merkleRoot). Each problem
 * names its position: source and seq for a chain, tree size for a checkpoint.
 */
import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { merkleRoot, verifyCheckpoint, type Checkpoint } from '../../../protocol/src/checkpoint.js';
import { verifyChain } from '../../../protocol/src/journal-chain.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import {
  ENTRY_COLUMNS,
  HEAD_COLUMNS,
  rowToEntry,
  rowToHead,
  type EntryRow,
  type HeadRow,
  type RegisterProblem,
} from './register-rows.js';

export interface SourceSummary {
  readonly source: string;
  readonly entries: number;
  readonly lastSeq: number | null;
  /** Highest seq vouched for by a valid box-signed head, null if none. */
  readonly vouchedThroughSeq: number | null;
}

export interface RegisterVerifyReport {
  readonly ok: boolean;
  readonly sources: readonly SourceSummary[];
  readonly checkpoints: number;
  readonly problems: readonly RegisterProblem[];
}

/** The box certificate key of a source, or undefined when the register knows none. */
export type BoxKeyLookup = (source: string) => KeyObject | undefined;

type CheckpointRow = [treeSize: number, rootHash: Buffer, time: string, kid: string, sig: Buffer];

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

function readEntries(
  db: Database.Database,
  source: string,
): { entries: JournalEntry[]; problem: RegisterProblem | null } {
  const rows = db
    .prepare<[string], EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE source = ? ORDER BY seq`,
    )
    .raw()
    .all(source);
  const entries: JournalEntry[] = [];
  for (const row of rows) {
    try {
      entries.push(rowToEntry(row));
    } catch (err) {
      const message = `seq ${row[0]} has data that is not JSON: ${String(err)}`;
      return { entries, problem: { source, seq: row[0], reason: 'hash-mismatch', message } };
    }
  }
  return { entries, problem: null };
}

function verifySource(
  db: Database.Database,
  source: string,
  boxKey: KeyObject | undefined,
): { summary: SourceSummary; problem: RegisterProblem | null } {
  const { entries, problem: unreadable } = readEntries(db, source);
  const heads = db
    .prepare<[string], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM heads WHERE source = ? ORDER BY seq`)
    .raw()
    .all(source)
    .map(rowToHead);
  const lastSeq = entries[entries.length - 1]?.seq ?? null;
  const summary = { source, entries: entries.length, lastSeq, vouchedThroughSeq: null };
  if (!boxKey) {
    const message = `no certificate key known for ${source}: its heads cannot be checked`;
    return { summary, problem: { source, seq: null, reason: 'box-key-unknown', message } };
  }
  const result = verifyChain(entries, heads, boxKey);
  if (!result.ok) {
    // A row unreadable before the first chain break is the earlier position.
    const chain = { source, seq: result.seq, reason: result.problem, message: result.message };
    const first =
      unreadable && (result.seq === null || (unreadable.seq ?? 0) <= result.seq)
        ? unreadable
        : chain;
    return { summary, problem: first };
  }
  if (unreadable) return { summary, problem: unreadable };
  return { summary: { ...summary, vouchedThroughSeq: result.vouchedThroughSeq }, problem: null };
}

function verifyCheckpoints(
  db: Database.Database,
  registerKey: KeyObject,
): { count: number; problems: RegisterProblem[] } {
  const leaves = db.prepare<[], Buffer>('SELECT hash FROM entries ORDER BY leaf').pluck().all();
  const checkpoints = db
    .prepare<[], CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY tree_size`)
    .raw()
    .all()
    .map(rowToCheckpoint);
  const problems: RegisterProblem[] = [];
  const at = (c: Checkpoint, reason: RegisterProblem['reason'], message: string): void => {
    problems.push({
      source: null,
      seq: null,
      reason,
      message: `checkpoint ${c.treeSize}: ${message}`,
    });
  };
  for (const c of checkpoints) {
    if (!verifyCheckpoint(c, registerKey))
      at(c, 'checkpoint-bad-signature', 'signature does not verify');
    if (c.treeSize > leaves.length) {
      at(
        c,
        'checkpoint-size-exceeds',
        `covers ${c.treeSize} entries, the file holds ${leaves.length}`,
      );
      continue;
    }
    const root = merkleRoot(leaves.slice(0, c.treeSize)).toString('hex');
    if (root !== c.rootHash)
      at(c, 'checkpoint-root-mismatch', `entries give root ${root.slice(0, 12)}…`);
  }
  return { count: checkpoints.length, problems };
}

/** Re-checks every chain and checkpoint in `db`; reads only. */
export function verifyRegister(
  db: Database.Database,
  boxKeys: BoxKeyLookup,
  registerPublicKey: KeyObject,
): RegisterVerifyReport {
  const sources = db
    .prepare<[], string>('SELECT DISTINCT source FROM entries ORDER BY source')
    .pluck()
    .all();
  const summaries: SourceSummary[] = [];
  const problems: RegisterProblem[] = [];
  for (const source of sources) {
    const { summary, problem } = verifySource(db, source, boxKeys(source));
    summaries.push(summary);
    if (problem) problems.push(problem);
  }
  const checkpoints = verifyCheckpoints(db, registerPublicKey);
  problems.push(...checkpoints.problems);
  return {
    ok: problems.length === 0,
    sources: summaries,
    checkpoints: checkpoints.count,
    problems,
  };
}
