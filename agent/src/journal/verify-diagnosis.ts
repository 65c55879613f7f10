/**
 * Words for a broken link, once, after the walk stopped: a prev-hash mismatch
 * is either an entry replaced and re-hashed, or entries stored out of order
 * (rows swapped). Out of order is recognised when the entry that should come
 * next (the one whose prevHash is the last good hash) sits at another seq.
 * This scan runs only on failure, so the walk itself stays one pass.
 */
import type Database from 'better-sqlite3';
import type { JournalBreak } from './verify-report.js';

export function diagnoseLink(
  db: Database.Database,
  problem: JournalBreak,
  lastGoodHash: Buffer,
): JournalBreak {
  if (problem.problem !== 'prev-hash-mismatch') return problem;
  const misplaced = db
    .prepare<[Buffer, number], number>(
      'SELECT seq FROM entries WHERE prev_hash = ? AND seq <> ? ORDER BY seq LIMIT 1',
    )
    .pluck()
    .get(lastGoodHash, problem.seq);
  if (misplaced === undefined) {
    return { ...problem, what: 'broken link (an entry was replaced and re-hashed)' };
  }
  return {
    ...problem,
    what: 'entries reordered',
    message: `${problem.message}; the entry that follows seq ${problem.seq - 1} is stored at seq ${misplaced}`,
  };
}
