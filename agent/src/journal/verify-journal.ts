/**
 * Verifies a journal file without ever writing to it: entries are streamed in
 * seq order, page by page (bounded memory whatever the size), each checked
 * with one hash against its predecessor, and every stored signed head (the
 * milestones and the current head) with one signature check. Stops at the
 * FIRST broken position, as the protocol's verifyChain does, with the same
 * order of checks: source, seq, prevHash, own hash, then the head at that seq.
 */
import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH } from '../../../protocol/src/journal-entry.js';
import { headKeyKind, verifyHead } from '../../../protocol/src/journal-head.js';
import { EntryHasher } from '../../../protocol/src/entry-hasher.js';
import { openReadonlyDatabase } from './journal-database.js';
import {
  ENTRY_COLUMNS,
  HEAD_COLUMNS,
  rowToHead,
  type EntryRow,
  type HeadRow,
} from '../../../protocol/src/journal-rows.js';
import type { JournalBreak, JournalProblem, JournalVerifyReport } from './verify-report.js';
import { diagnoseLink } from './verify-diagnosis.js';

/** Rows per page: big enough to amortise the query, small enough for a box's memory. */
export const VERIFY_PAGE_ROWS = 4096;

const GENESIS = Buffer.from(GENESIS_HASH, 'hex');
const short = (hash: Buffer): string => `${hash.toString('hex').slice(0, 12)}…`;

interface WalkState {
  source: string | null;
  prevSeq: number;
  prevHash: Buffer;
  verified: number;
  headsChecked: number;
  vouched: number | null;
}

/** Opens `file` read-only, verifies it, closes it. */
export function verifyJournalFile(file: string, publicKey: KeyObject): JournalVerifyReport {
  headKeyKind(publicKey);
  const db = openReadonlyDatabase(file);
  try {
    return verifyJournalDatabase(db, file, publicKey);
  } finally {
    db.close();
  }
}

/**
 * Verifies inside one read transaction: heads and every page come from the same
 * snapshot, so a journal the agent is appending to meanwhile verifies as it was
 * when the walk began (no false "head missing" for entries newer than the head).
 */
export function verifyJournalDatabase(
  db: Database.Database,
  file: string,
  publicKey: KeyObject,
): JournalVerifyReport {
  return db.transaction(() => walk(db, file, publicKey))();
}

function walk(db: Database.Database, file: string, publicKey: KeyObject): JournalVerifyReport {
  const heads = storedHeads(db);
  const state: WalkState = {
    source: null,
    prevSeq: 0,
    prevHash: GENESIS,
    verified: 0,
    headsChecked: 0,
    vouched: null,
  };
  const page = db
    .prepare<[number, number], EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
    .raw(true);
  const hasher = new EntryHasher();
  let nextHead = 0;
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = page.all(after, VERIFY_PAGE_ROWS);
    for (const row of rows) {
      const problem =
        checkRow(row, state, hasher) ?? checkHeadsAt(row, heads, nextHead, state, publicKey);
      if (problem) return report(file, state, diagnoseLink(db, problem, state.prevHash));
      while (nextHead < heads.length && (heads[nextHead]?.[0] ?? 0) <= row[0]) nextHead++;
      state.prevSeq = row[0];
      state.prevHash = row[7];
      state.verified++;
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < VERIFY_PAGE_ROWS) break;
    after = last[0];
  }
  return report(file, state, tailProblem(heads, nextHead, state));
}

/** Milestone heads and the current head, by seq; the current head once if it is also a milestone. */
function storedHeads(db: Database.Database): HeadRow[] {
  const milestones = db
    .prepare<[], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM heads ORDER BY seq`)
    .raw(true)
    .all();
  const current = db
    .prepare<[], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM current_head`)
    .raw(true)
    .all();
  const same = (a: HeadRow, b: HeadRow): boolean =>
    a[0] === b[0] && a[1] === b[1] && a[2].equals(b[2]) && a[3].equals(b[3]);
  const extra = current.filter((c) => !milestones.some((m) => same(m, c)));
  return [...milestones, ...extra].sort((a, b) => a[0] - b[0]);
}

function broken(seq: number, problem: JournalProblem, what: string, message: string): JournalBreak {
  return { seq, problem, what, message };
}

function isHash(value: unknown): value is Buffer {
  return Buffer.isBuffer(value) && value.length === 32;
}

