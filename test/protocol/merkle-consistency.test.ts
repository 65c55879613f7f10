import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { merkleRoot } from '../../protocol/src/checkpoint.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  maxProofLength,
  verifyConsistency,
  verifyInclusion,
} from '../../protocol/src/merkle-consistency.js';

const sha = (...parts: Buffer[]): Buffer =>
  createHash('sha256').update(Buffer.concat(parts)).digest();
const node = (l: Buffer, r: Buffer): Buffer => sha(Buffer.from([1]), l, r);
const entries = (n: number, salt = 0): Buffer[] =>
  Array.from({ length: n }, (_, i) => sha(Buffer.from(`entry ${salt} ${i}`)));

const leavesArb = (maxLength: number): fc.Arbitrary<Uint8Array[]> =>
  fc
    .integer({ min: 1, max: maxLength })
    .chain((n) =>
      fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: n, maxLength: n }),
    );

/** Every way of damaging a proof the tests expect to be caught. */
function tamperings(proof: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  proof.forEach((_, i) => {
    const flipped = proof.map((h) => Buffer.from(h));
    const target = flipped[i] as Buffer;
    target.writeUInt8(target.readUInt8(i % 32) ^ 1, i % 32);
    out.push(flipped);
  });
  if (proof.length > 0) {
    out.push(proof.slice(0, -1), proof.slice(1));
  }
  out.push([...proof, Buffer.alloc(32, 7)], [Buffer.alloc(32, 7), ...proof]);
  if (proof.length > 1) out.push([...proof].reverse());
  return out;
}

/** Roots of every prefix of `leaves`, index = prefix size. */
const prefixRoots = (leaves: readonly Uint8Array[]): Buffer[] =>
  Array.from({ length: leaves.length + 1 }, (_, n) => merkleRoot(leaves.slice(0, n)));

void t.test('matches the RFC 9162 §2.1.4.3 example tree of seven leaves', (t) => {
  const d = entries(7);
  const [a, b, c, dd, e, f, g] = d.map((x) => leafHash(x)) as [
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
  ];
  const k = node(a, b);
  const l = node(c, dd);
  const i = node(e, f);
  const j = g;
  t.ok(leafHash(d[0] as Buffer).equals(sha(Buffer.from([0]), d[0] as Buffer)));
  t.same(consistencyProof(d, 3, 7), [c, dd, node(a, b), node(i, j)]);
  t.same(consistencyProof(d, 4, 7), [node(i, j)]);
  t.same(consistencyProof(d, 6, 7), [i, j, node(k, l)]);
  t.same(consistencyProof(d, 7, 7), []);
  t.same(inclusionProof(d, 3, 7), [c, node(a, b), node(i, j)]);
  t.same(inclusionProof(d, 6, 7), [i, node(k, l)]);
  t.same(inclusionProof(d.slice(0, 1), 0, 1), []);
  t.end();
});

void t.test(
  'for random trees, every (m, n) proof verifies and no rewritten history or damaged proof does',
  (t) => {
    fc.assert(
      fc.property(leavesArb(200), fc.nat(), (leaves, pick) => {
        const size = leaves.length;
        const roots = prefixRoots(leaves);
        const rewrittenAt = pick % size;
        const forged = leaves.map((x, i) =>
          i === rewrittenAt ? Buffer.from(x).fill(x[0] === 0 ? 1 : 0, 0, 1) : x,
        );
        const forgedRoots = prefixRoots(forged);
        for (let n = 1; n <= size; n++) {
          const newRoot = roots[n] as Buffer;
          for (let m = 1; m <= n; m++) {
            const oldRoot = roots[m] as Buffer;
            const proof = consistencyProof(leaves, m, n);
            if (proof.length > maxProofLength(n)) return false;
            if (!verifyConsistency(m, n, oldRoot, newRoot, proof)) return false;
            if (m === n && proof.length !== 0) return false;
            if (m > rewrittenAt) {
              const forgedOld = forgedRoots[m] as Buffer;
              if (verifyConsistency(m, n, forgedOld, newRoot, proof)) return false;
              // The forger's own proof, against the honest new root (sampled: n = size).
              if (n === size) {
                const forgedProof = consistencyProof(forged, m, n);
                if (verifyConsistency(m, n, forgedOld, newRoot, forgedProof)) return false;
              }
            }
            for (const bad of tamperings(proof)) {
              if (verifyConsistency(m, n, oldRoot, newRoot, bad)) return false;
            }
            if (m < n && verifyConsistency(m + 1, n, oldRoot, newRoot, proof)) return false;
            if (m > 1 && verifyConsistency(m - 1, n, oldRoot, newRoot, proof)) return false;
          }
        }
        return true;
      }),
      { numRuns: 3 },
    );
    t.end();
  },
);

