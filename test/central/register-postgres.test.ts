/**
 * The register's contract against a real PostgreSQL on loopback
 * (scripts/postgres.sh starts it; `make test` and .ci/run call it). Each store
 * gets a fresh schema, dropped after. Under CI (or VIGIE_REQUIRE_POSTGRES=1)
 * an unreachable PostgreSQL FAILS the run; a bare local run skips, saying why.
 */
import pg from 'pg';
import t from 'tap';
import { createRegisterStore } from '../../central/src/register/register-factory.js';
import { registerContract } from './register-contract.js';
import {
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
