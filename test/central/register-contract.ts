/**
 * The register's storage contract (register-port.ts) as one suite, run
 * against every backend: register-sqlite.test.ts and register-postgres.test.ts
 * call registerContract with their store factory.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import { merkleRoot, verifyCheckpoint } from '../../protocol/src/checkpoint.js';
import { signHead } from '../../protocol/src/journal-head.js';
import { consistencyProof, verifyConsistency } from '../../protocol/src/merkle-consistency.js';
import { ACCESS_LOG_RETENTION_MS } from '../../central/src/register/register-port.js';
import { REGISTER_TABLES } from '../../central/src/register/register-database.js';
import { purgeSummary } from '../../central/src/register/register-rows.js';
import { p256Key } from '../agent/journal-fixtures.js';
import { all, at, boxKey, ingestAll, leavesOf, otherKey } from './register-contract-helpers.js';
import { inclusionTests } from './register-contract-inclusion.js';
import { rejectionTests, tamperTests } from './register-contract-refusals.js';
import {
  boxChain,
  identity,
  registerKey,
  type StoreFactory,
  type StoreHandle,
} from './register-store-fixtures.js';

export function registerContract(t: Test, backend: string, factory: StoreFactory): void {
  const chain = boxChain(t, 10, { key: boxKey });
  const last = at(chain.heads, 9);
  const fresh = async (t: Test): Promise<StoreHandle> => {
    const handle = await factory(t);
    await handle.store.rememberSource(identity('box-01', boxKey.publicKey));
    return handle;
  };

  void t.test(
    `${backend}: ingests a genuine chain with its head and acknowledges the last entry`,
    async (t) => {
      const { store } = await fresh(t);
      t.equal(await store.lastAcked('box-01'), null, 'a box never heard of resumes from the start');
      const result = await store.ingest({
        source: 'box-01',
        entries: chain.entries,
        head: last,
        boxKey: boxKey.publicKey,
      });
      t.same(result, {
        accepted: 10,
        duplicates: 0,
        lastAcked: { seq: 10, hash: at(chain.entries, 9).hash },
        head: 'stored',
        problems: [],
      });
      t.same(await store.lastAcked('box-01'), { seq: 10, hash: at(chain.entries, 9).hash });
      t.same(await all(store, { sources: ['box-01'] }), chain.entries, 'read back exactly as sent');
      const report = await store.verifyAll();
      t.equal(report.ok, true);
      t.equal(report.entries, 10);
      t.equal(report.headsChecked, 1);
      t.same(report.sources, [
        { source: 'box-01', entries: 10, lastSeq: 10, vouchedThroughSeq: 10 },
      ]);
    },
  );

  void t.test(
    `${backend}: a resend of everything changes no count and no checkpoint`,
    async (t) => {
      const { store } = await fresh(t);
      const batch = {
        source: 'box-01',
        entries: chain.entries,
        head: last,
        boxKey: boxKey.publicKey,
      };
      await store.ingest(batch);
      const checkpoint = await store.checkpoint();
      const counts = await store.counts();
      t.same(await store.ingest(batch), {
        accepted: 0,
        duplicates: 10,
        lastAcked: { seq: 10, hash: at(chain.entries, 9).hash },
        head: 'known',
        problems: [],
      });
      t.same(await store.counts(), counts);
      t.same(await store.checkpoint(), checkpoint, 'same tree size: the stored checkpoint');
      t.same(counts, { entries: 10, heads: 1, evidence: 0, checkpoints: 1, sources: 1 });
    },
  );

  void t.test(
    `${backend}: any reordered and duplicated delivery ends as in-order delivery`,
    async (t) => {
      const root = merkleRoot(leavesOf(chain.entries)).toString('hex');
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 12 }), { maxLength: 6 }),
          async (batches) => {
            const { store } = await fresh(t);
            for (const batch of batches) {
              await store.ingest({
                source: 'box-01',
                entries: batch.map((i) => at(chain.entries, i)),
                boxKey: boxKey.publicKey,
              });
            }
            const stored = await all(store, { sources: ['box-01'] });
            // One entry per seq from 1, no gap, each the box's own.
            if (!stored.every((e, i) => e.seq === i + 1 && e.hash === at(chain.entries, i).hash))
              return false;
            const resume = (await store.lastAcked('box-01'))?.seq ?? 0;
            await store.ingest({
              source: 'box-01',
              entries: chain.entries.slice(resume),
              boxKey: boxKey.publicKey,
            });
            const final = await all(store, { sources: ['box-01'] });
            return (
              final.length === 10 &&
              (await store.checkpoint()).rootHash === root &&
              (await store.verifyAll()).ok
            );
          },
        ),
        { numRuns: 12 },
      );
    },
  );

  rejectionTests(t, backend, chain, fresh);
  tamperTests(t, backend, chain, fresh);
  treeTests(t, backend, factory);
  inclusionTests(t, backend, factory);
  readerTests(t, backend, fresh, factory);
}

function treeTests(t: Test, backend: string, factory: StoreFactory): void {
  void t.test(
    `${backend}: checkpoints (one per size) and consistency proofs for many (m, n)`,
    async (t) => {
      const { store } = await factory(t);
      const keys = [p256Key(), p256Key(), p256Key()];
      const chains = keys.map((key, i) => boxChain(t, 40, { source: `box-0${i + 1}`, key }));
      for (const [i, key] of keys.entries())
        await store.rememberSource(identity(`box-0${i + 1}`, key.publicKey));
      t.equal((await store.checkpoint()).treeSize, 0);
      const leaves: Buffer[] = [];
      const checkpoints = [];
      for (let from = 0; from < 40; from += 7) {
        for (const [i, c] of chains.entries()) {
          const batch = c.entries.slice(from, from + 7);
          await store.ingest({
            source: `box-0${i + 1}`,
            entries: batch,
            head: at(c.heads, from + batch.length - 1),
            boxKey: at(keys, i).publicKey,
          });
          leaves.push(...leavesOf(batch));
        }
        const checkpoint = await store.checkpoint();
        t.equal(checkpoint.treeSize, leaves.length);
        t.equal(
          checkpoint.rootHash,
          merkleRoot(leaves).toString('hex'),
          'leaves in ingestion order',
        );
        t.ok(verifyCheckpoint(checkpoint, registerKey.publicKey));
        t.same(await store.checkpoint(), checkpoint, 'asked again: the same one');
        checkpoints.push(checkpoint);
      }
      t.equal((await store.counts()).checkpoints, checkpoints.length + 1);
      const n = leaves.length;
      let checked = 0;
      for (let m = 0; m <= n; m += 3) {
        for (const size of [m, m + 1, m + 16, Math.floor((m + n) / 2), n]) {
          if (size > n || size < m) continue;
          const proof = await store.consistencyProof(m, size);
          t.same(
            proof,
            consistencyProof(leaves, m, size),
            `(${m}, ${size}) as the leaf-array oracle`,
          );
          if (
            !verifyConsistency(
              m,
              size,
              merkleRoot(leaves.slice(0, m)),
              merkleRoot(leaves.slice(0, size)),
              proof,
            )
          ) {
            t.fail(`(${m}, ${size}) does not verify`);
          }
          checked++;
        }
      }
      t.ok(checked > 100, `${checked} proofs checked`);
      await t.rejects(store.consistencyProof(1, n + 1), RangeError);
      const report = await store.verifyAll();
      t.same(report.problems, []);
      t.equal(report.checkpoints, checkpoints.length + 1);
    },
  );

  void t.test(
    `${backend}: batches of different sources in flight at once are all appended`,
    async (t) => {
      const { store } = await factory(t);
      const keys = Array.from({ length: 4 }, () => p256Key());
      const chains = keys.map((key, i) => boxChain(t, 30, { source: `box-c${i}`, key }));
      for (const [i, key] of keys.entries())
        await store.rememberSource(identity(`box-c${i}`, key.publicKey));
      await Promise.all(
        chains.map(async (c, i) => {
          for (let from = 0; from < 30; from += 5) {
            await store.ingest({
              source: `box-c${i}`,
              entries: c.entries.slice(from, from + 5),
              head: at(c.heads, from + 4),
              boxKey: at(keys, i).publicKey,
            });
            await store.checkpoint();
          }
        }),
      );
      t.equal((await store.counts()).entries, 120);
      const report = await store.verifyAll();
      t.same(report.problems, []);
      t.equal(report.sources.length, 4);
    },
  );
}

function readerTests(t: Test, backend: string, fresh: StoreFactory, factory: StoreFactory): void {
  void t.test(
    `${backend}: sources keep every key they had; heads verify under any of them`,
    async (t) => {
      const { store, clock } = await factory(t);
      const renewed = p256Key();
      const first = identity('box-01', boxKey.publicKey);
      await store.rememberSource(first);
      const seen = clock.ms;
      await store.rememberSource(first);
      await store.rememberSource(identity('relay-1', otherKey.publicKey, 'relay'));
      const before = boxChain(t, 3, { key: boxKey });
      await ingestAll(store, 'box-01', before, boxKey.publicKey);
      clock.ms += 1000;
      await store.rememberSource(identity('box-01', renewed.publicKey));
      // After renewal the box signs with its new key (same chain, new head).
      const head4 = signHead(
        { source: 'box-01', seq: 3, hash: at(before.entries, 2).hash },
        renewed.privateKey,
      );
      t.equal(
        (
          await store.ingest({
            source: 'box-01',
            entries: [],
            head: head4,
            boxKey: renewed.publicKey,
          })
        ).head,
        'known',
      );
      const sources = await store.sources();
      t.match(sources, [
        {
          source: 'box-01',
          kind: 'box',
          site: 'site-1',
          entries: 3,
          lastSeq: 3,
          lastTime: at(before.entries, 2).time,
          vouchedThroughSeq: 3,
          evidence: 0,
        },
        { source: 'relay-1', kind: 'relay', site: null, entries: 0, lastSeq: null },
      ]);
      t.ok(at(sources, 0).firstSeenMs < seen, 'first seen is kept');
      t.same(
        at(sources, 0).spkiDers,
        [first.spkiDer, identity('box-01', renewed.publicKey).spkiDer],
        'every key, oldest first',
      );
      t.ok((await store.verifyAll()).ok);
    },
  );

  void t.test(`${backend}: annotations keep their history, the last one is current`, async (t) => {
    const { store } = await fresh(t);
    const a = await store.annotate({
      sessionId: 's-1',
      outcome: 'Interpellation',
      author: 'csu-metz',
    });
    await store.annotate({ sessionId: 's-2', outcome: 'Rien à signaler', author: 'csu-metz' });
    const b = await store.annotate({
      sessionId: 's-1',
      outcome: 'Interpellation, 2 personnes',
      author: 'emh',
    });
    t.ok(b.id > a.id);
    t.same(
      (await store.annotations(['s-1'])).map((x) => x.outcome),
      ['Interpellation', 'Interpellation, 2 personnes'],
    );
    t.equal((await store.annotations()).length, 3);
    t.same(await store.annotations([]), []);
    await t.rejects(
      store.annotate({ sessionId: 's-1', outcome: 'x'.repeat(2001), author: 'emh' }),
      { code: 'payload-invalid' },
    );
  });

  void t.test(
    `${backend}: the access log is purged past its retention only, with a record of what went`,
    async (t) => {
      const handle = await fresh(t);
      const { store, clock } = handle;
      const access = (who: string) => ({
        who,
        action: 'consult' as const,
        why: 'audit',
        toWhom: '',
        cameras: ['cam-01'],
        detail: 'period 2025-03',
      });
      const old = [await store.recordAccess(access('a')), await store.recordAccess(access('b'))];
      clock.ms += 1000;
      const cutoff = clock.ms;
      const recent = await store.recordAccess(access('c'));
      await t.rejects(
        store.recordAccess({ ...access('d'), action: 'export', why: ' ' }),
        { code: 'payload-invalid' },
        'an export needs a reason',
      );
      await t.rejects(
        store.purgeAccessLog(cutoff, 'admin'),
        { code: 'payload-invalid' },
        'not before the retention',
      );
      clock.ms = cutoff + ACCESS_LOG_RETENTION_MS + 10;
      const purge = await store.purgeAccessLog(cutoff, 'admin');
      t.match(purge, {
        who: 'admin',
        beforeMs: cutoff,
        removed: 2,
        firstId: at(old, 0).id,
        lastId: at(old, 1).id,
        removedSha256: purgeSummary(old).removedSha256,
      });
      t.same(await store.accessLog({}), [recent]);
      t.same(await store.purges(), [purge]);
      const empty = await store.purgeAccessLog(cutoff, 'admin');
      t.match(empty, { removed: 0, firstId: null, lastId: null });
      await ingestAll(store, 'box-01', boxChain(t, 20, { key: boxKey }), boxKey.publicKey);
      await store.checkpoint();
      await store.annotate({ sessionId: 's-1', outcome: 'ok', author: 'emh' });
      await store.ingest({ source: 'box-01', entries: [{ seq: 99 }], boxKey: boxKey.publicKey });
      for (const table of REGISTER_TABLES) {
        await t.rejects(
          handle.raw(`DELETE FROM ${table}`),
          /append-only|purge only/,
          `nothing deletable in ${table}`,
        );
      }
      await t.rejects(handle.raw('UPDATE access_log SET who = 1'), /append-only/);
      t.same(await store.accessLog({}), [recent], 'the recent access is still there');
    },
  );

  void t.test(
    `${backend}: entries() filters by source, type, time and seq, ordered by time`,
    async (t) => {
      const { store } = await fresh(t);
      const other = p256Key();
      await store.rememberSource(identity('box-02', other.publicKey));
      const types = ['session.opened', 'session.closed', 'agent.started'];
      const a = boxChain(t, 9, { key: boxKey, typeOf: (i) => at(types, i % 3) });
      const b = boxChain(t, 6, {
        source: 'box-02',
        key: other,
        typeOf: (i) => at(types, (i + 1) % 3),
      });
      await ingestAll(store, 'box-01', a, boxKey.publicKey);
      await ingestAll(store, 'box-02', b, other.publicKey);
      const everything = [...a.entries, ...b.entries].sort((x, y) =>
        x.time < y.time
          ? -1
          : x.time > y.time
            ? 1
            : x.source < y.source
              ? -1
              : x.source > y.source
                ? 1
                : x.seq - y.seq,
      );
      t.same(await all(store, {}), everything, 'by (time, source, seq)');
      t.same(await all(store, { sources: ['box-02'] }), b.entries);
      t.same(
        await all(store, { types: ['session.'] }),
        everything.filter((e) => e.type.startsWith('session.')),
      );
      t.same(
        await all(store, { types: ['agent.started'], sources: ['box-01'] }),
        a.entries.filter((e) => e.type === 'agent.started'),
      );
      const from = at(a.entries, 3).time;
      const to = at(a.entries, 6).time;
      t.same(
        await all(store, { fromTime: from, toTime: to }),
        everything.filter((e) => e.time >= from && e.time < to),
      );
      t.same(await all(store, { sources: ['box-01'], fromSeq: 7 }), a.entries.slice(6));
      t.same(await all(store, { limit: 4 }), everything.slice(0, 4));
      t.same(await all(store, { sources: [] }), []);
    },
  );
}
