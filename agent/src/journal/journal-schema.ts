/**
 * The journal database: one SQLite file (`<dataDir>/journal.db`) holding the
 * hash-chained entries, the signed heads, the replay store and a few
 * key/values. `application_id` marks the file as a Vigie journal and
 * `user_version` is its schema version, so a file from another program or from
 * a newer Vigie is refused instead of being "migrated" by guesswork.
 *
 * Append-only is enforced twice: the code has no UPDATE or DELETE on entries
 * or heads, and triggers RAISE if anything tries. Triggers are a guard rail
 * against our own bugs, not against someone holding the file: that is what the
 * hash chain and the box's signature on the head are for.
 */
import type Database from 'better-sqlite3';
import { VigieError } from '../../../lib/src/errors.js';

/** "VGJ1" as a big-endian 32-bit integer: `PRAGMA application_id`. */
export const JOURNAL_APPLICATION_ID = 0x56474a31;
export const JOURNAL_SCHEMA_VERSION = 1;

/**
 * Schema v1. Hashes and signatures are raw bytes (BLOB), `data` is the
 * canonical JSON text exactly as hashed, `time` the ISO string exactly as
 * hashed: verification hashes the stored bytes without re-serialising.
 */
const SCHEMA_V1 = `
CREATE TABLE entries (
  seq       INTEGER PRIMARY KEY,
  source    TEXT NOT NULL,
  time      TEXT NOT NULL,
  boot_id   TEXT NOT NULL,
  type      TEXT NOT NULL,
  data      TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL
) STRICT;
CREATE INDEX entries_by_type ON entries (type, seq);

-- Milestone heads, one every N entries, kept forever (append-only).
CREATE TABLE heads (
  seq    INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  hash   BLOB NOT NULL,
  sig    BLOB NOT NULL
) STRICT;

-- The head of the last entry. Its single row is replaced with INSERT OR REPLACE
-- in the append transaction: a REPLACE fires no UPDATE trigger, and its implicit
-- delete fires DELETE triggers only with recursive_triggers on (it is off), so
-- the triggers below still refuse any explicit UPDATE or DELETE.
CREATE TABLE current_head (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  seq    INTEGER NOT NULL,
  source TEXT NOT NULL,
  hash   BLOB NOT NULL,
  sig    BLOB NOT NULL
) STRICT;

CREATE TABLE replay (
  id            TEXT PRIMARY KEY,
  keep_until_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX replay_by_expiry ON replay (keep_until_ms);

CREATE TABLE kv (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
${appendOnlyTriggers('entries')}
${appendOnlyTriggers('heads')}
${appendOnlyTriggers('current_head')}
PRAGMA application_id = ${JOURNAL_APPLICATION_ID};
PRAGMA user_version = ${JOURNAL_SCHEMA_VERSION};
`;

function appendOnlyTriggers(table: string): string {
  return `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie journal: ${table} are append-only'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie journal: ${table} are append-only'); END;`;
}

function pragmaNumber(db: Database.Database, name: string): number {
  const value: unknown = db.pragma(name, { simple: true });
  return typeof value === 'number' ? value : Number.NaN;
}

/** Throws `journal-invalid` unless `db` is a Vigie journal of a schema we know. */
export function checkJournalSchema(db: Database.Database, file: string): void {
  const appId = pragmaNumber(db, 'application_id');
  const version = pragmaNumber(db, 'user_version');
  if (appId !== JOURNAL_APPLICATION_ID) {
    throw new VigieError(
      'journal-invalid',
      `${file} is not a Vigie journal (application_id ${appId}, expected ${JOURNAL_APPLICATION_ID})`,
    );
  }
  if (version !== JOURNAL_SCHEMA_VERSION) {
    throw new VigieError(
      'journal-invalid',
      `${file} has journal schema version ${version}; this Vigie reads version ${JOURNAL_SCHEMA_VERSION}`,
    );
  }
}

/** Creates the schema in an empty database, or checks the existing one. Atomic. */
export function ensureJournalSchema(db: Database.Database, file: string): void {
  const empty =
    pragmaNumber(db, 'application_id') === 0 &&
    pragmaNumber(db, 'user_version') === 0 &&
    db.prepare('SELECT count(*) AS n FROM sqlite_schema').pluck().get() === 0;
  if (empty) db.transaction(() => db.exec(SCHEMA_V1)).immediate();
  checkJournalSchema(db, file);
}
