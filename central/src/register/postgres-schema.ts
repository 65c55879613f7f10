/**
 * The register's PostgreSQL schema: the same tables, columns and rules as the
 * SQLite file (register-database.ts), in one PostgreSQL schema. Text compared
 * or ordered (source, time, type) is COLLATE "C": byte order, as SQLite, so
 * both backends page and sort entries alike.
 *
 * Append-only in PL/pgSQL: a trigger refuses every UPDATE, DELETE and
 * TRUNCATE, except the DELETE of access_log rows covered by a purge record
 * written in the SAME transaction (purges.txid = txid_current()): no other
 * code path, and no later transaction, can delete anything.
 */
import type { PoolClient } from 'pg';
import { VigieError } from '../../../lib/src/errors.js';
import { REGISTER_SCHEMA_VERSION, REGISTER_TABLES } from './register-database.js';

/** The marker of a Vigie register, as PRAGMA application_id marks the SQLite file. */
export const PG_APPLICATION_ID = 'VGR1';

const TABLES_V1 = `
CREATE TABLE register_meta (
  application_id text NOT NULL,
  schema_version integer NOT NULL
);
CREATE TABLE entries (
  leaf      bigint PRIMARY KEY,
  source    text COLLATE "C" NOT NULL,
  seq       bigint NOT NULL,
  time      text COLLATE "C" NOT NULL,
  boot_id   text NOT NULL,
  type      text COLLATE "C" NOT NULL,
  data      text NOT NULL,
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL,
  UNIQUE (source, seq)
);
CREATE INDEX entries_by_time ON entries (time, source, seq);
CREATE INDEX entries_by_type ON entries (type, time);
CREATE TABLE merkle_nodes (
  level integer NOT NULL,
  idx   bigint NOT NULL,
  hash  bytea NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE sources (
  source        text COLLATE "C" PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('box', 'relay')),
  site          text,
  first_seen_ms bigint NOT NULL
);
CREATE TABLE source_keys (
  id            bigint GENERATED ALWAYS AS IDENTITY,
  source        text COLLATE "C" NOT NULL REFERENCES sources (source),
  spki_der      bytea NOT NULL,
  cert_sha256   text NOT NULL,
  first_seen_ms bigint NOT NULL,
  PRIMARY KEY (source, spki_der)
);
CREATE TABLE heads (
  source text COLLATE "C" NOT NULL,
  seq    bigint NOT NULL,
  hash   bytea NOT NULL,
  sig    bytea NOT NULL,
  PRIMARY KEY (source, seq)
);
CREATE TABLE evidence (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source      text COLLATE "C" NOT NULL,
  seq         bigint,
  reason      text NOT NULL,
  message     text NOT NULL,
  raw         text NOT NULL,
  raw_sha256  bytea NOT NULL,
  received_ms bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (source, seq, reason, raw_sha256)
);
CREATE TABLE checkpoints (
  tree_size bigint PRIMARY KEY,
  root_hash bytea NOT NULL,
  time      text NOT NULL,
  kid       text NOT NULL,
  sig       bytea NOT NULL
);
CREATE TABLE annotations (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_ms    bigint NOT NULL,
  session_id text NOT NULL,
  outcome    text NOT NULL,
  author     text NOT NULL
);
CREATE INDEX annotations_by_session ON annotations (session_id, id);
CREATE TABLE access_log (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_ms bigint NOT NULL,
  who     text NOT NULL,
  action  text NOT NULL,
  why     text NOT NULL,
  to_whom text NOT NULL,
  cameras text NOT NULL,
  detail  text NOT NULL
);
CREATE INDEX access_log_by_time ON access_log (time_ms);
CREATE TABLE purges (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_ms        bigint NOT NULL,
  who            text NOT NULL,
  before_ms      bigint NOT NULL,
  removed        bigint NOT NULL,
  first_id       bigint,
  last_id        bigint,
  removed_sha256 text NOT NULL,
  txid           bigint NOT NULL DEFAULT txid_current()
);

CREATE FUNCTION vigie_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'vigie register: % are append-only', TG_TABLE_NAME;
END $$;

CREATE FUNCTION vigie_access_log_purge_only() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM purges p
    WHERE p.txid = txid_current()
      AND OLD.id BETWEEN p.first_id AND p.last_id AND OLD.time_ms < p.before_ms
  ) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'vigie register: access_log rows are removed by a purge only';
END $$;
${REGISTER_TABLES.map(pgAppendOnly).join('\n')}
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION vigie_access_log_purge_only();
INSERT INTO register_meta VALUES ('${PG_APPLICATION_ID}', ${REGISTER_SCHEMA_VERSION});
CREATE TRIGGER register_meta_no_update BEFORE UPDATE OR DELETE ON register_meta
  FOR EACH ROW EXECUTE FUNCTION vigie_append_only();
`;

/** No UPDATE, no TRUNCATE anywhere; no DELETE but access_log's (its own trigger). */
function pgAppendOnly(table: string): string {
  const events = table === 'access_log' ? 'UPDATE' : 'UPDATE OR DELETE';
  return `
CREATE TRIGGER ${table}_no_update BEFORE ${events} ON ${table}
  FOR EACH ROW EXECUTE FUNCTION vigie_append_only();
CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION vigie_append_only();`;
}

/** The names of every trigger (tests drop them to play the attacker). */
export const PG_TRIGGERS: readonly (readonly [table: string, trigger: string])[] = [
  ...REGISTER_TABLES.flatMap((t) => [
    [t, `${t}_no_update`] as const,
    [t, `${t}_no_truncate`] as const,
  ]),
  ['access_log', 'access_log_no_delete'],
];

/**
 * Creates the schema's tables on first use (under an advisory lock: two
 * processes starting together), or checks they are a register of this
 * version: anything else is `register-invalid`, never migrated by guesswork.
 */
export async function preparePgSchema(client: PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('vigie.register.schema'))`);
    const tables = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema()`,
    );
    if (tables.rows[0]?.n === 0) await client.query(TABLES_V1);
    else await checkPgSchema(client, where);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

async function checkPgSchema(client: PoolClient, where: string): Promise<void> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('register_meta')::text AS t`,
  );
  const meta = exists.rows[0]?.t
    ? await client.query<{ application_id: string; schema_version: number }>(
        'SELECT application_id, schema_version FROM register_meta',
      )
    : { rows: [] };
  const row = meta.rows[0];
  if (!row || row.application_id !== PG_APPLICATION_ID) {
    throw new VigieError('register-invalid', `${where} is not a Vigie register (no register_meta)`);
  }
  if (row.schema_version !== REGISTER_SCHEMA_VERSION) {
    throw new VigieError(
      'register-invalid',
      `${where} has register schema version ${row.schema_version}; this Vigie reads version ${REGISTER_SCHEMA_VERSION}`,
    );
  }
}
