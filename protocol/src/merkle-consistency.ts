/**
 * RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs over the
 * register's Merkle tree (checkpoint.ts). Subtree hashes come from
 * `merkleRoot` itself; the only hash written here is the interior node
 * HASH(0x01 || left || right) the verification algorithms need, checked
 * against `merkleRoot` by the tests.
 *
 * Proof generation throws a RangeError on sizes that make no sense (a caller
 * bug); verification never throws and answers false to anything malformed.
 */
import { createHash } from 'node:crypto';
import { merkleRoot } from './checkpoint.js';

export const MERKLE_HASH_BYTES = 32;

/** MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1). */
const EMPTY_ROOT = merkleRoot([]);

/** HASH(0x00 || leaf), taken from merkleRoot so it cannot drift. */
export function leafHash(leaf: Uint8Array): Buffer {
  return merkleRoot([leaf]);
}

/** HASH(0x01 || left || right), RFC 9162 §2.1.1. */
function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
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

function checkedPrefix(leaves: readonly Uint8Array[], n: number): readonly Uint8Array[] {
  if (!isSize(n) || n > leaves.length) {
    throw new RangeError(`tree size ${String(n)} is not in 0..${leaves.length}`);
  }
  return leaves.slice(0, n);
}

/**
 * PROOF(m, D[n]) of RFC 9162 §2.1.4.1 that the tree of the first `oldSize`
 * leaves is a prefix of the tree of the first `newSize` leaves. Empty when
 * oldSize is 0 or equal to newSize (nothing to prove).
 */
export function consistencyProof(
  leaves: readonly Uint8Array[],
  oldSize: number,
  newSize: number,
): Buffer[] {
  const d = checkedPrefix(leaves, newSize);
  if (!isSize(oldSize) || oldSize > newSize) {
    throw new RangeError(`old tree size ${String(oldSize)} is not in 0..${newSize}`);
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  return subproof(oldSize, d, true);
}

/** SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1. */
function subproof(m: number, d: readonly Uint8Array[], complete: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return complete ? [] : [merkleRoot(d)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(m, d.slice(0, k), complete), merkleRoot(d.slice(k))];
  return [...subproof(m - k, d.slice(k), false), merkleRoot(d.slice(0, k))];
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
  if (!isSize(index) || index >= treeSize) {
    throw new RangeError(`leaf index ${String(index)} is not in 0..${treeSize - 1}`);
  }
  return path(index, d);
}

function path(m: number, d: readonly Uint8Array[]): Buffer[] {
  const n = d.length;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...path(m, d.slice(0, k)), merkleRoot(d.slice(k))];
  return [...path(m - k, d.slice(k)), merkleRoot(d.slice(0, k))];
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
