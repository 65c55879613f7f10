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
