/**
 * Re-checking the whole register from its rows, trusting nothing the store
 * remembered, in one pass over the entries in leaf (ingestion) order, page by
 * page: memory holds one page, one state per source, the heads and the
 * checkpoints, never the entries.
 *
 * - every source's chain: seq continuity, prevHash links and each entry's own
 *   hash (EntryHasher: the protocol's hashEntry straight from the stored
 *   columns), in the order of checks of the protocol's verifyChain, and each
 *   stored head with ONE signature check under the source's stored keys;
 * - the Merkle tree: recomputed from the entries (MerkleFrontier), every
 *   stored node compared, every stored checkpoint's root and signature checked
 *   when the recount reaches its size.
 * Each problem names its position: source and seq for a chain (the first break
 * of that source), level/index for a node, tree size for a checkpoint.
 */
import type { KeyObject } from 'node:crypto';
import { EntryHasher } from '../../../protocol/src/entry-hasher.js';
import { verifyCheckpoint } from '../../../protocol/src/checkpoint.js';
import { GENESIS_HASH } from '../../../protocol/src/journal-entry.js';
import { verifyHead } from '../../../protocol/src/journal-head.js';
import type { SubtreeId } from '../../../protocol/src/merkle-consistency.js';
import { MerkleFrontier, nodeKey, storedNodeCount, type MerkleNode } from './merkle-nodes.js';
import {
  ENTRY_COLUMNS,
  rowToCheckpoint,
  rowToHead,
  type CheckpointRow,
  type EntryRow,
  type HeadRow,
  type RegisterProblem,
  type RegisterProblemCode,
} from './register-rows.js';

export interface SourceSummary {
  readonly source: string;
  readonly entries: number;
  readonly lastSeq: number | null;
  /** Highest seq vouched for by a valid source-signed head, null if none. */
  readonly vouchedThroughSeq: number | null;
}

export interface RegisterVerifyReport {
  readonly ok: boolean;
  /** Entries read and hashed. */
  readonly entries: number;
  /** Source-signed heads whose signature was checked (one check each). */
  readonly headsChecked: number;
  readonly sources: readonly SourceSummary[];
  readonly checkpoints: number;
  readonly problems: readonly RegisterProblem[];
}

/**
 * An entry row in leaf order as verification reads it: the leaf number
 * (0-based), then ENTRY_COLUMNS with the two hashes as ONE lowercase hex
 * text, prev_hash then hash (128 digits when both are 32 bytes). Hex, not
 * bytes: a driver makes a Buffer per BLOB (better-sqlite3: ~0.8 us each, half
 * the cost of reading a row), while the chain only compares them and its
 * hashes are computed as hex; one column, not two: a column read costs
 * ~0.2 us a row.
 */
export type LeafEntryRow = [
  leaf: number,
  seq: EntryRow[0],
  source: EntryRow[1],
  time: EntryRow[2],
  bootId: EntryRow[3],
  type: EntryRow[4],
  data: EntryRow[5],
  hashesHex: string,
];
/** LeafEntryRow's columns; `hex` is the backend's lowercase-hex expression of a BLOB. */
export function leafEntryColumns(hex: (blob: string) => string): string {
  const plain = ENTRY_COLUMNS.split(', ').slice(0, 6).join(', ');
  return `leaf, ${plain}, ${hex('prev_hash || hash')}`;
}
const HASHES_HEX = 128;

/** Rows per page: big enough to amortise a query, small enough for memory. */
export const VERIFY_PAGE_ROWS = 4096;
const PROGRESS_EVERY = 65_536;

/** What a backend gives the verification, all from one snapshot. */
export interface VerifySnapshot {
  /** Every key each source's certificates have had. */
  keys(): Promise<ReadonlyMap<string, readonly KeyObject[]>>;
  /** Every stored head, by source then seq. */
  heads(): Promise<readonly HeadRow[]>;
  /** Every stored checkpoint, by tree size. */
  checkpoints(): Promise<readonly CheckpointRow[]>;
  /** Up to `limit` entries with leaf > afterLeaf, by leaf. */
  page(afterLeaf: number, limit: number): Promise<readonly LeafEntryRow[]>;
  /** The stored hashes of these nodes (absent ones left out), by nodeKey. */
  nodes(ids: readonly SubtreeId[]): Promise<ReadonlyMap<string, Buffer>>;
  nodeCount(): Promise<number>;
}

