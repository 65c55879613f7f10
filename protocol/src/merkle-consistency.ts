/**
 * RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs over the
 * register's Merkle tree (checkpoint.ts).
 *
 * One generator, two oracles. A proof is planned first: which complete
 * subtrees (level, index) it needs, and how their hashes combine (every
 * subtree of the RFC's tree is a run of complete subtrees, largest first).
 * Then an oracle gives those hashes: `merkleRoot` over a leaf array here (the
 * reference, exhaustively tested), or the register's stored node table
 * (central/src/register/merkle-nodes.ts: O(log n) lookups for any size).
 *
 * Proof generation throws a RangeError on sizes that make no sense (a caller
 * bug); verification never throws and answers false to anything malformed.
 */
import { createHash } from 'node:crypto';
import { merkleRoot } from './checkpoint.js';

export const MERKLE_HASH_BYTES = 32;

/** MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT = merkleRoot([]);

/** HASH(0x00 || leaf), taken from merkleRoot so it cannot drift. */
export function leafHash(leaf: Uint8Array): Buffer {
  return merkleRoot([leaf]);
}

/** HASH(0x01 || left || right), RFC 9162 §2.1.1. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);
const isPowerOfTwo = (x: number): boolean => x > 0 && 2 ** Math.round(Math.log2(x)) === x;

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === MERKLE_HASH_BYTES;
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/** Longest proof a tree of n leaves can need, with slack: 2*ceil(log2 n) + 2. */
export function maxProofLength(n: number): number {
  return 2 * Math.ceil(Math.log2(Math.max(n, 1))) + 2;
}

/** A complete subtree: the 2^level leaves from index * 2^level. */
export interface SubtreeId {
  readonly level: number;
  readonly index: number;
}

/** The complete subtrees a proof (or a root) needs, and how their hashes combine. */
export interface MerklePlan {
  readonly subtrees: readonly SubtreeId[];
  /** The proof from the subtrees' hashes, given in `subtrees` order. */
  assemble(hashes: readonly Uint8Array[]): Buffer[];
}

/** Leaves [start, end) of an RFC subtree as complete subtrees, largest (leftmost) first. */
export function rangeSubtrees(start: number, end: number): SubtreeId[] {
  const out: SubtreeId[] = [];
  let at = start;
  while (at < end) {
    let size = 1;
    while (size * 2 <= end - at) size *= 2;
    // In the RFC tree every such run starts aligned on its size (split points are powers of two).
    if (at % size !== 0) throw new RangeError(`leaves ${start}..${end} are not an RFC subtree`);
    out.push({ level: Math.log2(size), index: at / size });
    at += size;
  }
  return out;
}

/** Leaves in the subtree `id`: [first, end). */
export function subtreeLeaves(id: SubtreeId): { first: number; end: number } {
  const size = 2 ** id.level;
  return { first: id.index * size, end: (id.index + 1) * size };
}

/** MTH of a range from its complete subtrees' hashes: each one is the left child of the rest. */
function foldRange(hashes: readonly Uint8Array[]): Buffer {
  let at = hashes.length - 1;
  let acc: Buffer = Buffer.from(hashes[at] as Uint8Array);
  while (--at >= 0) acc = nodeHash(hashes[at] as Uint8Array, acc);
  return acc;
}

/** A plan whose every proof element is MTH of one range of leaves. */
function planOfRanges(ranges: readonly (readonly [number, number])[]): MerklePlan {
  const perRange = ranges.map(([a, b]) => rangeSubtrees(a, b));
  return {
    subtrees: perRange.flat(),
    assemble(hashes) {
      if (hashes.length !== perRange.reduce((n, r) => n + r.length, 0)) {
        throw new RangeError(`the plan needs ${perRange.flat().length} subtree hashes`);
      }
      let at = 0;
      return perRange.map((r) => foldRange(hashes.slice(at, (at += r.length))));
    },
  };
}

/** MTH(D[size]) as a plan: one element, the root (MTH({}) for size 0). */
export function rootPlan(size: number): MerklePlan {
  if (!isSize(size)) throw new RangeError(`tree size ${String(size)} is not a size`);
  if (size === 0) return { subtrees: [], assemble: () => [Buffer.from(EMPTY_ROOT)] };
  return planOfRanges([[0, size]]);
}

/**
 * PROOF(m, D[n]) of RFC 9162 §2.1.4.1 as a plan; empty when oldSize is 0 or
 * equal to newSize (nothing to prove).
 */
export function consistencyPlan(oldSize: number, newSize: number): MerklePlan {
  if (!isSize(newSize)) throw new RangeError(`tree size ${String(newSize)} is not a size`);
  if (!isSize(oldSize) || oldSize > newSize) {
    throw new RangeError(`old tree size ${String(oldSize)} is not in 0..${newSize}`);
  }
  if (oldSize === 0 || oldSize === newSize) return planOfRanges([]);
  return planOfRanges(subproofRanges(oldSize, 0, newSize, true));
}

