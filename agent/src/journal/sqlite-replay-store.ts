/**
 * Command ids already seen (rule 1, "not replayed"), in the journal's database
 * file so that they survive a restart with the journal itself. Each id is kept
 * until its command's expiry plus the clock-skew allowance; after that the
 * freshness check refuses the command anyway, so purging cannot let a replay in.
 */
import type Database from 'better-sqlite3';
import type { ReplayStore } from '../ports.js';
import { openWritableDatabase, unwritable } from './journal-database.js';

export interface SqliteReplayStoreOptions {
  /** The journal's database file (journalFileIn(dataDir)). */
  readonly file: string;
}

export class SqliteReplayStore implements ReplayStore {
  readonly #file: string;
  #db: Database.Database | null = null;
  #insert: Database.Statement<[string, number]> | null = null;
  #purge: Database.Statement<[number]> | null = null;

  constructor(options: SqliteReplayStoreOptions) {
    this.#file = options.file;
  }

  /** Opens its own connection to the journal file (created if needed). */
  open(): void {
    if (this.#db) return;
    let db: Database.Database;
    try {
      db = openWritableDatabase(this.#file);
    } catch (err) {
      throw unwritable(this.#file, 'open the replay store', err);
    }
    this.#db = db;
    this.#insert = db.prepare('INSERT OR IGNORE INTO replay (id, keep_until_ms) VALUES (?, ?)');
    this.#purge = db.prepare('DELETE FROM replay WHERE keep_until_ms < ?');
  }

  close(): void {
    const db = this.#db;
    this.#db = null;
    this.#insert = null;
    this.#purge = null;
    db?.close();
  }

  /**
   * True when `id` was new and is now durably recorded; false for a duplicate
   * (even one past its keep-until time and not yet purged: refusing is safe).
   * Throws `journal-unwritable` when it cannot record: the caller must then
   * refuse the command, never act on an id it could not remember.
   */
  remember(id: string, keepUntilWallMs: number): boolean {
    try {
      return this.#statement(this.#insert).run(id, Math.ceil(keepUntilWallMs)).changes === 1;
    } catch (err) {
      throw unwritable(this.#file, `record command id ${id}`, err);
    }
  }

  /** Forgets ids whose keep-until time is before `wallNowMs`; returns how many. */
  purge(wallNowMs: number): number {
    try {
      return this.#statement(this.#purge).run(Math.floor(wallNowMs)).changes;
    } catch (err) {
      throw unwritable(this.#file, 'purge expired command ids', err);
    }
  }

  #statement<T>(statement: T | null): T {
    if (!statement) throw unwritable(this.#file, 'use the replay store', 'it is not open');
    return statement;
  }
}
