import fc from 'fast-check';
import t from 'tap';
import {
  MerkleFrontier,
  nodeFetch,
  nodeHashes,
  nodeKey,
  STORED_MIN_LEVEL,
  storedNodeCount,
} from '../../central/src/register/merkle-nodes.js';
import { merkleRoot } from '../../protocol/src/checkpoint.js';
import {
  consistencyPlan,
  inclusionPlan,
  leafArrayOracle,
  rootPlan,
  runPlan,
  subtreeLeaves,
} from '../../protocol/src/merkle-consistency.js';

const leavesArb = fc
  .integer({ min: 0, max: 300 })
  .chain((n) =>
    fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: n, maxLength: n }),
  );

void t.test(
  'the frontier gives merkleRoot at every size and reports each stored subtree once, correct',
  (t) => {
    fc.assert(
      fc.property(leavesArb, fc.boolean(), (leaves, asHex) => {
        const frontier = MerkleFrontier.empty();
        const seen = new Set<string>();
        if (!frontier.root().equals(merkleRoot([]))) return false;
        for (const [i, leaf] of leaves.entries()) {
          let ok = true;
          const onNode = (level: number, index: number, hash: Buffer): void => {
            const key = nodeKey({ level, index });
            const { first, end } = subtreeLeaves({ level, index });
            ok &&=
              level >= STORED_MIN_LEVEL &&
              !seen.has(key) &&
              end === i + 1 &&
              hash.equals(merkleRoot(leaves.slice(first, end)));
            seen.add(key);
          };
          if (asHex) frontier.appendHex(Buffer.from(leaf).toString('hex'), onNode);
          else frontier.append(leaf, onNode);
          if (!ok || !frontier.root().equals(merkleRoot(leaves.slice(0, i + 1)))) return false;
        }
        return seen.size === storedNodeCount(leaves.length);
      }),
      { numRuns: 40 },
    );
    t.end();
  },
);

void t.test('a leaf that is not a 32-byte hash is refused, as bytes or as hex', (t) => {
  const frontier = MerkleFrontier.empty();
  t.throws(() => frontier.append(Buffer.alloc(31)), RangeError);
  t.throws(() => frontier.append(Buffer.alloc(33)), RangeError);
  for (const bad of ['', '0'.repeat(62), '0'.repeat(66), `${'0'.repeat(62)}zz`, 'Z'.repeat(64)]) {
    t.throws(() => frontier.appendHex(bad), RangeError, JSON.stringify(bad));
  }
  t.equal(frontier.size, 0, 'nothing appended');
  t.throws(() => MerkleFrontier.of(1, [Buffer.alloc(31)]), RangeError);
  t.end();
});

void t.test('a frontier rebuilt from its plan continues as the original', (t) => {
  fc.assert(
    fc.property(leavesArb, fc.nat(), (leaves, cut) => {
      const at = leaves.length === 0 ? 0 : cut % (leaves.length + 1);
      const oracle = leafArrayOracle(leaves);
      const rebuilt = MerkleFrontier.of(at, MerkleFrontier.plan(at).map(oracle));
      for (const leaf of leaves.slice(at)) rebuilt.append(leaf);
      return rebuilt.root().equals(merkleRoot(leaves));
    }),
    { numRuns: 60 },
  );
  t.end();
});

void t.test(
  'stored nodes plus the leaves below them answer every plan as the leaf-array oracle',
  (t) => {
    const leaves = Array.from({ length: 137 }, (_, i) => Buffer.alloc(32, i));
    const stored = new Map<string, Buffer>();
    const frontier = MerkleFrontier.empty();
    for (const leaf of leaves) {
      frontier.append(leaf, (level, index, hash) => stored.set(nodeKey({ level, index }), hash));
    }
    const byNumber = new Map(leaves.map((leaf, i) => [i, leaf]));
    const missing = (what: string): Error => new Error(what);
    const viaNodes = (plan: ReturnType<typeof rootPlan>): Buffer[] => {
      const fetch = nodeFetch(plan.subtrees);
      t.ok(fetch.leaves.length < 2 ** STORED_MIN_LEVEL * 2 * 8, 'few leaves read');
      return plan.assemble(nodeHashes(plan.subtrees, stored, byNumber, missing));
    };
    const oracle = leafArrayOracle(leaves);
    for (const n of [1, 15, 16, 17, 64, 100, 137]) {
      t.same(viaNodes(rootPlan(n)), [merkleRoot(leaves.slice(0, n))]);
      for (const m of [0, 1, 7, 16, 33, n]) {
        if (m <= n) t.same(viaNodes(consistencyPlan(m, n)), runPlan(consistencyPlan(m, n), oracle));
      }
      t.same(viaNodes(inclusionPlan(n - 1, n)), runPlan(inclusionPlan(n - 1, n), oracle));
    }
    t.throws(() => nodeHashes(rootPlan(137).subtrees, new Map(), byNumber, missing), /Merkle node/);
    t.end();
  },
);