/** SUBPROOF(m, D[start:end], b), RFC 9162 §2.1.4.1, as the ranges whose MTH it lists. */
function subproofRanges(
  m: number,
  start: number,
  end: number,
  complete: boolean,
): [number, number][] {
  const n = end - start;
  if (m === n) return complete ? [] : [[start, end]];
  const k = splitPoint(n);
  if (m <= k) return [...subproofRanges(m, start, start + k, complete), [start + k, end]];
  return [...subproofRanges(m - k, start + k, end, false), [start, start + k]];
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1 as a plan. */
export function inclusionPlan(index: number, treeSize: number): MerklePlan {
  if (!isSize(treeSize)) throw new RangeError(`tree size ${String(treeSize)} is not a size`);
  if (!isSize(index) || index >= treeSize) {
    throw new RangeError(`leaf index ${String(index)} is not in 0..${treeSize - 1}`);
  }
  return planOfRanges(pathRanges(index, 0, treeSize));
}

function pathRanges(m: number, start: number, end: number): [number, number][] {
  const n = end - start;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...pathRanges(m, start, start + k), [start + k, end]];
  return [...pathRanges(m - k, start + k, end), [start, start + k]];
}

/** The reference oracle: each complete subtree's hash is merkleRoot of its leaves. */
export function leafArrayOracle(leaves: readonly Uint8Array[]): (id: SubtreeId) => Buffer {
  return (id) => {
    const { first, end } = subtreeLeaves(id);
    if (end > leaves.length)
      throw new RangeError(`subtree ${id.level}/${id.index} is past the leaves`);
    return merkleRoot(leaves.slice(first, end));
  };
}

function checkedPrefix(leaves: readonly Uint8Array[], n: number): readonly Uint8Array[] {
  if (!isSize(n) || n > leaves.length) {
    throw new RangeError(`tree size ${String(n)} is not in 0..${leaves.length}`);
  }
  return leaves.slice(0, n);
}

/** Runs a plan with a synchronous oracle. */
export function runPlan(plan: MerklePlan, oracle: (id: SubtreeId) => Uint8Array): Buffer[] {
  return plan.assemble(plan.subtrees.map(oracle));
}

/** PROOF(m, D[n]) over the first `newSize` of `leaves` (the leaf-array oracle). */
export function consistencyProof(
  leaves: readonly Uint8Array[],
  oldSize: number,
  newSize: number,
): Buffer[] {
  const d = checkedPrefix(leaves, newSize);
  return runPlan(consistencyPlan(oldSize, newSize), leafArrayOracle(d));
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `oldSize` leaves with
 * root `oldRoot` is a prefix of the tree of `newSize` leaves with root
 * `newRoot`? Equal sizes need an empty proof and equal roots; oldSize 0 (for
 * which the RFC defines no proof) needs an empty proof and oldRoot = MTH({}).
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(oldSize) || !isSize(newSize) || oldSize > newSize) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof)) return false;
  if (proof.length > maxProofLength(newSize) || !proof.every(isHash)) return false;
  if (oldSize === 0) return proof.length === 0 && sameHash(oldRoot, EMPTY_ROOT);
  if (oldSize === newSize) return proof.length === 0 && sameHash(oldRoot, newRoot);
  // 1. An empty path fails. 2. A power-of-two first tree is its own first node.
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  // 3-4. fn, sn = first-1, second-1, right-shifted together while LSB(fn) is set.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr = sr = the first value.
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  // 6. Fold in every subsequent value.
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 7. Both roots rebuilt and the whole new tree covered.
  return sameHash(fr, oldRoot) && sameHash(sr, newRoot) && sn === 0;
}

/** PATH(m, D[n]) of RFC 9162 §2.1.3.1: audit path of leaf `index` in the first `treeSize` leaves. */
export function inclusionProof(
  leaves: readonly Uint8Array[],
  index: number,
  treeSize: number,
): Buffer[] {
  const d = checkedPrefix(leaves, treeSize);
  return runPlan(inclusionPlan(index, treeSize), leafArrayOracle(d));
}

/**
 * RFC 9162 §2.1.3.2: is `leaf` (leaf data, as given to merkleRoot, not its
 * hash) at `index` in the tree of `treeSize` leaves with root `root`?
 */
export function verifyInclusion(
  index: number,
  treeSize: number,
  leaf: Uint8Array,
  root: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(index) || !isSize(treeSize) || index >= treeSize) return false;
  if (!(leaf instanceof Uint8Array) || !isHash(root) || !Array.isArray(proof)) return false;
  if (proof.length > maxProofLength(treeSize) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Uint8Array = leafHash(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameHash(r, root);
}
