/**
 * What verifyAll reads from a SQLite register (register-verify.ts), from a
 * read-only connection inside one read transaction: one snapshot.
 */
import type Database from 'better-sqlite3';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { nodeKey } from './merkle-nodes.js';
import {
  CHECKPOINT_COLUMNS,
  HEAD_COLUMNS,
  type CheckpointRow,
  type HeadRow,
} from './register-rows.js';
import { leafEntryColumns, type LeafEntryRow, type VerifySnapshot } from './register-verify.js';

// `||` makes text of the two BLOBs byte for byte (UTF-8 database), hex() gives the bytes back.
const LEAF_ENTRY_COLUMNS = leafEntryColumns((blob) => `lower(hex(${blob}))`);

/** Every key of every source, oldest first: DER SPKI parsed once. */
export function keysBySource(rows: Iterable<[string, Buffer]>): Map<string, KeyObject[]> {
  const keys = new Map<string, KeyObject[]>();
  for (const [source, der] of rows) {
    const list = keys.get(source) ?? [];
    list.push(createPublicKey({ key: der, format: 'der', type: 'spki' }));
    keys.set(source, list);
  }
  return keys;
}

export function sqliteSnapshot(db: Database.Database): VerifySnapshot {
  const page = db
    .prepare<[number, number], LeafEntryRow>(
      `SELECT ${LEAF_ENTRY_COLUMNS} FROM entries WHERE leaf > ? ORDER BY leaf LIMIT ?`,
    )
    .raw();
  const node = db
    .prepare<[number, number], Buffer>('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?')
    .pluck();
  return {
    keys: () =>
      Promise.resolve(
        keysBySource(
          db
            .prepare<[], [string, Buffer]>(
              'SELECT source, spki_der FROM source_keys ORDER BY source, first_seen_ms, rowid',
            )
            .raw()
            .all(),
        ),
      ),
    heads: () =>
      Promise.resolve(
        db
          .prepare<[], HeadRow>(`SELECT ${HEAD_COLUMNS} FROM heads ORDER BY source, seq`)
          .raw()
          .all(),
      ),
    checkpoints: () =>
      Promise.resolve(
        db
          .prepare<[], CheckpointRow>(
            `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY tree_size`,
          )
          .raw()
          .all(),
      ),
    page: (afterLeaf, limit) => Promise.resolve(page.all(afterLeaf, limit)),
    nodes: (ids) => {
      const found = new Map<string, Buffer>();
      for (const id of ids) {
        const hash = node.get(id.level, id.index);
        if (hash) found.set(nodeKey(id), hash);
      }
      return Promise.resolve(found);
    },
    nodeCount: () =>
      Promise.resolve(
        db.prepare<[], number>('SELECT count(*) FROM merkle_nodes').pluck().get() ?? 0,
      ),
  };
}