interface SourceState {
  readonly source: string;
  readonly keys: readonly KeyObject[];
  readonly heads: readonly HeadRow[];
  nextHead: number;
  keyInUse: number;
  entries: number;
  prevSeq: number;
  /** The previous entry's hash, hex as rows carry it (and as it is hashed). */
  prevHash: string;
  /** The entry just checked, when good: its stored hash (hex) is the computed one. */
  lastHash: string | null;
  vouched: number | null;
  broken: boolean;
}

const shortHex = (hash: string): string => `${hash.slice(0, 12)}…`;
const HEX_HASH = /^[0-9a-f]{64}$/;
const ZERO_HASH_HEX = '0'.repeat(64);
/** A stored hash for the tree; a malformed one (tampered) counts as zeros. */
const treeHash = (hex: string): string => (HEX_HASH.test(hex) ? hex : ZERO_HASH_HEX);
const short = (hash: Buffer): string => `${hash.toString('hex').slice(0, 12)}…`;
const isHash = (value: unknown): value is Buffer => Buffer.isBuffer(value) && value.length === 32;

/** The one-pass check; a backend feeds it pages (verifyRegister). */
export class RegisterVerifier {
  readonly #hasher = new EntryHasher();
  readonly #frontier = MerkleFrontier.empty();
  readonly #states = new Map<string, SourceState>();
  readonly #headsBySource = new Map<string, HeadRow[]>();
  readonly #keys: ReadonlyMap<string, readonly KeyObject[]>;
  readonly #checkpoints: readonly CheckpointRow[];
  readonly #registerKey: KeyObject;
  readonly #problems: RegisterProblem[] = [];
  readonly #treeProblems: RegisterProblem[] = [];
  #nextCheckpoint = 0;
  /** The size at which the next stored checkpoint is checked. */
  #nextCheckpointSize = 0;
  #newNodes: MerkleNode[] = [];
  #nodeMismatches = 0;
  #leafProblem = false;
  #headsChecked = 0;

  constructor(
    keys: ReadonlyMap<string, readonly KeyObject[]>,
    heads: readonly HeadRow[],
    checkpoints: readonly CheckpointRow[],
    registerPublicKey: KeyObject,
  ) {
    this.#keys = keys;
    this.#checkpoints = checkpoints;
    this.#registerKey = registerPublicKey;
    for (const head of heads) {
      const list = this.#headsBySource.get(head[1]) ?? [];
      list.push(head);
      this.#headsBySource.set(head[1], list);
    }
    this.#checkpointsUpTo(0);
  }

  get entries(): number {
    return this.#frontier.size;
  }

  /** One entry row, in leaf order (fields by index: destructuring a row costs an iterator). */
  entry(row: LeafEntryRow): void {
    const leaf = row[0];
    const source = row[2];
    const hash = row[7].slice(64);
    if (leaf !== this.#frontier.size && !this.#leafProblem) {
      this.#leafProblem = true;
      this.#tree(
        'leaf-out-of-order',
        `tree size ${this.#frontier.size}: the next entry has leaf ${leaf} (${source} seq ${row[1]}): entries removed or moved`,
      );
    }
    const state = this.#states.get(source) ?? this.#state(source);
    state.entries++;
    if (!state.broken) this.#checkChain(state, row, hash);
    // A good entry's stored hash is the computed one: no need to check its form.
    this.#frontier.appendHex(state.lastHash === hash ? hash : treeHash(hash), this.#onNode);
    if (this.#frontier.size >= this.#nextCheckpointSize) this.#checkpointsUpTo(this.#frontier.size);
  }

