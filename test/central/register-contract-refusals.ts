/**
 * The register contract's refusals: one test per rejection reason at ingest,
 * and verifyAll against someone holding the database (triggers dropped).
 */
import type { Test } from 'tap';
import type { RegisterStore } from '../../central/src/register/register-port.js';
import { signHead } from '../../protocol/src/journal-head.js';
import { all, at, boxKey, ingestAll, otherKey } from './register-contract-helpers.js';
import {
  boxChain,
  type Chain,
  type StoreFactory,
  type StoreHandle,
} from './register-store-fixtures.js';

export function rejectionTests(t: Test, backend: string, chain: Chain, fresh: StoreFactory): void {
  const forked = boxChain(t, 5, {
    key: boxKey,
    dataOf: (i) => (i < 2 ? { sessionId: `s-${i}` } : { sessionId: `forged-${i}` }),
  });
  // Signed once: an ECDSA signature differs at each signing, a resend must not.
  const strangerHead = signHead(
    { source: 'box-01', seq: 3, hash: at(chain.entries, 2).hash },
    otherKey.privateKey,
  );
  const cases: [string, (store: RegisterStore) => Promise<unknown>, number | null][] = [
    [
      'entry-malformed',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [{ seq: 4, hello: 'world' }],
          boxKey: boxKey.publicKey,
        }),
      4,
    ],
    [
      'source-mismatch',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: boxChain(t, 1, { source: 'box-02', key: boxKey }).entries,
          boxKey: boxKey.publicKey,
        }),
      1,
    ],
    [
      'hash-mismatch',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [{ ...at(chain.entries, 3), data: { sessionId: 'edited' } }],
          boxKey: boxKey.publicKey,
        }),
      4,
    ],
    [
      'seq-conflict',
      (s) =>
        s.ingest({ source: 'box-01', entries: [at(forked.entries, 2)], boxKey: boxKey.publicKey }),
      3,
    ],
    [
      'seq-gap',
      (s) =>
        s.ingest({ source: 'box-01', entries: [at(chain.entries, 5)], boxKey: boxKey.publicKey }),
      6,
    ],
    [
      'prev-hash-mismatch',
      (s) =>
        s.ingest({ source: 'box-01', entries: [at(forked.entries, 3)], boxKey: boxKey.publicKey }),
      4,
    ],
    [
      'head-malformed',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [],
          head: { seq: 2, sig: 'x' },
          boxKey: boxKey.publicKey,
        }),
      2,
    ],
    [
      'head-bad-signature',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [],
          head: strangerHead,
          boxKey: boxKey.publicKey,
        }),
      3,
    ],
    [
      'head-out-of-range',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [],
          head: at(chain.heads, 6),
          boxKey: boxKey.publicKey,
        }),
      7,
    ],
    [
      'head-hash-mismatch',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: [],
          head: at(forked.heads, 2),
          boxKey: boxKey.publicKey,
        }),
      3,
    ],
    [
      'box-key-unknown',
      (s) =>
        s.ingest({
          source: 'box-01',
          entries: chain.entries.slice(3, 5),
          boxKey: otherKey.publicKey,
        }),
      null,
    ],
  ];
  for (const [reason, send, seq] of cases) {
    void t.test(
      `${backend}: refuses with ${reason}, keeps the evidence, stores nothing`,
      async (t) => {
        const { store } = await fresh(t);
        await store.ingest({
          source: 'box-01',
          entries: chain.entries.slice(0, 3),
          boxKey: boxKey.publicKey,
        });
        const before = await store.counts();
        const result = (await send(store)) as Awaited<ReturnType<RegisterStore['ingest']>>;
        t.match(result.problems, [{ source: 'box-01', seq, reason }]);
        t.equal(result.problems.length, 1);
        t.equal(result.accepted, 0);
        t.same(result.lastAcked, { seq: 3, hash: at(chain.entries, 2).hash });
        const evidence = await store.evidence('box-01');
        t.match(evidence, [{ source: 'box-01', seq, reason }]);
        t.same(await all(store, {}), chain.entries.slice(0, 3), 'the stored history is untouched');
        const again = (await send(store)) as typeof result;
        t.equal(again.problems[0]?.reason, reason, 'reported again on a resend');
        t.same(
          await store.counts(),
          { ...before, evidence: 1 },
          'one evidence row, however often sent',
        );
        t.ok((await store.verifyAll()).ok);
      },
    );
  }
  void t.test(
    `${backend}: entries that link but whose closing head is not the box's are not stored`,
    async (t) => {
      const { store } = await fresh(t);
      await store.ingest({
        source: 'box-01',
        entries: chain.entries.slice(0, 2),
        boxKey: boxKey.publicKey,
      });
      const before = await store.counts();
      const forged = signHead(
        { source: 'box-01', seq: 5, hash: at(chain.entries, 4).hash },
        otherKey.privateKey,
      );
      const result = await store.ingest({
        source: 'box-01',
        entries: chain.entries.slice(2, 5),
        head: forged,
        boxKey: boxKey.publicKey,
      });
      t.equal(result.accepted, 0, 'nothing stored that no valid signature covers');
      t.equal(result.head, 'refused');
      t.match(result.problems, [
        { seq: 5, reason: 'head-bad-signature', message: /3 entries were not stored/ },
      ]);
      t.same(result.lastAcked, { seq: 2, hash: at(chain.entries, 1).hash }, 'resume after seq 2');
      t.same(await store.counts(), { ...before, evidence: 1 }, 'only the head kept, as evidence');
      const good = await store.ingest({
        source: 'box-01',
        entries: chain.entries.slice(2, 5),
        head: at(chain.heads, 4),
        boxKey: boxKey.publicKey,
      });
      t.equal(good.accepted, 3, 'the same entries under the box head are stored');
      t.ok((await store.verifyAll()).ok);
    },
  );
}

