/**
 * Fixtures for the register tests (not a test file): genuine box chains
 * written by the box's own journal, source identities, a settable clock, and
 * the two backends: a SQLite file in a temp directory, or a fresh PostgreSQL
 * schema on loopback (scripts/postgres.sh) dropped in teardown.
 */
import Database from 'better-sqlite3';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { SqliteJournal } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { PG_TRIGGERS } from '../../central/src/register/postgres-schema.js';
import { createRegisterStore } from '../../central/src/register/register-factory.js';
import { REGISTER_TABLES } from '../../central/src/register/register-database.js';
import type { RegisterStore, SourceIdentity } from '../../central/src/register/register-port.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../protocol/src/journal-head.js';
import { journalOptions, p256Key, tempDir, type BoxKey } from '../agent/journal-fixtures.js';

export const registerKey = generateKeyPairSync('ed25519');

export interface Chain {
  readonly entries: JournalEntry[];
  /** heads[i] is the box-signed head after entries[i]. */
  readonly heads: SignedHead[];
}

/**
 * A genuine chain written by the box's own journal. `dataOf(i)` gives entry
 * i's data: two chains with the same dataOf up to some i share those entries
 * (same clock, boot and key), and diverge after.
 */
export function boxChain(
  t: Test,
  count: number,
  options: {
    source?: string;
    key?: BoxKey;
    dataOf?: (i: number) => Record<string, unknown>;
    typeOf?: (i: number) => string;
  } = {},
): Chain {
  const key = options.key ?? p256Key();
  const file = journalFileIn(tempDir(t, 'vigie-box-'));
  const journal = new SqliteJournal(
    journalOptions(file, key, options.source ? { source: options.source } : {}),
  );
  journal.open();
  const entries: JournalEntry[] = [];
  const heads: SignedHead[] = [];
  for (let i = 0; i < count; i++) {
    const type = options.typeOf?.(i) ?? 'session.opened';
    entries.push(journal.append(type, options.dataOf?.(i) ?? { sessionId: `s-${i}` }));
    const head = journal.lastHead();
    if (!head) throw new Error('the journal signed no head');
    heads.push(head);
  }
  journal.close();
  return { entries, heads };
}

export function identity(
  source: string,
  key: KeyObject,
  kind: 'box' | 'relay' = 'box',
): SourceIdentity {
  const spkiDer = key.export({ type: 'spki', format: 'der' });
  return {
    source,
    kind,
    site: kind === 'box' ? 'site-1' : null,
    spkiDer,
    certSha256: createHash('sha256').update(spkiDer).update(source).digest('hex'),
  };
}

/** A wall clock tests move by hand; each reading also advances it by 1 ms. */
export class TestClock {
  ms = Date.UTC(2025, 2, 1, 10, 0, 0);
  wallNowMs(): number {
    return this.ms++;
  }
}

/** Runs SQL as someone holding the database: `?` placeholders, triggers dropped first. */
export type Tamper = (
  statements: readonly (readonly [sql: string, params?: unknown[]])[],
) => Promise<void>;

export interface StoreHandle {
  readonly store: RegisterStore;
  readonly clock: TestClock;
  /** Another store on the same database (a restart). */
  reopen(): RegisterStore;
  /** Runs SQL with the append-only triggers dropped. */
  readonly tamper: Tamper;
  /** Runs SQL with the triggers in place (must fail for UPDATE/DELETE). */
  raw(sql: string): Promise<void>;
}

export type StoreFactory = (t: Test) => Promise<StoreHandle>;

export function sqliteFactory(t: Test): Promise<StoreHandle> {
  const file = path.join(tempDir(t, 'vigie-register-'), 'register.db');
  const clock = new TestClock();
  const make = (): RegisterStore =>
    createRegisterStore(
      { backend: 'sqlite', file },
      { registerKey: registerKey.privateKey, kid: 'register-1', clocks: clock },
    );
  return openHandle(t, make, clock, {
    tamper: async (statements) => {
      const db = new Database(file);
      try {
        for (const table of REGISTER_TABLES) {
          db.exec(
            `DROP TRIGGER IF EXISTS ${table}_no_update; DROP TRIGGER IF EXISTS ${table}_no_delete;`,
          );
        }
        for (const [sql, params] of statements) db.prepare(sql).run(...(params ?? []));
      } finally {
        db.close();
      }
    },
    raw: async (sql) => {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
  });
}

async function openHandle(
  t: Test,
  make: () => RegisterStore,
  clock: TestClock,
  access: Pick<StoreHandle, 'tamper' | 'raw'>,
): Promise<StoreHandle> {
  const stores: RegisterStore[] = [];
  const reopen = (): RegisterStore => {
    const store = make();
    stores.push(store);
    return store;
  };
  t.teardown(async () => {
    for (const s of stores) await s.close();
  });
  const store = reopen();
  await store.open();
  return { store, clock, reopen, ...access };
}

/** The URL of the test PostgreSQL: VIGIE_TEST_PG_URL, or the file scripts/postgres.sh writes. */
export function testPgUrl(): string | null {
  if (process.env.VIGIE_TEST_PG_URL) return process.env.VIGIE_TEST_PG_URL;
  const root = '/etc/postgresql';
  const clusters = existsSync(root)
    ? readdirSync(root).flatMap((v) =>
        readdirSync(path.join(root, v)).map((c) => path.join(root, v, c)),
      )
    : [];
  for (const dir of clusters) {
    const file = path.join(dir, 'vigie-test.url');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  }
  return null;
}

/** Under CI (or VIGIE_REQUIRE_POSTGRES=1) PostgreSQL must be there: its absence fails. */
export const postgresRequired = (): boolean =>
  Boolean(process.env.CI) || process.env.VIGIE_REQUIRE_POSTGRES === '1';

/** Why PostgreSQL cannot be used here, or null when it answers (bounded: 5 s). */
export async function postgresUnavailable(url: string | null): Promise<string | null> {
  if (!url) return 'no URL (run scripts/postgres.sh as root, or set VIGIE_TEST_PG_URL)';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return `${url.replace(/:[^:@/]*@/, ':***@')}: ${String(err)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let schemas = 0;

/** A fresh schema per store, dropped in teardown. */
export function postgresFactory(url: string): StoreFactory {
  return async (t) => {
    const schema = `vigie_t_${process.pid}_${schemas++}_${Date.now() % 1e6}`;
    const clock = new TestClock();
    const admin = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await admin.connect();
    t.teardown(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    const make = (): RegisterStore =>
      createRegisterStore(
        { backend: 'postgres', url, schema },
        { registerKey: registerKey.privateKey, kid: 'register-1', clocks: clock },
      );
    const handle = await openHandle(t, make, clock, {
      tamper: async (statements) => {
        for (const [table, trigger] of PG_TRIGGERS) {
          await admin.query(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
        }
        for (const [sql, params] of statements) {
          let n = 0;
          await admin.query(
            sql.replace(/\?/g, () => `$${++n}`),
            params ?? [],
          );
        }
      },
      raw: async (sql) => {
        await admin.query(sql);
      },
    });
    // Teardown runs in reverse: stores close before the schema is dropped.
    return handle;
  };
}
