import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createRegisterStore } from '../../central/src/register/register-factory.js';
import { REGISTER_PROBLEM_CODES } from '../../central/src/register/register-rows.js';
import { tempDir } from '../agent/journal-fixtures.js';
import { registerContract } from './register-contract.js';
import { registerKey, sqliteFactory, TestClock } from './register-store-fixtures.js';

registerContract(t, 'sqlite', sqliteFactory);

void t.test('sqlite: a file that is not a register is refused, never migrated', async (t) => {
  const foreign = path.join(tempDir(t, 'vigie-register-'), 'foreign.db');
  writeFileSync(foreign, '');
  const db = new Database(foreign);
  db.exec('CREATE TABLE t (x)');
  db.close();
  const store = createRegisterStore(
    { backend: 'sqlite', file: foreign },
    { registerKey: registerKey.privateKey, kid: 'register-1', clocks: new TestClock() },
  );
  await t.rejects(store.open(), { code: 'register-invalid' });
});

void t.test('every register problem code is documented in docs/register.md', (t) => {
  const doc = readFileSync(path.join(import.meta.dirname, '../../docs/register.md'), 'utf8');
  for (const code of REGISTER_PROBLEM_CODES) t.match(doc, `\`${code}\``, code);
  t.end();
});
