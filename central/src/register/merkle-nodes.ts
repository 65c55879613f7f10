/**
 * The register's Merkle tree kept as it grows (RFC 9162 §2.1, checkpoint.ts):
 * every complete subtree of 2^STORED_MIN_LEVEL leaves or more is hashed once,
 * at ingest, and stored (merkle_nodes). A checkpoint's root and any proof of
 * protocol/src/merkle-consistency.ts then cost O(log n) lookups of those
 * nodes, plus at most 2^STORED_MIN_LEVEL - 1 leaves for the small subtrees
 * that are not stored (they would double the rows for little gain).
 *
 * The frontier (compact range) is the right edge of the tree: one complete
 * subtree per set bit of the size. Appending a leaf merges equal levels, and
 * each merge is a new complete subtree to store. verifyAll recomputes the same
 * frontier from the entries and compares.
 */
import { hash } from 'node:crypto';
import { merkleRoot } from '../../../protocol/src/checkpoint.js';
import {
  EMPTY_ROOT,
  rangeSubtrees,
  subtreeLeaves,
  type SubtreeId,
} from '../../../protocol/src/merkle-consistency.js';

/** Subtrees of 16 leaves and more are stored; smaller ones are recomputed from <= 15 leaves. */
export const STORED_MIN_LEVEL = 4;

export interface MerkleNode extends SubtreeId {
  readonly hash: Buffer;
}

/**
 * The RFC 9162 leaf and node hashes with one-shot SHA-256 over a reused buffer
 * (hot paths), hashes held as 32-character binary (latin1) strings: Node 20's
 * crypto.hash returns a string about four times faster than a Buffer (an
 * ArrayBuffer each), and three of them an entry were most of verifyAll.
 */
export class MerkleHasher {
  readonly #leaf = Buffer.alloc(33);
  readonly #node = Buffer.alloc(65, 1);

  /** HASH(0x00 || entryHash), entryHash being 32 bytes. */
  leaf(entryHash: Uint8Array): string {
    if (entryHash.length !== 32) throw new RangeError('a register leaf is a 32-byte entry hash');
    this.#leaf.set(entryHash, 1);
    return hash('sha256', this.#leaf, 'binary');
  }

  /** The same from the entry hash as 64 hex digits. */
  leafOfHex(entryHashHex: string): string {
    if (entryHashHex.length !== 64 || this.#leaf.write(entryHashHex, 1, 'hex') !== 32) {
      throw new RangeError('a register leaf is a 32-byte entry hash');
    }
    return hash('sha256', this.#leaf, 'binary');
  }

  /** HASH(0x01 || left || right), the three as binary (latin1) strings. */
  node(left: string, right: string): string {
    this.#node.write(left, 1, 'binary');
    this.#node.write(right, 33, 'binary');
    return hash('sha256', this.#node, 'binary');
  }
}

/** Sees each complete subtree an append completes that the node table stores (level >= STORED_MIN_LEVEL). */
export type OnNode = (level: number, index: number, hash: Buffer) => void;

/** The right edge of the tree over `size` leaves, appendable. */
export class MerkleFrontier {
  readonly #hasher = new MerkleHasher();
  /** Complete subtrees of the edge, highest level (leftmost) first: levels and binary hashes. */
  readonly #levels: number[];
  readonly #hashes: string[];
  #size: number;

  private constructor(size: number, levels: number[], hashes: string[]) {
    this.#size = size;
    this.#levels = levels;
    this.#hashes = hashes;
  }

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, [], []);
  }

  /** The subtrees whose hashes make the frontier of `size` leaves. */
  static plan(size: number): SubtreeId[] {
    return rangeSubtrees(0, size);
  }

  /** The frontier from the hashes of plan(size), in that order. */
  static of(size: number, hashes: readonly Buffer[]): MerkleFrontier {
    const plan = MerkleFrontier.plan(size);
    if (hashes.length !== plan.length) {
      throw new RangeError(`the frontier of ${size} leaves has ${plan.length} subtrees`);
    }
    if (!hashes.every((h) => h.length === 32)) throw new RangeError('a subtree hash is 32 bytes');
    return new MerkleFrontier(
      size,
      plan.map((id) => id.level),
      hashes.map((h) => h.toString('binary')),
    );
  }

  get size(): number {
    return this.#size;
  }

  /** Appends one leaf (an entry hash); `onNode` sees every stored subtree it completes. */
  append(entryHash: Uint8Array, onNode?: OnNode): void {
    this.#push(this.#hasher.leaf(entryHash), onNode);
  }

  /** append() from the entry hash as 64 hex digits (verifyAll reads hashes as hex). */
  appendHex(entryHashHex: string, onNode?: OnNode): void {
    this.#push(this.#hasher.leafOfHex(entryHashHex), onNode);
  }

  #push(leafHash: string, onNode: OnNode | undefined): void {
    const levels = this.#levels;
    const hashes = this.#hashes;
    const size = ++this.#size;
    let level = 0;
    let hash = leafHash;
    while (levels.length > 0 && levels[levels.length - 1] === level) {
      levels.pop();
      hash = this.#hasher.node(hashes.pop() as string, hash);
      level++;
      // The subtree of 2^level leaves ending at leaf size - 1.
      if (onNode && level >= STORED_MIN_LEVEL) {
        onNode(level, size / 2 ** level - 1, Buffer.from(hash, 'binary'));
      }
    }
    levels.push(level);
    hashes.push(hash);
  }