function checkRow(row: EntryRow, state: WalkState, hasher: EntryHasher): JournalBreak | null {
  const [seq, source, time, bootId, type, data, prevHash, hash] = row;
  const expected = state.prevSeq + 1;
  if (
    !Number.isSafeInteger(seq) ||
    ![source, time, bootId, type, data].every((v) => typeof v === 'string') ||
    !isHash(prevHash) ||
    !isHash(hash)
  ) {
    return broken(
      Number.isSafeInteger(seq) ? seq : expected,
      'entry-malformed',
      'entry malformed',
      `the row after seq ${state.prevSeq} has a field of the wrong kind`,
    );
  }
  state.source ??= source;
  if (source !== state.source) {
    const message = `seq ${seq} is from ${source}, the journal is from ${state.source}`;
    return broken(seq, 'source-mismatch', 'entry from another box', message);
  }
  if (seq !== expected) {
    const message = `seq ${seq} follows seq ${state.prevSeq}: ${seq - expected} entr${seq - expected === 1 ? 'y' : 'ies'} missing from seq ${expected}`;
    return broken(expected, 'seq-gap', 'entry removed', message);
  }
  if (!prevHash.equals(state.prevHash)) {
    const message = `seq ${seq} prevHash ${short(prevHash)} is not the hash of seq ${state.prevSeq} ${short(state.prevHash)}`;
    return broken(seq, 'prev-hash-mismatch', 'broken link', message);
  }
  const actual = hasher.hash(source, seq, time, bootId, type, data, prevHash);
  if (!actual.equals(hash)) {
    const message = `seq ${seq} hashes to ${short(actual)}, its stored hash is ${short(hash)}`;
    return broken(seq, 'hash-mismatch', 'entry edited', message);
  }
  return null;
}

/** Checks every stored head that names `row`'s seq (or a seq skipped before it). */
function checkHeadsAt(
  row: EntryRow,
  heads: readonly HeadRow[],
  from: number,
  state: WalkState,
  publicKey: KeyObject,
): JournalBreak | null {
  for (let i = from; i < heads.length; i++) {
    const head = heads[i];
    if (!head || head[0] > row[0]) break;
    if (head[0] < row[0] || head[1] !== state.source) {
      const message = `a signed head names ${head[1]} seq ${head[0]}, which is not an entry of this journal`;
      return broken(head[0], 'head-out-of-range', 'head for a missing entry', message);
    }
    state.headsChecked++;
    const signed =
      isHash(head[2]) && Buffer.isBuffer(head[3]) && verifyHead(rowToHead(head), publicKey);
    if (!signed) {
      const message = `the head at seq ${head[0]} does not verify with the box's public key`;
      return broken(
        head[0],
        'head-bad-signature',
        'bad head signature (re-signed with another key, or altered)',
        message,
      );
    }
    if (!head[2].equals(row[7])) {
      const message = `the signed head at seq ${head[0]} vouches for ${short(head[2])}, the entry has ${short(row[7])}`;
      return broken(head[0], 'head-hash-mismatch', 'chain re-hashed after signing', message);
    }
    state.vouched = head[0];
  }
  return null;
}

/** After the last entry: heads past the end, or entries no head vouches for. */
function tailProblem(
  heads: readonly HeadRow[],
  next: number,
  state: WalkState,
): JournalBreak | null {
  const beyond = heads[next];
  if (beyond) {
    const message = `a signed head names seq ${beyond[0]}, the journal ends at seq ${state.prevSeq}`;
    return broken(state.prevSeq + 1, 'head-out-of-range', 'entries removed from the end', message);
  }
  if (state.verified > 0 && state.vouched !== state.prevSeq) {
    const from = (state.vouched ?? 0) + 1;
    const message = `entries from seq ${from} to ${state.prevSeq} are covered by no signed head`;
    return broken(from, 'head-missing', 'unsigned entries (head missing)', message);
  }
  return null;
}

function report(file: string, state: WalkState, problem: JournalBreak | null): JournalVerifyReport {
  return {
    ok: problem === null,
    file,
    source: state.source,
    entriesVerified: state.verified,
    lastSeq: state.verified > 0 ? state.prevSeq : null,
    lastHash: state.verified > 0 ? state.prevHash.toString('hex') : null,
    headsChecked: state.headsChecked,
    vouchedThroughSeq: state.vouched,
    break: problem,
  };
}
