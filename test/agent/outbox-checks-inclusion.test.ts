/**
 * judgeInclusion (outbox-checks.ts), pure: the box keeps a register checkpoint
 * only if the entry the register just acknowledged is in its tree (RFC 9162
 * §2.1.3, leaf data the 32-byte entry hash). Every way a proof can fail is
 * a register-entry-missing verdict.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { judgeInclusion } from '../../agent/src/register/outbox-checks.js';
import { merkleRoot, signCheckpoint, type Checkpoint } from '../../protocol/src/checkpoint.js';
import { inclusionProof } from '../../protocol/src/merkle-consistency.js';

const registerKey = generateKeyPairSync('ed25519').privateKey;
const entryHash = (tag: string, i: number): Buffer =>
  createHash('sha256').update(`${tag}-${i}`).digest();
const leaves = Array.from({ length: 37 }, (_, i) => entryHash('entry', i));

function checkpointOver(tree: readonly Buffer[]): Checkpoint {
  return signCheckpoint(
    {
      treeSize: tree.length,
      rootHash: merkleRoot(tree).toString('hex'),
      time: '2026-11-29T10:00:00.000Z',
      kid: 'register-1',
    },
    registerKey,
  );
}

const checkpoint = checkpointOver(leaves);
/** The box's entry at seq 12 is leaf 20 of the register's tree. */
const acked = { seq: 12, hash: (leaves[20] as Buffer).toString('hex') };
const genuine = { seq: 12, leafIndex: 20, proof: inclusionProof(leaves, 20, leaves.length) };

t.test('a genuine proof of the acknowledged entry is accepted, for any leaf and size', (t) => {
  t.same(judgeInclusion(checkpoint, genuine, acked), { ok: true });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 37 }), fc.nat(), (size, pick) => {
      const leaf = pick % size;
      const tree = leaves.slice(0, size);
      const verdict = judgeInclusion(
        checkpointOver(tree),
        { seq: 5, leafIndex: leaf, proof: inclusionProof(tree, leaf, size) },
        { seq: 5, hash: (tree[leaf] as Buffer).toString('hex') },
      );
      return verdict.ok;
    }),
  );
  t.end();
});

const rejections: [string, Parameters<typeof judgeInclusion>][] = [
  ['a wrong leaf index', [checkpoint, { ...genuine, leafIndex: 21 }, acked]],
  ['a leaf index past the tree', [checkpoint, { ...genuine, leafIndex: 37 }, acked]],
  [
    'a tampered proof',
    [
      checkpoint,
      {
        ...genuine,
        proof: genuine.proof.map((p, i) => (i === 2 ? Buffer.from(p).fill(7, 0, 1) : p)),
      },
      acked,
    ],
  ],
  [
    'a proof with one hash missing',
    [checkpoint, { ...genuine, proof: genuine.proof.slice(1) }, acked],
  ],
  [
    'a proof with one hash too many',
    [checkpoint, { ...genuine, proof: [...genuine.proof, entryHash('x', 0)] }, acked],
  ],
  ['no proof at all', [checkpoint, { seq: 0, leafIndex: 0, proof: [] }, acked]],
  [
    'a genuine proof for another entry of the tree',
    [
      checkpoint,
      { seq: 12, leafIndex: 19, proof: inclusionProof(leaves, 19, leaves.length) },
      acked,
    ],
  ],
  ['a proof said to be for another seq', [checkpoint, { ...genuine, seq: 11 }, acked]],
  [
    'a proof of an entry that is not the one the box holds at that seq',
    [checkpoint, genuine, { seq: 12, hash: entryHash('forged', 12).toString('hex') }],
  ],
  [
    'a proof against another root (a tree that never held the entry)',
    [
      checkpointOver([...leaves.slice(0, 20), entryHash('other', 20), ...leaves.slice(21)]),
      genuine,
      acked,
    ],
  ],
  [
    'a proof against a smaller tree that stops before the entry',
    [checkpointOver(leaves.slice(0, 20)), genuine, acked],
  ],
];

for (const [name, args] of rejections) {
  t.test(`${name} is register-entry-missing`, (t) => {
    const verdict = judgeInclusion(...args);
    t.equal(verdict.ok, false);
    if (!verdict.ok) {
      t.equal(verdict.alarm, 'register-entry-missing');
      t.match(verdict.message, /acknowledged entry at seq 12/);
    }
    t.end();
  });
}
