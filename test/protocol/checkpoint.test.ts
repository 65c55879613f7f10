import t from 'tap';
import { createHash } from 'node:crypto';
import { merkleRoot, signCheckpoint, verifyCheckpoint } from '../../protocol/src/checkpoint.js';
import { makeKey } from './fixtures/messages.js';

const sha = (...parts: Buffer[]): Buffer =>
  createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (b: Buffer): Buffer => sha(Buffer.from([0]), b);
const node = (l: Buffer, r: Buffer): Buffer => sha(Buffer.from([1]), l, r);

void t.test(
  'Merkle tree hash follows RFC 9162 (leaf 0x00, node 0x01, left subtree a power of two)',
  (t) => {
    const d = [0, 1, 2, 3, 4].map((i) => Buffer.alloc(32, i));
    const [d0, d1, d2, d3, d4] = d as [Buffer, Buffer, Buffer, Buffer, Buffer];
    t.ok(merkleRoot([]).equals(sha()));
    t.ok(merkleRoot([d0]).equals(leaf(d0)));
    t.ok(merkleRoot([d0, d1, d2]).equals(node(node(leaf(d0), leaf(d1)), leaf(d2))));
    const four = node(node(leaf(d0), leaf(d1)), node(leaf(d2), leaf(d3)));
    t.ok(merkleRoot([d0, d1, d2, d3]).equals(four));
    t.ok(merkleRoot(d).equals(node(four, leaf(d4))));
    t.end();
  },
);

void t.test('a signed checkpoint verifies, and any change or another key does not', (t) => {
  const register = makeKey('register');
  const c = signCheckpoint(
    {
      treeSize: 5,
      rootHash: merkleRoot([Buffer.alloc(32)]).toString('hex'),
      time: '2025-03-01T10:00:00Z',
      kid: 'register',
    },
    register.privateKey,
  );
  t.ok(verifyCheckpoint(c, register.publicKey));
  t.notOk(verifyCheckpoint({ ...c, treeSize: 4 }, register.publicKey));
  t.notOk(verifyCheckpoint(c, makeKey('register').publicKey));
  t.end();
});
