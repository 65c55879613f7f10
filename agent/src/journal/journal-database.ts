/**
 * Opening the journal database, read-write for the agent or read-only for
 * auditors, and turning a failed write into the one error the agent acts on.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../../lib/src/errors.js';
import { checkJournalSchema, ensureJournalSchema } from './journal-schema.js';

/** The journal's file name inside the agent's data directory. */
export const JOURNAL_FILE_NAME = 'journal.db';

export function journalFileIn(dataDir: string): string {
  return path.join(dataDir, JOURNAL_FILE_NAME);
}

/**
 * Opens (creating if needed) for writing: WAL so readers (verify, the
 * forwarder) never block an append, synchronous=FULL so a committed append
 * has reached the disk (rule 5: the entry is durable before the act).
 */
export function openWritableDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  // SQLite quietly opens read-only when the file or medium refuses writes;
  // open it for writing ourselves first so that shows at open (EROFS, EACCES),
  // not at the first append.
  if (existsSync(file)) closeSync(openSync(file, 'r+'));
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Off is SQLite's default; the replace of current_head relies on it (journal-schema.ts).
    db.pragma('recursive_triggers = OFF');
    ensureJournalSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens an existing journal without ever writing to it: no pragma that
 * writes, no schema creation, no checkpoint on close.
 */
export function openReadonlyDatabase(file: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new VigieError('file-unreadable', `cannot open the journal ${file}: ${describe(err)}`, {
      cause: err,
    });
  }
  try {
    checkJournalSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** `SQLITE_FULL: database or disk is full` from a SqliteError or a Node error. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.startsWith(code)
    ? `${code}: ${err.message}`
    : err.message;
}

/** The `journal-unwritable` error for a write that did not become durable. */
export function unwritable(file: string, what: string, err: unknown): VigieError {
  if (err instanceof VigieError && err.code === 'journal-unwritable') return err;
  return new VigieError('journal-unwritable', `cannot ${what} in ${file}: ${describe(err)}`, {
    cause: err,
  });
}
