/**
 * The register's SQLite file: every box's accepted journal entries, the heads
 * that vouch for them, the Merkle nodes over them, the sources and their
 * keys, the evidence of everything refused, the signed checkpoints issued,
 * the annotations, the access log and its purges. `application_id` marks the file as a Vigie register and
 * `user_version` is its schema version: a foreign or newer file is refused,
 * never "migrated" by guesswork (same rule as the box's journal-schema.ts).
 *
 * Append-only twice, as on the box: no UPDATE or DELETE in the code, and
 * triggers RAISE if anything tries, with one exception: the access log's purge
 * (past its three-year retention), which only removes the rows the purge
 * record written just before covers. The triggers guard against our own bugs;
 * against someone holding the file it is the hash chains, the boxes' signed
 * heads and the register's signed checkpoints that speak (verifyAll).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../../lib/src/errors.js';

/** "VGR1" as a big-endian 32-bit integer: `PRAGMA application_id`. */
export const REGISTER_APPLICATION_ID = 0x56475231;
export const REGISTER_SCHEMA_VERSION = 1;

/** Every table; all append-only (tests drop the triggers to play the attacker). */
export const REGISTER_TABLES = [
  'entries',
  'merkle_nodes',
  'sources',
  'source_keys',
  'heads',
  'evidence',
  'checkpoints',
  'annotations',
  'access_log',
  'purges',
] as const;

/** No UPDATE anywhere; no DELETE but access_log's purge (its own trigger below). */
function appendOnlyTriggers(table: string): string {
  const noDelete =
    table === 'access_log'
      ? ''
      : `
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie register: ${table} are append-only'); END;`;
  return `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie register: ${table} are append-only'); END;${noDelete}`;
}

/**
 * Schema v1. `leaf` (the rowid) is the ingestion order from 0: the Merkle
 * leaf index of the entry's hash in checkpoints (protocol/src/checkpoint.ts).
 * `data` is the canonical JSON exactly as hashed, `time` the ISO string
 * exactly as hashed: verification hashes what is stored.
 */
const SCHEMA_V1 = `
CREATE TABLE entries (
  leaf      INTEGER PRIMARY KEY,
  source    TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  time      TEXT NOT NULL,
  boot_id   TEXT NOT NULL,
  type      TEXT NOT NULL,
  data      TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL,
  UNIQUE (source, seq)
) STRICT;
-- The readers' queries: by time (all sources), by type.
CREATE INDEX entries_by_time ON entries (time, source, seq);
CREATE INDEX entries_by_type ON entries (type, time);

-- Complete Merkle subtrees of 2^4 leaves and more (merkle-nodes.ts), written at ingest.
CREATE TABLE merkle_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- Who sends: one row per source, one per key its certificates have had.
CREATE TABLE sources (
  source        TEXT PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('box', 'relay')),
  site          TEXT,
  first_seen_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE source_keys (
  source        TEXT NOT NULL REFERENCES sources (source),
  spki_der      BLOB NOT NULL,
  cert_sha256   TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (source, spki_der)
) STRICT;

-- Box-signed heads that verified when they arrived, one per (source, seq).
CREATE TABLE heads (
  source TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  hash   BLOB NOT NULL,
  sig    BLOB NOT NULL,
  PRIMARY KEY (source, seq)
) STRICT, WITHOUT ROWID;

-- What was received and refused, kept as it came. raw_sha256 makes a resend of
-- the same refused thing add no row (the problem is still reported each time).
CREATE TABLE evidence (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  seq         INTEGER,
  reason      TEXT NOT NULL,
  message     TEXT NOT NULL,
  raw         TEXT NOT NULL,
  raw_sha256  BLOB NOT NULL,
  received_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX evidence_once ON evidence (source, coalesce(seq, -1), reason, raw_sha256);

-- Every checkpoint the register signed, one per tree size.
CREATE TABLE checkpoints (
  tree_size INTEGER PRIMARY KEY,
  root_hash BLOB NOT NULL,
  time      TEXT NOT NULL,
  kid       TEXT NOT NULL,
  sig       BLOB NOT NULL
) STRICT;

-- What came of a transmission, as the receiving centre reported it: history kept.
CREATE TABLE annotations (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms    INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  author     TEXT NOT NULL
) STRICT;
CREATE INDEX annotations_by_session ON annotations (session_id, id);

-- Every consultation and extraction of the register (ids never reused: AUTOINCREMENT).
CREATE TABLE access_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  who     TEXT NOT NULL,
  action  TEXT NOT NULL,
  why     TEXT NOT NULL,
  to_whom TEXT NOT NULL,
  cameras TEXT NOT NULL,
  detail  TEXT NOT NULL
) STRICT;
CREATE INDEX access_log_by_time ON access_log (time_ms);

-- Every purge of the access log, written in the transaction that removes the rows.
CREATE TABLE purges (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms        INTEGER NOT NULL,
  who            TEXT NOT NULL,
  before_ms      INTEGER NOT NULL,
  removed        INTEGER NOT NULL,
  first_id       INTEGER,
  last_id        INTEGER,
  removed_sha256 TEXT NOT NULL
) STRICT;
${REGISTER_TABLES.map(appendOnlyTriggers).join('\n')}
-- The one deletion: access-log rows the LATEST purge record covers (id range and
-- time), removed right after it is written, in its transaction; once that commits
-- no row it covers is left, and later rows have higher ids.
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
WHEN NOT EXISTS (
  SELECT 1 FROM purges p
  WHERE p.id = (SELECT max(id) FROM purges)
    AND OLD.id BETWEEN p.first_id AND p.last_id AND OLD.time_ms < p.before_ms
)
BEGIN SELECT RAISE(ABORT, 'vigie register: access_log rows are removed by a purge only'); END;
PRAGMA application_id = ${REGISTER_APPLICATION_ID};
PRAGMA user_version = ${REGISTER_SCHEMA_VERSION};
`;

function pragmaNumber(db: Database.Database, name: string): number {
  const value: unknown = db.pragma(name, { simple: true });
  return typeof value === 'number' ? value : Number.NaN;
}

function checkRegisterSchema(db: Database.Database, file: string): void {
  const appId = pragmaNumber(db, 'application_id');
  const version = pragmaNumber(db, 'user_version');
  if (appId !== REGISTER_APPLICATION_ID) {
    throw new VigieError(
      'register-invalid',
      `${file} is not a Vigie register (application_id ${appId}, expected ${REGISTER_APPLICATION_ID})`,
    );
  }
  if (version !== REGISTER_SCHEMA_VERSION) {
    throw new VigieError(
      'register-invalid',
      `${file} has register schema version ${version}; this Vigie reads version ${REGISTER_SCHEMA_VERSION}`,
    );
  }
}

/**
 * Opens (creating if needed) for writing: WAL so readers never block an
 * ingest, synchronous=FULL so an acknowledged batch is on disk (the box drops
 * what the register acknowledged, so the ack must not outrun the disk).
 */
export function openRegisterDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const empty =
      pragmaNumber(db, 'application_id') === 0 &&
      pragmaNumber(db, 'user_version') === 0 &&
      db.prepare('SELECT count(*) AS n FROM sqlite_schema').pluck().get() === 0;
    if (empty) db.transaction(() => db.exec(SCHEMA_V1)).immediate();
    checkRegisterSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A second, read-only connection (verifyAll): its own snapshot, never blocking an ingest. */
export function openRegisterReadonly(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    checkRegisterSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
