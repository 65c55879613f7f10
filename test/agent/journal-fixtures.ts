/**
 * Fixtures for the journal tests (not a test file): journals in temp
 * directories removed in teardown, box keys, and an attacker's raw access to
 * the database file (triggers dropped, as someone holding the file would).
 */
import Database from 'better-sqlite3';
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { SqliteJournal, type SqliteJournalOptions } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { EntryHasher } from '../../protocol/src/entry-hasher.js';
import { signHead } from '../../protocol/src/journal-head.js';

export const SOURCE = 'box-01';
export const BOOT_ID = '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10';

export interface BoxKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function p256Key(): BoxKey {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function tempDir(t: Test, prefix = 'vigie-journal-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A wall clock that moves one second per reading from 2025-03-01T10:00:00Z. */
export function steppingClock(): { wallNowMs(): number } {
  let ms = Date.UTC(2025, 2, 1, 10, 0, 0);
  return { wallNowMs: () => (ms += 1000) };
}

export function journalOptions(
  file: string,
  key: BoxKey,
  overrides: Partial<SqliteJournalOptions> = {},
): SqliteJournalOptions {
  return {
    file,
    source: SOURCE,
    bootId: BOOT_ID,
    signingKey: key.privateKey,
    clocks: steppingClock(),
    ...overrides,
  };
}

/** Opens a journal (closed in teardown) in `dir` or a fresh temp dir. */
export function openJournal(
  t: Test,
  key: BoxKey,
  overrides: Partial<SqliteJournalOptions> & { dir?: string } = {},
): SqliteJournal {
  const { dir, ...rest } = overrides;
  const journal = new SqliteJournal(journalOptions(journalFileIn(dir ?? tempDir(t)), key, rest));
  journal.open();
  t.teardown(() => journal.close());
  return journal;
}

/** A closed journal file with `count` entries of alternating session types. */
export function writeJournal(
  t: Test,
  key: BoxKey,
  count: number,
  overrides: Partial<SqliteJournalOptions> & { dir?: string } = {},
): string {
  const journal = openJournal(t, key, overrides);
  for (let i = 0; i < count; i++) {
    journal.append(i % 2 === 0 ? 'session.opened' : 'session.closed', {
      sessionId: `s-${i >> 1}`,
      cameras: ['cam-01', 'cam-02'],
      n: i,
    });
  }
  journal.close();
  return journal.file;
}

/** Runs `edit` on the file with the append-only triggers dropped: an attacker's access. */
export function tamper(file: string, edit: (db: Database.Database) => void): void {
  const db = new Database(file);
  try {
    for (const table of ['entries', 'heads', 'current_head']) {
      db.exec(
        `DROP TRIGGER IF EXISTS ${table}_no_update; DROP TRIGGER IF EXISTS ${table}_no_delete;`,
      );
    }
    edit(db);
  } finally {
    db.close();
  }
}

/**
 * SHA-256 of the journal's content: the file's bytes and its -wal's, an absent
 * -wal counting as empty (any SQLite reader of a WAL database, even read-only,
 * creates an empty -wal and the -shm index if they are missing). The -shm is
 * left out: it is the shared-memory index where every reader takes its read
 * lock, rebuilt from the WAL, holding no data.
 */
export function fileFingerprint(file: string): string {
  const hash = createHash('sha256');
  for (const f of [file, `${file}-wal`]) {
    hash.update(f).update(readIfPresent(f));
  }
  return hash.digest('hex');
}

function readIfPresent(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

export const newBootId = (): string => randomUUID();

type EntryRowOnDisk = [number, string, string, string, string, string, Buffer, Buffer];

/** Swaps the contents of two entries, seq numbers left in place: the chain reordered. */
export function swapEntries(db: Database.Database, seqA: number, seqB: number): void {
  const cols = 'source, time, boot_id, type, data, prev_hash, hash';
  const get = db.prepare(`SELECT ${cols} FROM entries WHERE seq = ?`).raw(true);
  const [a, b] = [get.get(seqA) as unknown[], get.get(seqB) as unknown[]];
  const set = db.prepare(
    'UPDATE entries SET source=?, time=?, boot_id=?, type=?, data=?, prev_hash=?, hash=? WHERE seq=?',
  );
  set.run(...b, seqA);
  set.run(...a, seqB);
}

/** Re-hashes every entry from `fromSeq` on, as an attacker covering an edit would. */
export function rechain(db: Database.Database, fromSeq: number): void {
  const rows = db.prepare('SELECT * FROM entries ORDER BY seq').raw(true).all() as EntryRowOnDisk[];
  const hasher = new EntryHasher();
  let prev: Buffer = Buffer.alloc(32);
  const update = db.prepare('UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const [seq, source, time, bootId, type, data, , hash] of rows) {
    if (seq < fromSeq) {
      prev = hash;
      continue;
    }
    const newHash = hasher.hash(source, seq, time, bootId, type, data, prev);
    update.run(prev, newHash, seq);
    prev = newHash;
  }
}

/** Recomputes the stored hash of one entry from its (edited) content. */
export function rehashOne(db: Database.Database, seq: number): void {
  const row = db
    .prepare('SELECT * FROM entries WHERE seq = ?')
    .raw(true)
    .get(seq) as EntryRowOnDisk;
  const [, source, time, bootId, type, data, prevHash] = row;
  const hash = new EntryHasher().hash(source, seq, time, bootId, type, data, prevHash);
  db.prepare('UPDATE entries SET hash = ? WHERE seq = ?').run(hash, seq);
}

/** Re-signs every stored head with `key` over the (possibly re-hashed) entries. */
export function resignHeads(db: Database.Database, key: KeyObject): void {
  for (const table of ['heads', 'current_head']) {
    const rows = db.prepare(`SELECT source, seq FROM ${table}`).raw(true).all() as [
      string,
      number,
    ][];
    for (const [source, seq] of rows) {
      const hash = db.prepare('SELECT hash FROM entries WHERE seq = ?').pluck().get(seq) as Buffer;
      const head = signHead({ source, seq, hash: hash.toString('hex') }, key);
      db.prepare(`UPDATE ${table} SET hash = ?, sig = ? WHERE seq = ?`).run(
        hash,
        Buffer.from(head.sig, 'base64url'),
        seq,
      );
    }
  }
}