  readonly #onNode = (level: number, index: number, hash: Buffer): void => {
    this.#newNodes.push({ level, index, hash });
  };

  /** The nodes the recount completed since the last call: compare them with the stored ones. */
  takeNodes(): MerkleNode[] {
    const nodes = this.#newNodes;
    this.#newNodes = [];
    return nodes;
  }

  checkNodes(nodes: readonly MerkleNode[], stored: ReadonlyMap<string, Buffer>): void {
    for (const node of nodes) {
      const hash = stored.get(nodeKey(node));
      if (hash?.equals(node.hash)) continue;
      if (this.#nodeMismatches++ === 0) {
        const what = hash
          ? `is ${short(hash)}, the entries give ${short(node.hash)}`
          : 'is missing';
        this.#tree('merkle-node-mismatch', `Merkle node ${nodeKey(node)} ${what}`);
      }
    }
  }

  finish(storedNodes: number): RegisterVerifyReport {
    const size = this.#frontier.size;
    if (storedNodes !== storedNodeCount(size) && this.#nodeMismatches === 0) {
      this.#tree(
        'merkle-node-mismatch',
        `the node table holds ${storedNodes} nodes, ${size} entries make ${storedNodeCount(size)}`,
      );
    }
    for (const c of this.#checkpoints.slice(this.#nextCheckpoint)) {
      this.#checkpointProblem(
        c,
        'checkpoint-size-exceeds',
        `covers ${c[0]} entries, the register holds ${size}`,
      );
    }
    for (const [source, heads] of this.#headsBySource) {
      if (!this.#states.has(source)) this.#state(source);
      const state = this.#states.get(source) as SourceState;
      const beyond = heads[state.nextHead];
      if (!state.broken && beyond) {
        const message = `a signed head names seq ${beyond[0]}, the chain ends at seq ${state.prevSeq}`;
        this.#break(state, beyond[0], 'head-out-of-range', message);
      }
    }
    const summaries = [...this.#states.values()]
      .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))
      .map((s) => ({
        source: s.source,
        entries: s.entries,
        lastSeq: s.entries > 0 ? s.prevSeq : null,
        vouchedThroughSeq: s.vouched,
      }));
    for (const s of summaries) {
      if (s.entries > 0 && (this.#keys.get(s.source)?.length ?? 0) === 0) {
        const message = `no certificate key known for ${s.source}: its heads cannot be checked`;
        this.#problems.push({ source: s.source, seq: null, reason: 'box-key-unknown', message });
      }
    }
    const problems = [
      ...this.#problems.sort((a, b) => ((a.source ?? '') < (b.source ?? '') ? -1 : 1)),
      ...this.#treeProblems,
    ];
    return {
      ok: problems.length === 0,
      entries: size,
      headsChecked: this.#headsChecked,
      sources: summaries,
      checkpoints: this.#checkpoints.length,
      problems,
    };
  }

  #state(source: string): SourceState {
    let state = this.#states.get(source);
    if (!state) {
      state = {
        source,
        keys: this.#keys.get(source) ?? [],
        heads: this.#headsBySource.get(source) ?? [],
        nextHead: 0,
        keyInUse: 0,
        entries: 0,
        prevSeq: 0,
        prevHash: GENESIS_HASH,
        lastHash: null,
        vouched: null,
        broken: false,
      };
      this.#states.set(source, state);
    }
    return state;
  }

  /**
   * verifyChain's order of checks: seq, prevHash, own hash, then the heads at
   * this seq. `hash`: the row's stored hash, hex (its hashes column's second half).
   */
  #checkChain(state: SourceState, row: LeafEntryRow, hash: string): void {
    const seq = row[1];
    const hashes = row[7];
    state.lastHash = null;
    if (hashes.length !== HASHES_HEX) {
      const message = `seq ${seq}: its stored prevHash and hash are ${hashes.length / 2} bytes together, not 64`;
      return this.#break(state, seq, 'entry-malformed', message);
    }
    const prevHash = hashes.slice(0, 64);
    if (seq !== state.prevSeq + 1) {
      const message = `seq ${seq} follows seq ${state.prevSeq}: expected ${state.prevSeq + 1}`;
      return this.#break(state, seq, 'seq-gap', message);
    }
    if (prevHash !== state.prevHash) {
      const message = `seq ${seq} prevHash is not the hash of seq ${state.prevSeq} ${shortHex(state.prevHash)}`;
      return this.#break(state, seq, 'prev-hash-mismatch', message);
    }
    const actual = this.#hasher.hashHex(row[2], seq, row[3], row[4], row[5], row[6], prevHash);
    if (actual !== hash) {
      const message = `seq ${seq} hashes to ${shortHex(actual)}, not its stored hash`;
      return this.#break(state, seq, 'hash-mismatch', message);
    }
    state.prevSeq = seq;
    state.prevHash = hash;
    state.lastHash = hash;
    this.#checkHeadsAt(state, seq, hash);
  }

  /** `hash`: the entry's, checked, as hex. */
  #checkHeadsAt(state: SourceState, seq: number, hash: string): void {
    for (let head = state.heads[state.nextHead]; head && head[0] <= seq;) {
      state.nextHead++;
      if (head[0] < seq) {
        return this.#break(
          state,
          head[0],
          'head-out-of-range',
          `a signed head names seq ${head[0]}, not an entry`,
        );
      }
      if (state.keys.length > 0) {
        this.#headsChecked++;
        if (!this.#headSigned(state, head)) {
          const message = `head at seq ${seq} does not verify under any key of ${state.source}`;
          return this.#break(state, seq, 'head-bad-signature', message);
        }
        if (head[2].toString('hex') !== hash) {
          const message = `head at seq ${seq} vouches for ${short(head[2])}, the entry has ${shortHex(hash)}`;
          return this.#break(state, seq, 'head-hash-mismatch', message);
        }
        state.vouched = seq;
      }
      head = state.heads[state.nextHead];
    }
  }

  /** One signature check: the key that verified the last head first (renewals are rare). */
  #headSigned(state: SourceState, row: HeadRow): boolean {
    if (!isHash(row[2]) || !Buffer.isBuffer(row[3])) return false;
    const head = rowToHead(row);
    const order = [state.keyInUse, ...state.keys.keys()].filter(
      (k, i, all) => all.indexOf(k) === i,
    );
    for (const k of order) {
      if (verifyHead(head, state.keys[k] as KeyObject)) {
        state.keyInUse = k;
        return true;
      }
    }
    return false;
  }

  #break(state: SourceState, seq: number, reason: RegisterProblemCode, message: string): void {
    state.broken = true;
    this.#problems.push({ source: state.source, seq, reason, message });
  }

  #tree(reason: RegisterProblemCode, message: string): void {
    this.#treeProblems.push({ source: null, seq: null, reason, message });
  }

  #checkpointsUpTo(size: number): void {
    for (let c = this.#checkpoints[this.#nextCheckpoint]; c && c[0] <= size;) {
      this.#nextCheckpoint++;
      const checkpoint = rowToCheckpoint(c);
      if (!verifyCheckpoint(checkpoint, this.#registerKey)) {
        this.#checkpointProblem(c, 'checkpoint-bad-signature', 'signature does not verify');
      }
      const root = this.#frontier.root();
      if (c[0] === size && !root.equals(c[1])) {
        this.#checkpointProblem(c, 'checkpoint-root-mismatch', `entries give root ${short(root)}`);
      }
      c = this.#checkpoints[this.#nextCheckpoint];
    }
    this.#nextCheckpointSize =
      this.#checkpoints[this.#nextCheckpoint]?.[0] ?? Number.POSITIVE_INFINITY;
  }

  #checkpointProblem(c: CheckpointRow, reason: RegisterProblemCode, message: string): void {
    this.#tree(reason, `checkpoint ${c[0]}: ${message}`);
  }
}