void t.test('equal sizes need an empty proof and equal roots', (t) => {
  const d = entries(5);
  const r = merkleRoot(d);
  const other = merkleRoot(entries(5, 1));
  t.ok(verifyConsistency(5, 5, r, r, []));
  t.notOk(verifyConsistency(5, 5, r, other, []));
  t.notOk(verifyConsistency(5, 5, r, r, [r]));
  t.end();
});

void t.test('an old size of 0 has an empty proof, consistent only from the empty root', (t) => {
  const d = entries(9);
  const r = merkleRoot(d);
  t.same(consistencyProof(d, 0, 9), []);
  t.same(consistencyProof([], 0, 0), []);
  t.ok(verifyConsistency(0, 9, merkleRoot([]), r, []));
  t.ok(verifyConsistency(0, 0, merkleRoot([]), merkleRoot([]), []));
  t.notOk(verifyConsistency(0, 9, r, r, []));
  t.notOk(verifyConsistency(0, 9, merkleRoot([]), r, [r]));
  t.end();
});

void t.test('verification answers false, never throws, on out-of-range or malformed input', (t) => {
  const d = entries(8);
  const r3 = merkleRoot(d.slice(0, 3));
  const r8 = merkleRoot(d);
  const proof = consistencyProof(d, 3, 8);
  t.ok(verifyConsistency(3, 8, r3, r8, proof));
  const sizes: unknown[] = [-1, 1.5, NaN, Infinity, 2 ** 53, '3', null, undefined];
  for (const bad of sizes) {
    t.notOk(verifyConsistency(bad as number, 8, r3, r8, proof), `old size ${String(bad)}`);
    t.notOk(verifyConsistency(3, bad as number, r3, r8, proof), `new size ${String(bad)}`);
    t.notOk(verifyInclusion(bad as number, 8, d[0] as Buffer, r8, []), `index ${String(bad)}`);
  }
  t.notOk(verifyConsistency(8, 3, r8, r3, proof), 'old size above new size');
  t.notOk(verifyConsistency(3, 8, r3.subarray(1), r8, proof), 'short old root');
  t.notOk(verifyConsistency(3, 8, r3, Buffer.concat([r8, r8]), proof), 'long new root');
  t.notOk(verifyConsistency(3, 8, r3, r8, [...proof.slice(0, -1), Buffer.alloc(31)]));
  t.notOk(verifyConsistency(3, 8, r3, r8, null as unknown as Buffer[]));
  t.notOk(verifyConsistency(3, 8, r3, r8, [null] as unknown as Buffer[]));
  t.notOk(verifyConsistency(3, 8, r3, r8, []), 'empty proof for different sizes');
  const huge = Array.from({ length: 10_000 }, () => r8);
  t.notOk(verifyConsistency(3, 8, r3, r8, huge), 'oversized proof refused');
  t.notOk(verifyConsistency(3, Number.MAX_SAFE_INTEGER, r3, r8, huge));
  t.notOk(verifyConsistency(2 ** 40, 2 ** 41 + 3, r3, r8, proof), 'huge sizes');
  t.notOk(verifyInclusion(8, 8, d[0] as Buffer, r8, []), 'index equal to size');
  t.notOk(verifyInclusion(0, 8, null as unknown as Buffer, r8, []));
  t.end();
});

void t.test('proof generation refuses impossible sizes', (t) => {
  const d = entries(4);
  t.throws(() => consistencyProof(d, 2, 5), RangeError);
  t.throws(() => consistencyProof(d, 3, 2), RangeError);
  t.throws(() => consistencyProof(d, -1, 2), RangeError);
  t.throws(() => inclusionProof(d, 4, 4), RangeError);
  t.throws(() => inclusionProof(d, 0, 5), RangeError);
  t.throws(() => inclusionProof([], 0, 0), RangeError);
  t.end();
});

void t.test(
  'for random trees, every leaf has an inclusion proof and no other leaf, index or damage passes',
  (t) => {
    fc.assert(
      fc.property(leavesArb(200), (leaves) => {
        const roots = prefixRoots(leaves);
        for (let n = 1; n <= leaves.length; n++) {
          const root = roots[n] as Buffer;
          for (let i = 0; i < n; i++) {
            const leaf = leaves[i] as Uint8Array;
            const proof = inclusionProof(leaves, i, n);
            if (proof.length > maxProofLength(n)) return false;
            if (!verifyInclusion(i, n, leaf, root, proof)) return false;
            if (verifyInclusion(i, n, Buffer.alloc(32, 0xee), root, proof)) return false;
            if (n > 1 && verifyInclusion((i + 1) % n, n, leaf, root, proof)) return false;
            for (const bad of tamperings(proof)) {
              if (verifyInclusion(i, n, leaf, root, bad)) return false;
            }
          }
        }
        return true;
      }),
      { numRuns: 2 },
    );
    t.end();
  },
);