export function tamperTests(t: Test, backend: string, chain: Chain, fresh: StoreFactory): void {
  const setUp = async (t: Test): Promise<StoreHandle> => {
    const handle = await fresh(t);
    await handle.store.ingest({
      source: 'box-01',
      entries: chain.entries.slice(0, 6),
      head: at(chain.heads, 5),
      boxKey: boxKey.publicKey,
    });
    await handle.store.checkpoint();
    await ingestAll(handle.store, 'box-01', chain, boxKey.publicKey);
    await handle.store.checkpoint();
    return handle;
  };
  const cases: [string, (h: StoreHandle) => Promise<void>, Record<string, unknown>[]][] = [
    [
      'an edited entry: hash-mismatch at its seq',
      (h) => h.tamper([[`UPDATE entries SET data = '{"sessionId":"x"}' WHERE seq = 4`]]),
      [{ source: 'box-01', seq: 4, reason: 'hash-mismatch' }],
    ],
    [
      'a removed entry: seq-gap at the next seq',
      (h) => h.tamper([['DELETE FROM entries WHERE seq = 6']]),
      [
        { source: 'box-01', seq: 7, reason: 'seq-gap' },
        { reason: 'leaf-out-of-order', message: /tree size 5/ },
      ],
    ],
    [
      'two entries swapped in the tree: the order and the checkpoint',
      (h) =>
        h.tamper([
          ['UPDATE entries SET leaf = -1 WHERE leaf = 2'],
          ['UPDATE entries SET leaf = 2 WHERE leaf = 3'],
          ['UPDATE entries SET leaf = 3 WHERE leaf = -1'],
        ]),
      [
        { source: 'box-01', seq: 4, reason: 'seq-gap' },
        { reason: 'checkpoint-root-mismatch', message: /checkpoint 6/ },
      ],
    ],
    [
      'the last entries removed: the head and the checkpoint',
      (h) => h.tamper([['DELETE FROM entries WHERE seq > 8']]),
      [
        { source: 'box-01', seq: 10, reason: 'head-out-of-range' },
        { reason: 'checkpoint-size-exceeds', message: /checkpoint 10/ },
      ],
    ],
    [
      'a broken link: prev-hash-mismatch at the entry whose prevHash was changed',
      (h) => h.tamper([['UPDATE entries SET prev_hash = ? WHERE seq = 5', [Buffer.alloc(32, 5)]]]),
      [{ source: 'box-01', seq: 5, reason: 'prev-hash-mismatch' }],
    ],
    [
      'a stored hash cut short: entry-malformed at that entry',
      (h) => h.tamper([['UPDATE entries SET hash = ? WHERE seq = 7', [Buffer.alloc(31, 7)]]]),
      [{ source: 'box-01', seq: 7, reason: 'entry-malformed', message: /63 bytes together/ }],
    ],
    [
      'a stored prevHash one byte too long: entry-malformed at that entry',
      (h) => h.tamper([['UPDATE entries SET prev_hash = ? WHERE seq = 3', [Buffer.alloc(33, 3)]]]),
      [{ source: 'box-01', seq: 3, reason: 'entry-malformed', message: /65 bytes together/ }],
    ],
    [
      'a forged head signature',
      (h) => h.tamper([['UPDATE heads SET sig = ? WHERE seq = 6', [Buffer.alloc(64, 1)]]]),
      [{ source: 'box-01', seq: 6, reason: 'head-bad-signature' }],
    ],
    [
      'a forged checkpoint signature',
      (h) =>
        h.tamper([
          ['UPDATE checkpoints SET time = ? WHERE tree_size = 6', ['2030-01-01T00:00:00.000Z']],
        ]),
      [{ reason: 'checkpoint-bad-signature', message: /checkpoint 6/ }],
    ],
    [
      'a key forgotten',
      (h) => h.tamper([['DELETE FROM source_keys']]),
      [{ source: 'box-01', seq: null, reason: 'box-key-unknown' }],
    ],
  ];
  for (const [name, edit, problems] of cases) {
    void t.test(`${backend}: verifyAll finds ${name}`, async (t) => {
      const handle = await setUp(t);
      t.ok((await handle.store.verifyAll()).ok, 'clean before');
      await edit(handle);
      const report = await handle.store.verifyAll();
      t.equal(report.ok, false);
      t.match(report.problems, problems);
    });
  }

  void t.test(`${backend}: verifyAll finds an altered Merkle node`, async (t) => {
    const handle = await fresh(t);
    await ingestAll(handle.store, 'box-01', boxChain(t, 40, { key: boxKey }), boxKey.publicKey);
    await handle.tamper([
      ['UPDATE merkle_nodes SET hash = ? WHERE level = 4 AND idx = 1', [Buffer.alloc(32, 9)]],
    ]);
    const report = await handle.store.verifyAll();
    t.match(report.problems, [
      {
        source: null,
        seq: null,
        reason: 'merkle-node-mismatch',
        message: /Merkle node 4\/1 is 090909/,
      },
    ]);
    t.equal(report.problems.length, 1, 'the entries themselves are intact');
  });

  void t.test(
    `${backend}: verifyAll finds a history rewritten with valid hashes, and the tree`,
    async (t) => {
      const forged = boxChain(t, 20, {
        key: boxKey,
        dataOf: (i) => ({ sessionId: `forged-${i}` }),
      });
      const handle = await fresh(t);
      await ingestAll(handle.store, 'box-01', boxChain(t, 20, { key: boxKey }), boxKey.publicKey);
      await handle.store.checkpoint();
      await handle.tamper([
        ['DELETE FROM entries'],
        ...forged.entries.map((e, leaf): [string, unknown[]] => [
          'INSERT INTO entries (leaf, seq, source, time, boot_id, type, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            leaf,
            e.seq,
            e.source,
            e.time,
            e.bootId,
            e.type,
            JSON.stringify(e.data),
            Buffer.from(e.prevHash, 'hex'),
            Buffer.from(e.hash, 'hex'),
          ],
        ]),
      ]);
      t.match((await handle.store.verifyAll()).problems, [
        { source: 'box-01', seq: 20, reason: 'head-hash-mismatch' },
        { source: null, reason: 'checkpoint-root-mismatch', message: /checkpoint 20/ },
        { source: null, reason: 'merkle-node-mismatch', message: /Merkle node 4\/0/ },
      ]);
    },
  );
}