/** Re-checks everything `snapshot` holds; reads only. */
export async function verifyRegister(
  snapshot: VerifySnapshot,
  registerPublicKey: KeyObject,
  onProgress?: (checked: number) => void,
): Promise<RegisterVerifyReport> {
  const verifier = new RegisterVerifier(
    await snapshot.keys(),
    await snapshot.heads(),
    await snapshot.checkpoints(),
    registerPublicKey,
  );
  let reported = 0;
  // The next page is asked for before this one is checked: a database server
  // reads it while the hashing runs (two pages in memory at most).
  let next: Promise<readonly LeafEntryRow[]> | null = snapshot.page(-1, VERIFY_PAGE_ROWS);
  while (next) {
    const rows: readonly LeafEntryRow[] = await next;
    const last: LeafEntryRow | undefined = rows[rows.length - 1];
    next =
      last && rows.length === VERIFY_PAGE_ROWS ? snapshot.page(last[0], VERIFY_PAGE_ROWS) : null;
    // Awaited on the next turn; if a node read below fails first, its failure is the one reported.
    void next?.catch(() => undefined);
    for (const row of rows) verifier.entry(row);
    const nodes = verifier.takeNodes();
    if (nodes.length > 0) verifier.checkNodes(nodes, await snapshot.nodes(nodes));
    if (onProgress && verifier.entries - reported >= PROGRESS_EVERY) {
      reported = verifier.entries;
      onProgress(reported);
    }
  }
  onProgress?.(verifier.entries);
  return verifier.finish(await snapshot.nodeCount());
}
