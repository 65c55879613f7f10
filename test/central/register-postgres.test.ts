/**
 * The register's contract against a real PostgreSQL on loopback
 * (scripts/postgres.sh starts it; `make test` and .ci/run call it). Each store
 * gets a fresh schema, dropped after. Under CI (or VIGIE_REQUIRE_POSTGRES=1)
 * an unreachable PostgreSQL FAILS the run; a bare local run skips, saying why.
 */
import pg from 'pg';
import t from 'tap';
import { createRegisterStore } from '../../central/src/register/register-factory.js';
import { merkleRoot } from '../../protocol/src/checkpoint.js';
import { all, at, boxKey, leavesOf } from './register-contract-helpers.js';
import { registerContract } from './register-contract.js';
import {
  boxChain,
  identity,
  postgresFactory,
  postgresRequired,
  postgresUnavailable,
  registerKey,
  TestClock,
  testPgUrl,
} from './register-store-fixtures.js';

const url = testPgUrl();
const unavailable = await postgresUnavailable(url);
if (unavailable !== null) {
  if (postgresRequired()) t.fail(`PostgreSQL is required here and unreachable: ${unavailable}`);
  else t.plan(0, `PostgreSQL unreachable (${unavailable}): run scripts/postgres.sh as root`);
} else {
  const pgUrl = url as string;
  registerContract(t, 'postgres', postgresFactory(pgUrl));

  void t.test(
    'postgres: a write that fails with its COMMIT already sent (pipelined) acknowledges nothing and stores nothing; the next batch goes through',
    async (t) => {
      const chain = boxChain(t, 20, { key: boxKey });
      const handle = await postgresFactory(pgUrl)(t);
      const { store } = handle;
      await store.rememberSource(identity('box-01', boxKey.publicKey));
      const batch = (from: number, to: number) => ({
        source: 'box-01',
        entries: chain.entries.slice(from, to),
        head: at(chain.heads, to - 1),
        boxKey: boxKey.publicKey,
      });
      t.equal((await store.ingest(batch(0, 10))).accepted, 10);
      const counts = await store.counts();
      // The batch's one write statement fails at its last insert (heads): COMMIT, sent
      // behind it, answers ROLLBACK.
      await handle.raw(`CREATE FUNCTION refuse_heads() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'heads refused by the test'; END $$;
        CREATE TRIGGER refuse_heads BEFORE INSERT ON heads
        FOR EACH ROW EXECUTE FUNCTION refuse_heads()`);
      await t.rejects(store.ingest(batch(10, 20)), {
        code: 'register-unwritable',
        message: /heads refused by the test/,
      });
      t.same(await store.counts(), counts, 'no entry, node, head or evidence of the failed batch');
      t.same(await store.lastAcked('box-01'), { seq: 10, hash: at(chain.entries, 9).hash });
      await handle.raw('DROP TRIGGER refuse_heads ON heads');
      const result = await store.ingest(batch(10, 20));
      t.same([result.accepted, result.head], [20 - 10, 'stored'], 'the connection and tree go on');
      t.same(await all(store, { sources: ['box-01'] }), chain.entries);
      t.equal(
        (await store.checkpoint()).rootHash,
        merkleRoot(leavesOf(chain.entries)).toString('hex'),
        'the tree frontier was not left with the failed batch appended',
      );
      t.same((await store.verifyAll()).problems, []);
    },
  );

  void t.test('postgres: a schema that is not a register is refused, never migrated', async (t) => {
    const schema = `vigie_t_foreign_${process.pid}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    t.teardown(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (x int)`);
    const store = createRegisterStore(
      { backend: 'postgres', url: pgUrl, schema },
      { registerKey: registerKey.privateKey, kid: 'register-1', clocks: new TestClock() },
    );
    await t.rejects(store.open(), { code: 'register-invalid' });
  });

  void t.test('postgres: only a loopback URL and a plain schema name are accepted', async (t) => {
    const common = {
      registerKey: registerKey.privateKey,
      kid: 'register-1',
      clocks: new TestClock(),
    };
    for (const bad of [
      'postgres://u:p@10.0.0.1:5432/db',
      'postgres://u:p@db.example:5432/db',
      'mysql://u:p@127.0.0.1/db',
    ]) {
      await t.rejects(
        createRegisterStore({ backend: 'postgres', url: bad }, common).open(),
        {
          code: 'config-invalid',
        },
        bad.replace(/:p@/, ':***@'),
      );
    }
    await t.rejects(
      createRegisterStore(
        { backend: 'postgres', url: pgUrl, schema: 'x; DROP TABLE y' },
        common,
      ).open(),
      { code: 'config-invalid' },
    );
  });
}
