/**
 * The agent's local journal (rule 5): append-only, hash-chained, and the box
 * signs the chain head as it appends, so that an auditor verifies N entries
 * with N hashes and one signature check per stored head.
 *
 * One append is ONE SQLite transaction holding the entry, the new signed head
 * (`current_head`) and, every `milestoneEvery` entries, a milestone head kept
 * forever. With WAL and synchronous=FULL the commit is on disk when `append`
 * returns: the caller acts only after that (written before the act).
 */
import type Database from 'better-sqlite3';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { isVigieError, VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import { canonicalJson } from '../../../protocol/src/canonical-json.js';
import {
  appendEntry,
  EntryTypeSchema,
  MAX_ENTRY_DATA_BYTES,
  type JournalEntry,
} from '../../../protocol/src/journal-entry.js';
import { IdSchema, UuidSchema } from '../../../protocol/src/ids.js';
import {
  headKeyKind,
  signHead,
  verifyHead,
  type SignedHead,
} from '../../../protocol/src/journal-head.js';
import type { Clocks, Journal } from '../ports.js';
import { openReadonlyDatabase, openWritableDatabase, unwritable } from './journal-database.js';
import { JournalReader } from './journal-reader.js';
import {
  entryToRow,
  headToRow,
  HEAD_COLUMNS,
  ENTRY_COLUMNS,
  rowToHead,
  type EntryRow,
  type HeadRow,
} from '../../../protocol/src/journal-rows.js';

/** Default spacing of milestone heads: 1,000 signature checks for a 1M-entry journal. */
export const DEFAULT_MILESTONE_EVERY = 1000;

export interface SqliteJournalOptions {
  /** The database file, normally journalFileIn(dataDir). */
  readonly file: string;
  /** This box's id: the `source` of every entry. */
  readonly source: string;
  /** This boot's UUID (lowercase), in every entry. */
  readonly bootId: string;
  /** The box's private key (ECDSA P-256 from its certificate, or Ed25519). */
  readonly signingKey: KeyObject;
  readonly clocks: Pick<Clocks, 'wallNowMs'>;
  readonly logger?: Logger;
  /** A milestone head every this many entries (default 1000). */
  readonly milestoneEvery?: number;
}

interface Statements {
  readonly last: Database.Statement<[], [number, Buffer]>;
  readonly currentHead: Database.Statement<[], HeadRow>;
  readonly insertEntry: Database.Statement<EntryRow>;
  readonly replaceHead: Database.Statement<HeadRow>;
  readonly insertMilestone: Database.Statement<HeadRow>;
}

export class SqliteJournal implements Journal {
  readonly #options: SqliteJournalOptions;
  #db: Database.Database | null = null;
  #reader: JournalReader | null = null;
  #statements: Statements | null = null;
  #writable = false;
  readonly #appendListeners = new Set<(entry: JournalEntry) => void>();
  /** The head this process signed last (its signature, base64url): trusted without a check. */
  #signedHeadSig: string | null = null;
  #publicKey: KeyObject | null = null;

  constructor(options: SqliteJournalOptions) {
    this.#options = options;
  }

  get writable(): boolean {
    return this.#writable;
  }

  get file(): string {
    return this.#options.file;
  }

  /**
   * Creates or opens the journal. When the file exists but cannot be written
   * (read-only medium, full disk), it opens read-only with `writable` false:
   * the agent still starts, reads its journal and refuses new sessions; each
   * later append tries again. Throws `journal-invalid` for a foreign file and
   * `journal-unwritable` when there is no journal to read either (SQLite cannot
   * read a WAL database on read-only media once its -shm is gone).
   */
  open(): void {
    if (this.#db) return;
    checkIdentity(this.#options);
    headKeyKind(this.#options.signingKey);
    try {
      this.#attach(openWritableDatabase(this.#options.file), true);
    } catch (err) {
      // A foreign or newer file is never opened, not even read-only.
      if (isVigieError(err, 'journal-invalid') || isVigieError(err, 'journal-key-unsupported'))
        throw err;
      this.#openReadOnly(err);
    }
    this.#checkSource();
  }

  /** Fallback of open(): read what is there, refuse new sessions, retry at each append. */
  #openReadOnly(cause: unknown): void {
    const { file, logger } = this.#options;
    let db: Database.Database;
    try {
      db = openReadonlyDatabase(file);
    } catch (err) {
      // Nothing readable either (e.g. created empty on a full disk): the write error is the news.
      logger?.debug('journal not readable either', () => ({ file, err: String(err) }));
      throw unwritable(file, 'open the journal', cause);
    }
    logger?.error('journal opened read-only: it cannot be written', cause, { file });
    this.#attach(db, false);
  }

  close(): void {
    const db = this.#db;
    this.#db = null;
    this.#reader = null;
    this.#statements = null;
    this.#writable = false;
    db?.close();
  }

  /**
   * Appends one entry and its signed head in one durable transaction. Throws
   * `journal-unwritable` (and `writable` becomes false) when it could not be
   * committed; throws `payload-invalid` for a bad type or data, which says
   * nothing about the disk and leaves `writable` as it was.
   */
  append(type: string, data: Record<string, unknown>): JournalEntry {
    const parsedType = EntryTypeSchema.safeParse(type);
    if (!parsedType.success) {
      throw new VigieError(
        'payload-invalid',
        `journal entry type ${JSON.stringify(type)} is not a dotted lowercase name`,
      );
    }
    const dataJson = canonicalJson(data);
    if (Buffer.byteLength(dataJson) > MAX_ENTRY_DATA_BYTES) {
      throw new VigieError(
        'payload-invalid',
        `journal entry data is over ${MAX_ENTRY_DATA_BYTES} bytes`,
      );
    }
    try {
      const { db, statements } = this.#writableConnection();
      const entry = db.transaction(() => this.#write(statements, type, data, dataJson)).immediate();
      this.#writable = true;
      this.#notify(entry);
      return entry;
    } catch (err) {
      this.#writable = false;
      this.#signedHeadSig = null; // rolled back: the next append checks the file's head again
      const error = unwritable(this.#options.file, `append a ${type} entry`, err);
      this.#options.logger?.error('journal append failed', error);
      throw error;
    }
  }

  /**
   * Calls `listener` after each durable append (the register's outbox). A
   * listener must only take note and return: it runs inside append, on the
   * path of the act that journals.
   */
  onAppended(listener: (entry: JournalEntry) => void): () => void {
    this.#appendListeners.add(listener);
    return () => this.#appendListeners.delete(listener);
  }

  #notify(entry: JournalEntry): void {
    for (const listener of this.#appendListeners) {
      try {
        listener(entry);
      } catch (err) {
        this.#options.logger?.error('a journal append listener failed', err);
      }
    }
  }

  /** Entries with seq >= fromSeq in order, read page by page. */
  entries(fromSeq = 1, limit?: number): Generator<JournalEntry> {
    return this.#requireReader().entries(fromSeq, limit);
  }

  /** Entries of these types with seq >= fromSeq in order, through the type index. */
  entriesOfTypes(types: readonly string[], fromSeq = 1): Generator<JournalEntry> {
    return this.#requireReader().entriesOfTypes(types, fromSeq);
  }

  lastEntry(): JournalEntry | null {
    return this.#requireReader().lastEntry();
  }

  /** The box-signed head of the last entry, to forward to the register. */
  lastHead(): SignedHead | null {
    return this.#requireReader().lastHead();
  }

  #write(
    statements: Statements,
    type: string,
    data: Record<string, unknown>,
    dataJson: string,
  ): JournalEntry {
    // Read the last entry inside the transaction: after a failed commit the
    // database, not a cached value, says where the chain stands.
    const last = statements.last.get();
    this.#checkCurrentHead(statements, last);
    const { source, bootId, clocks, signingKey } = this.#options;
    const entry = appendEntry(last ? { seq: last[0], hash: last[1].toString('hex') } : null, {
      source,
      time: new Date(clocks.wallNowMs()).toISOString(),
      bootId,
      type,
      data,
    });
    const signed = signHead({ source, seq: entry.seq, hash: entry.hash }, signingKey);
    const head = headToRow(signed);
    statements.insertEntry.run(...entryToRow(entry, dataJson));
    statements.replaceHead.run(...head);
    if (entry.seq % (this.#options.milestoneEvery ?? DEFAULT_MILESTONE_EVERY) === 0) {
      statements.insertMilestone.run(...head);
    }
    this.#signedHeadSig = signed.sig; // only kept once the transaction commits (see append)
    return entry;
  }

  /**
   * The box signs a new head over the chain as the file holds it, so it must
   * first know that the file's head is one it signed and that it vouches for
   * the last entry: otherwise a chain rewritten and re-signed with another
   * key would be laundered by the next genuine append. The head this process
   * wrote last is trusted as is (same signature bytes); any other (first
   * append after open, or a file changed under the running agent) costs one
   * signature check. A failure refuses the append: sessions are refused
   * (rule 5) until the journal is looked at (`vigie journal verify`).
   */
  #checkCurrentHead(statements: Statements, last: [number, Buffer] | undefined): void {
    const row = statements.currentHead.get();
    if (!last) {
      if (row) throw headProblem('a signed head exists but the journal has no entry');
      return;
    }
    if (!row) throw headProblem(`no signed head vouches for the last entry (seq ${last[0]})`);
    const head = rowToHead(row);
    if (head.seq !== last[0] || head.hash !== last[1].toString('hex')) {
      throw headProblem(`the signed head names seq ${head.seq}, the last entry is seq ${last[0]}`);
    }
    if (head.sig === this.#signedHeadSig) return;
    this.#publicKey ??= createPublicKey(this.#options.signingKey);
    if (head.source !== this.#options.source || !verifyHead(head, this.#publicKey)) {
      throw headProblem(`the signed head at seq ${head.seq} was not signed by this box's key`);
    }
    this.#signedHeadSig = head.sig;
  }

  #attach(db: Database.Database, writable: boolean): Statements | null {
    this.#db = db;
    this.#reader = new JournalReader(db);
    this.#statements = writable ? prepareStatements(db) : null;
    this.#writable = writable;
    return this.#statements;
  }

  /** The connection to write with, reopened read-write first if open() had to fall back to read-only. */
  #writableConnection(): { db: Database.Database; statements: Statements } {
    if (!this.#db)
      throw new VigieError('journal-unwritable', `the journal ${this.#options.file} is not open`);
    if (this.#statements) return { db: this.#db, statements: this.#statements };
    const db = openWritableDatabase(this.#options.file);
    this.#db.close();
    const statements = this.#attach(db, true);
    if (!statements) throw new VigieError('journal-unwritable', 'no write statements');
    return { db, statements };
  }

  #requireReader(): JournalReader {
    if (!this.#reader)
      throw new VigieError('journal-invalid', `the journal ${this.#options.file} is not open`);
    return this.#reader;
  }

  #checkSource(): void {
    const last = this.lastEntry();
    if (last && last.source !== this.#options.source) {
      const file = this.#options.file;
      this.close();
      throw new VigieError(
        'journal-invalid',
        `${file} is the journal of ${last.source}, not of ${this.#options.source}`,
      );
    }
  }
}

function headProblem(what: string): VigieError {
  return new VigieError(
    'journal-broken',
    `${what}: the journal was changed outside the agent; nothing is signed over it (vigie journal verify)`,
  );
}

/** Entries must pass the protocol's schema at the register: refuse a bad source or bootId up front. */
function checkIdentity(options: SqliteJournalOptions): void {
  if (!IdSchema.safeParse(options.source).success) {
    throw new VigieError(
      'config-invalid',
      `journal source ${JSON.stringify(options.source)} is not a valid box id`,
    );
  }
  if (!UuidSchema.safeParse(options.bootId).success) {
    throw new VigieError(
      'config-invalid',
      `journal bootId ${JSON.stringify(options.bootId)} is not a lowercase UUID`,
    );
  }
}

function prepareStatements(db: Database.Database): Statements {
  return {
    last: db
      .prepare<[], [number, Buffer]>('SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1')
      .raw(true),
    currentHead: db
      .prepare<[], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM current_head WHERE id = 1`)
      .raw(true),
    insertEntry: db.prepare<EntryRow>(
      `INSERT INTO entries (${ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    replaceHead: db.prepare<HeadRow>(
      `INSERT OR REPLACE INTO current_head (id, ${HEAD_COLUMNS}) VALUES (1, ?, ?, ?, ?)`,
    ),
    insertMilestone: db.prepare<HeadRow>(`INSERT INTO heads (${HEAD_COLUMNS}) VALUES (?, ?, ?, ?)`),
  };
}
