/**
 * Part of the register contract (register-contract.ts): RFC 9162 §2.1.3
 * inclusion proofs of a source's entry, by (source, seq), against trees of
 * many sizes, as the leaf-array oracle gives them and as verifyInclusion
 * accepts them; and the refusal of an entry that is not in the tree.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import { merkleRoot, verifyCheckpoint } from '../../protocol/src/checkpoint.js';
import { inclusionProof, verifyInclusion } from '../../protocol/src/merkle-consistency.js';
import { EntryNotInTreeError } from '../../central/src/register/register-port.js';
import { p256Key } from '../agent/journal-fixtures.js';
import { at, leavesOf } from './register-contract-helpers.js';
import { boxChain, identity, registerKey, type StoreFactory } from './register-store-fixtures.js';

export function inclusionTests(t: Test, backend: string, factory: StoreFactory): void {
  void t.test(
    `${backend}: inclusion proofs of a source's entry for many (seq, size), refused outside the tree`,
    async (t) => {
      const { store } = await factory(t);
      const keys = [p256Key(), p256Key(), p256Key()];
      const sources = keys.map((_, i) => `box-0${i + 1}`);
      const chains = keys.map((key, i) => boxChain(t, 30, { source: at(sources, i), key }));
      for (const [i, key] of keys.entries()) {
        await store.rememberSource(identity(at(sources, i), key.publicKey));
      }
      // Interleaved batches of uneven sizes: a source's leaves are scattered in the tree.
      const leaves: Buffer[] = [];
      const leafOf = new Map<string, number>();
      const next = chains.map(() => 0);
      for (let round = 0; next.some((at) => at < 30); round++) {
        for (const [i, c] of chains.entries()) {
          const from = at(next, i);
          const batch = c.entries.slice(from, from + 2 + ((i + round) % 4));
          if (batch.length === 0) continue;
          next[i] = from + batch.length;
          const result = await store.ingest({
            source: at(sources, i),
            entries: batch,
            head: at(c.heads, from + batch.length - 1),
            boxKey: at(keys, i).publicKey,
          });
          t.same(result.problems, [], 'accepted');
          for (const e of batch) {
            leafOf.set(`${e.source}/${e.seq}`, leaves.length);
            leaves.push(...leavesOf([e]));
          }
        }
      }
      const n = leaves.length;
      const checkpoint = await store.checkpoint();
      t.equal(checkpoint.treeSize, n);
      t.ok(verifyCheckpoint(checkpoint, registerKey.publicKey));
      const stored = [...leafOf.entries()].map(([key, leaf]) => {
        const [source = '', seq = '0'] = key.split('/');
        return { source, seq: Number(seq), leaf };
      });
      t.equal(n, 90, `${n} leaves`);

      let checked = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: stored.length - 1 }),
          fc.integer({ min: 0, max: n }),
          async (pick, extra) => {
            const { source, seq, leaf } = at(stored, pick);
            const size = leaf + 1 + (extra % (n - leaf));
            const got = await store.inclusionProof(source, seq, size);
            checked++;
            return (
              got.leafIndex === leaf &&
              Buffer.concat(got.proof).equals(Buffer.concat(inclusionProof(leaves, leaf, size))) &&
              verifyInclusion(
                leaf,
                size,
                at(leaves, leaf),
                merkleRoot(leaves.slice(0, size)),
                got.proof,
              )
            );
          },
        ),
        { numRuns: 300 },
      );
      t.ok(checked >= 300, `${checked} (seq, size) pairs proven and verified`);

      // Against the signed checkpoint itself, for every entry of one source.
      for (const { source, seq, leaf } of stored.filter((s) => s.source === 'box-02')) {
        const got = await store.inclusionProof(source, seq, n);
        if (
          !verifyInclusion(
            leaf,
            n,
            at(leaves, leaf),
            Buffer.from(checkpoint.rootHash, 'hex'),
            got.proof,
          )
        ) {
          t.fail(`box-02 seq ${seq} is not proven in the checkpoint`);
        }
      }

      const { source, seq, leaf } = at(stored, stored.length - 1);
      await t.rejects(
        store.inclusionProof(source, seq, leaf),
        EntryNotInTreeError,
        'an entry past the tree of that size is refused',
      );
      await t.rejects(
        store.inclusionProof('box-01', 31, n),
        EntryNotInTreeError,
        'an entry never stored is refused',
      );
      await t.rejects(
        store.inclusionProof('box-09', 1, n),
        EntryNotInTreeError,
        'a source never heard of is refused',
      );
      await t.rejects(store.inclusionProof(source, seq, n + 1), RangeError, 'a size past the tree');
    },
  );
}
