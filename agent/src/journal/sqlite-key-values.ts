/**
 * The few small values the agent keeps across restarts, in the journal's
 * database file: the last trusted wall time (a box whose clock reads earlier
 * than this is not trusted), the register's last acknowledgement of this box,
 * the register's last signed tree head it accepted, and why the outbox
 * stopped sending, if it did (agent/src/register/outbox.ts).
 */
import type Database from 'better-sqlite3';
import { openWritableDatabase, unwritable } from './journal-database.js';

export interface RegisterCheckpoint {
  /** Last seq the register acknowledged, and its entry hash (hex). */
  readonly seq: number;
  readonly hash: string;
}

const LAST_TRUSTED_WALL_MS = 'clock.lastTrustedWallMs';
const REGISTER_CHECKPOINT = 'register.checkpoint';
const REGISTER_TREE_HEAD = 'register.treeHead';
const REGISTER_STOP = 'register.stop';

/**
 * The register's last signed checkpoint (Merkle tree head) this box accepted,
 * with the register key id it verified under: each new one must extend it.
 */
export interface KeptTreeHead {
  readonly kid: string;
  /** A protocol Checkpoint (checked again with its schema when read). */
  readonly checkpoint: unknown;
}

/** Why the outbox stopped sending to the register (kept until an operator clears it). */
export interface RegisterStop {
  readonly kid: string;
  readonly code: string;
  readonly detail: string;
  readonly wallMs: number;
}

export class SqliteKeyValues {
  readonly #file: string;
  #db: Database.Database | null = null;

  constructor(options: { readonly file: string }) {
    this.#file = options.file;
  }

  open(): void {
    if (this.#db) return;
    try {
      this.#db = openWritableDatabase(this.#file);
    } catch (err) {
      throw unwritable(this.#file, 'open the key/value store', err);
    }
  }

  close(): void {
    const db = this.#db;
    this.#db = null;
    db?.close();
  }

  lastTrustedWallMs(): number | null {
    const value = this.#get(LAST_TRUSTED_WALL_MS);
    const ms = value === null ? Number.NaN : Number(value);
    return Number.isSafeInteger(ms) ? ms : null;
  }

  /**
   * Raises the last trusted wall time to `wallMs`; never lowers it, because the
   * value is a floor: a clock reading earlier than a time once trusted is wrong.
   */
  recordTrustedWallMs(wallMs: number): void {
    const current = this.lastTrustedWallMs();
    if (current === null || wallMs > current)
      this.#set(LAST_TRUSTED_WALL_MS, String(Math.floor(wallMs)));
  }

  registerCheckpoint(): RegisterCheckpoint | null {
    const value = this.#get(REGISTER_CHECKPOINT);
    if (value === null) return null;
    const parsed = JSON.parse(value) as Partial<RegisterCheckpoint>;
    return typeof parsed.seq === 'number' && typeof parsed.hash === 'string'
      ? { seq: parsed.seq, hash: parsed.hash }
      : null;
  }

  setRegisterCheckpoint(checkpoint: RegisterCheckpoint): void {
    this.#set(REGISTER_CHECKPOINT, JSON.stringify({ seq: checkpoint.seq, hash: checkpoint.hash }));
  }

  registerTreeHead(): KeptTreeHead | null {
    const value = this.#getJson(REGISTER_TREE_HEAD) as Partial<KeptTreeHead> | null;
    return value && typeof value.kid === 'string'
      ? { kid: value.kid, checkpoint: value.checkpoint }
      : null;
  }

  setRegisterTreeHead(kept: KeptTreeHead): void {
    this.#set(REGISTER_TREE_HEAD, JSON.stringify(kept));
  }

  registerStop(): RegisterStop | null {
    const value = this.#getJson(REGISTER_STOP) as Partial<RegisterStop> | null;
    return value && typeof value.kid === 'string' && typeof value.code === 'string'
      ? {
          kid: value.kid,
          code: value.code,
          detail: String(value.detail ?? ''),
          wallMs: Number(value.wallMs ?? 0),
        }
      : null;
  }

  /** Records why sending stopped, or clears it (null: an operator acted). */
  setRegisterStop(stop: RegisterStop | null): void {
    this.#set(REGISTER_STOP, JSON.stringify(stop));
  }

  #getJson(key: string): unknown {
    const value = this.#get(key);
    if (value === null) return null;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      // A value that is not JSON is as good as none: the outbox starts from what the register says.
      return null;
    }
  }

  #get(key: string): string | null {
    const value: unknown = this.#open()
      .prepare('SELECT value FROM kv WHERE key = ?')
      .pluck()
      .get(key);
    return typeof value === 'string' ? value : null;
  }

  #set(key: string, value: string): void {
    try {
      this.#open().prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)').run(key, value);
    } catch (err) {
      throw unwritable(this.#file, `store ${key}`, err);
    }
  }

  #open(): Database.Database {
    if (!this.#db) throw unwritable(this.#file, 'use the key/value store', 'it is not open');
    return this.#db;
  }
}
