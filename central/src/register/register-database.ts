/**
 * The register's SQLite file: every box's accepted journal entries, the heads
 * that vouch for them, the evidence of everything refused, and the signed
 * checkpoints issued. `application_id` marks the file as a Vigie register and
 * `user_version` is its schema version: a foreign or newer file is refused,
 * never "migrated" by guesswork (same rule as the box's journal-schema.ts).
 *
 * Append-only twice, as on the box: no UPDATE or DELETE in the code, and
 * triggers RAISE if anything tries. The triggers guard against our own bugs;
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

/**
 * Schema v1. `leaf` (the rowid) is the ingestion order: the Merkle leaf index
 * of the entry's hash in checkpoints (protocol/src/checkpoint.ts), 1-based in
 * the file. `data` is the canonical JSON exactly as hashed, `time` the ISO
 * string exactly as hashed: verification hashes what is stored.
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
  received_ms INTEGER NOT NULL,
  UNIQUE (source, seq, reason, raw_sha256)
) STRICT;
CREATE INDEX evidence_by_source ON evidence (source, seq);

-- Every checkpoint the register signed, one per tree size.
CREATE TABLE checkpoints (
  tree_size INTEGER PRIMARY KEY,
  root_hash BLOB NOT NULL,
  time      TEXT NOT NULL,
  kid       TEXT NOT NULL,
  sig       BLOB NOT NULL
) STRICT;
${appendOnlyTriggers('entries')}
${appendOnlyTriggers('heads')}
${appendOnlyTriggers('evidence')}
${appendOnlyTriggers('checkpoints')}
PRAGMA application_id = ${REGISTER_APPLICATION_ID};
PRAGMA user_version = ${REGISTER_SCHEMA_VERSION};
`;

/** The tables guarded by append-only triggers (tests drop them to play the attacker). */
export const REGISTER_TABLES = ['entries', 'heads', 'evidence', 'checkpoints'] as const;

function appendOnlyTriggers(table: string): string {
  return `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie register: ${table} are append-only'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, 'vigie register: ${table} are append-only'); END;`;
}

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