  /** MTH of the leaves so far: the edge folded from the right. */
  root(): Buffer {
    const hashes = this.#hashes;
    if (hashes.length === 0) return Buffer.from(EMPTY_ROOT);
    let acc = hashes[hashes.length - 1] as string;
    for (let i = hashes.length - 2; i >= 0; i--) acc = this.#hasher.node(hashes[i] as string, acc);
    return Buffer.from(acc, 'binary');
  }
}

/** What to read to give the hashes of some subtrees: stored nodes, and leaves for the small ones. */
export interface NodeFetch {
  /** Subtrees to read from the node table. */
  readonly stored: readonly SubtreeId[];
  /** Leaf numbers (0-based) whose entry hashes are needed. */
  readonly leaves: readonly number[];
}

export function nodeFetch(ids: readonly SubtreeId[]): NodeFetch {
  const stored: SubtreeId[] = [];
  const leaves: number[] = [];
  for (const id of ids) {
    if (id.level >= STORED_MIN_LEVEL) stored.push(id);
    else {
      const { first, end } = subtreeLeaves(id);
      for (let leaf = first; leaf < end; leaf++) leaves.push(leaf);
    }
  }
  return { stored, leaves };
}

export const nodeKey = (id: SubtreeId): string => `${id.level}/${id.index}`;

/**
 * The hashes of `ids`, in order, from what nodeFetch(ids) asked for. A missing
 * node or leaf means the tables were altered: `missing` names it.
 */
export function nodeHashes(
  ids: readonly SubtreeId[],
  storedByKey: ReadonlyMap<string, Buffer>,
  leafByNumber: ReadonlyMap<number, Buffer>,
  missing: (what: string) => Error,
): Buffer[] {
  return ids.map((id) => {
    if (id.level >= STORED_MIN_LEVEL) {
      const stored = storedByKey.get(nodeKey(id));
      if (!stored) throw missing(`Merkle node ${nodeKey(id)}`);
      return stored;
    }
    const { first, end } = subtreeLeaves(id);
    const leaves: Buffer[] = [];
    for (let leaf = first; leaf < end; leaf++) {
      const entryHash = leafByNumber.get(leaf);
      if (!entryHash) throw missing(`leaf ${leaf}`);
      leaves.push(entryHash);
    }
    return merkleRoot(leaves);
  });
}

/** How many nodes the table holds for a tree of `size` leaves. */
export function storedNodeCount(size: number): number {
  let count = 0;
  for (let level = STORED_MIN_LEVEL; 2 ** level <= size; level++) {
    count += Math.floor(size / 2 ** level);
  }
  return count;
}
