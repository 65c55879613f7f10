/**
 * What verifyAll reads from a PostgreSQL register (register-verify.ts), on one
 * connection inside a REPEATABLE READ READ ONLY transaction: one snapshot.
 * Rows come as arrays, in the same column order as SQLite's.
 */
import type pg from 'pg';
import { nodeKey } from './merkle-nodes.js';
import {
  CHECKPOINT_COLUMNS,
  HEAD_COLUMNS,
  type CheckpointRow,
  type HeadRow,
} from './register-rows.js';
import { leafEntryColumns, type LeafEntryRow, type VerifySnapshot } from './register-verify.js';
import { keysBySource } from './sqlite-verify-snapshot.js';

const LEAF_ENTRY_COLUMNS = leafEntryColumns((blob) => `encode(${blob}, 'hex')`);

async function arrays<T extends unknown[]>(
  client: pg.PoolClient,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const result = await client.query<T>({ text, values, rowMode: 'array' });
  return result.rows;
}

export function pgSnapshot(client: pg.PoolClient): VerifySnapshot {
  return {
    keys: async () =>
      keysBySource(
        await arrays<[string, Buffer]>(
          client,
          'SELECT source, spki_der FROM source_keys ORDER BY source, first_seen_ms, id',
        ),
      ),
    heads: () => arrays<HeadRow>(client, `SELECT ${HEAD_COLUMNS} FROM heads ORDER BY source, seq`),
    checkpoints: () =>
      arrays<CheckpointRow>(
        client,
        `SELECT ${CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY tree_size`,
      ),
    page: (afterLeaf, limit) =>
      arrays<LeafEntryRow>(
        client,
        `SELECT ${LEAF_ENTRY_COLUMNS} FROM entries WHERE leaf > $1 ORDER BY leaf LIMIT $2`,
        [afterLeaf, limit],
      ),
    nodes: async (ids) => {
      const rows = await arrays<[number, number, Buffer]>(
        client,
        `SELECT level, idx, hash FROM merkle_nodes
         WHERE (level, idx) IN (SELECT * FROM unnest($1::int[], $2::bigint[]))`,
        [ids.map((id) => id.level), ids.map((id) => id.index)],
      );
      return new Map(rows.map(([level, index, hash]) => [nodeKey({ level, index }), hash]));
    },
    nodeCount: async () => {
      const rows = await arrays<[number]>(client, 'SELECT count(*) FROM merkle_nodes');
      return rows[0]?.[0] ?? 0;
    },
  };
}
