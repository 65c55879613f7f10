/**
 * The SQL of entries(query) for both backends (SQLite `?`, PostgreSQL `$n`):
 * filters AND-ed, ordered by (time, source, seq), read page by page from a
 * keyset (the last row of the previous page) so that no reader ever holds all
 * entries, nor keeps a cursor open across a write.
 */
import { ENTRY_COLUMNS } from './register-rows.js';
import type { EntryQuery } from './register-port.js';

/** Rows per page of entries(). */
export const ENTRY_PAGE_ROWS = 1000;

export type Keyset = readonly [time: string, source: string, seq: number];

export interface PageSql {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** The query for the page after `after` (null: the first page). */
export function entryPageSql(
  query: EntryQuery,
  after: Keyset | null,
  limit: number,
  placeholder: (n: number) => string,
): PageSql {
  const params: (string | number)[] = [];
  const p = (value: string | number): string => {
    params.push(value);
    return placeholder(params.length);
  };
  const where: string[] = [];
  if (query.sources) {
    where.push(
      query.sources.length === 0 ? 'FALSE' : `source IN (${query.sources.map(p).join(', ')})`,
    );
  }
  if (query.types) {
    const types = query.types.map((t) =>
      t.endsWith('.') ? `substr(type, 1, ${Buffer.from(t).length}) = ${p(t)}` : `type = ${p(t)}`,
    );
    where.push(types.length === 0 ? 'FALSE' : `(${types.join(' OR ')})`);
  }
  if (query.fromTime !== undefined) where.push(`time >= ${p(query.fromTime)}`);
  if (query.toTime !== undefined) where.push(`time < ${p(query.toTime)}`);
  if (query.fromSeq !== undefined) where.push(`seq >= ${p(query.fromSeq)}`);
  if (after) where.push(`(time, source, seq) > (${p(after[0])}, ${p(after[1])}, ${p(after[2])})`);
  const sql = `SELECT ${ENTRY_COLUMNS} FROM entries${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY time, source, seq LIMIT ${p(limit)}`;
  return { sql, params };
}

/** Pages through entries: `page` runs one PageSql; stops at the query's limit. */
export async function* pagedEntries<T extends { time: string; source: string; seq: number }>(
  query: EntryQuery,
  placeholder: (n: number) => string,
  page: (sql: PageSql) => Promise<T[]>,
): AsyncGenerator<T> {
  let left = query.limit ?? Number.POSITIVE_INFINITY;
  let after: Keyset | null = null;
  while (left > 0) {
    const want = Math.min(left, ENTRY_PAGE_ROWS);
    const rows = await page(entryPageSql(query, after, want, placeholder));
    for (const row of rows) yield row;
    left -= rows.length;
    const last = rows[rows.length - 1];
    if (!last || rows.length < want) return;
    after = [last.time, last.source, last.seq];
  }
}
