/**
 * Reading a journal database: entries in seq order, by type, and the signed
 * heads. Pages of rows rather than one open cursor, so a caller may append
 * between two pages on the same connection (better-sqlite3 refuses writes
 * while a statement iterates).
 */
import type Database from 'better-sqlite3';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../../protocol/src/journal-head.js';
import {
  ENTRY_COLUMNS,
  HEAD_COLUMNS,
  rowToEntry,
  rowToHead,
  type EntryRow,
  type HeadRow,
} from '../../../protocol/src/journal-rows.js';

/** Rows fetched per page (about 0.5 MB at most with 1 KiB entries). */
const PAGE_ROWS = 512;

export class JournalReader {
  readonly #db: Database.Database;
  readonly #page: Database.Statement<[number, number], EntryRow>;
  readonly #last: Database.Statement<[], EntryRow>;
  readonly #head: Database.Statement<[], HeadRow>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#page = db
      .prepare<[number, number], EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`,
      )
      .raw(true);
    this.#last = db
      .prepare<[], EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM entries ORDER BY seq DESC LIMIT 1`)
      .raw(true);
    this.#head = db
      .prepare<[], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM current_head WHERE id = 1`)
      .raw(true);
  }

  /** Entries with seq >= fromSeq, ascending, at most `limit` of them. */
  *entries(fromSeq = 1, limit = Number.POSITIVE_INFINITY): Generator<JournalEntry> {
    let next = fromSeq;
    let left = limit;
    while (left > 0) {
      const rows = this.#page.all(next, Math.min(PAGE_ROWS, left));
      for (const row of rows) yield rowToEntry(row);
      const last = rows[rows.length - 1];
      if (!last || rows.length < Math.min(PAGE_ROWS, left)) return;
      next = last[0] + 1;
      left -= rows.length;
    }
  }

  /**
   * Entries of the given types with seq >= fromSeq, ascending: a scan of the
   * (type, seq) index, e.g. session.opened / session.closed at agent start.
   */
  *entriesOfTypes(types: readonly string[], fromSeq = 1): Generator<JournalEntry> {
    if (types.length === 0) return;
    const marks = types.map(() => '?').join(', ');
    const page = this.#db
      .prepare<unknown[], EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries WHERE type IN (${marks}) AND seq >= ? ORDER BY seq LIMIT ?`,
      )
      .raw(true);
    let next = fromSeq;
    for (;;) {
      const rows = page.all(...types, next, PAGE_ROWS);
      for (const row of rows) yield rowToEntry(row);
      const last = rows[rows.length - 1];
      if (!last || rows.length < PAGE_ROWS) return;
      next = last[0] + 1;
    }
  }

  lastEntry(): JournalEntry | null {
    const row = this.#last.get();
    return row ? rowToEntry(row) : null;
  }

  /** The signed head of the last entry (null for an empty journal). */
  lastHead(): SignedHead | null {
    const row = this.#head.get();
    return row ? rowToHead(row) : null;
  }
}
