/**
 * The PostgreSQL register's readers and its small writes that are not
 * ingest, with the same SQL shapes and row mappings as SQLite's
 * (sqlite-register-readers.ts). The purge runs in one transaction: its record
 * first, then the DELETE its trigger allows for that transaction only.
 */
import type pg from 'pg';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import { pagedEntries } from './entry-query.js';
import {
  ACCESS_LOG_RETENTION_MS,
  type AccessInput,
  type AccessRecord,
  type Annotation,
  type AnnotationInput,
  type EntryQuery,
  type PurgeRecord,
  type RegisterCounts,
  type SourceRecord,
} from './register-port.js';
import {
  ACCESS_COLUMNS,
  ANNOTATION_COLUMNS,
  AnnotationInputSchema,
  checkAccess,
  checkPurge,
  EVIDENCE_COLUMNS,
  parseInput,
  PURGE_COLUMNS,
  purgeSummary,
  rowToAccess,
  rowToAnnotation,
  rowToEntry,
  rowToEvidence,
  rowToPurge,
  type AccessRow,
  type AnnotationRow,
  type EntryRow,
  type EvidenceRecord,
  type EvidenceRow,
  type PurgeRow,
} from './register-rows.js';
import { SOURCES_SQL, sourceRecord, type SourceRow } from './sqlite-register-readers.js';

type Transaction = <T>(what: string, work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

async function arrays<T extends unknown[]>(
  db: pg.Pool | pg.PoolClient,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const result = await db.query<T>({ text, values, rowMode: 'array' });
  return result.rows;
}

async function one<T extends unknown[]>(
  db: pg.Pool | pg.PoolClient,
  text: string,
  values: unknown[],
): Promise<T> {
  const [row] = await arrays<T>(db, text, values);
  if (!row) throw new Error(`no row returned by ${text.slice(0, 40)}…`);
  return row;
}

export class PostgresRegisterReaders {
  readonly #pool: pg.Pool;
  readonly #clocks: { wallNowMs(): number };
  readonly #transaction: Transaction;

  constructor(pool: pg.Pool, clocks: { wallNowMs(): number }, transaction: Transaction) {
    this.#pool = pool;
    this.#clocks = clocks;
    this.#transaction = transaction;
  }

  entries(query: EntryQuery): AsyncIterable<JournalEntry> {
    return pagedEntries(
      query,
      (n) => `$${n}`,
      async ({ sql, params }) => (await arrays<EntryRow>(this.#pool, sql, params)).map(rowToEntry),
    );
  }

  async sources(): Promise<SourceRecord[]> {
    const keys = new Map<string, Buffer[]>();
    const keyRows = await arrays<[string, Buffer]>(
      this.#pool,
      'SELECT source, spki_der FROM source_keys ORDER BY source, first_seen_ms, id',
    );
    for (const [source, der] of keyRows) keys.set(source, [...(keys.get(source) ?? []), der]);
    const rows = await arrays<SourceRow>(this.#pool, SOURCES_SQL);
    return rows.map((row) => sourceRecord(row, keys.get(row[0]) ?? []));
  }

  async evidence(source?: string): Promise<EvidenceRecord[]> {
    const rows = await arrays<EvidenceRow>(
      this.#pool,
      `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE $1::text IS NULL OR source = $1 ORDER BY id`,
      [source ?? null],
    );
    return rows.map(rowToEvidence);
  }

  async counts(): Promise<RegisterCounts> {
    const [row] = await arrays<[number, number, number, number, number]>(
      this.#pool,
      `SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM heads),
              (SELECT count(*) FROM evidence), (SELECT count(*) FROM checkpoints),
              (SELECT count(*) FROM sources)`,
    );
    const [entries, heads, evidence, checkpoints, sources] = row ?? [0, 0, 0, 0, 0];
    return { entries, heads, evidence, checkpoints, sources };
  }

  annotate(input: AnnotationInput): Promise<Annotation> {
    const { sessionId, outcome, author } = parseInput(AnnotationInputSchema, input, 'annotation');
    return this.#transaction('annotate', async (client) =>
      rowToAnnotation(
        await one<AnnotationRow>(
          client,
          `INSERT INTO annotations (time_ms, session_id, outcome, author) VALUES ($1, $2, $3, $4)
           RETURNING ${ANNOTATION_COLUMNS}`,
          [this.#clocks.wallNowMs(), sessionId, outcome, author],
        ),
      ),
    );
  }

  async annotations(sessionIds?: readonly string[]): Promise<Annotation[]> {
    const rows = await arrays<AnnotationRow>(
      this.#pool,
      `SELECT ${ANNOTATION_COLUMNS} FROM annotations
       WHERE $1::text[] IS NULL OR session_id = ANY($1) ORDER BY id`,
      [sessionIds ? [...sessionIds] : null],
    );
    return rows.map(rowToAnnotation);
  }

  recordAccess(input: AccessInput): Promise<AccessRecord> {
    const a = checkAccess(input);
    return this.#transaction('record an access', async (client) =>
      rowToAccess(
        await one<AccessRow>(
          client,
          `INSERT INTO access_log (time_ms, who, action, why, to_whom, cameras, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ACCESS_COLUMNS}`,
          [
            this.#clocks.wallNowMs(),
            a.who,
            a.action,
            a.why,
            a.toWhom,
            JSON.stringify(a.cameras),
            a.detail,
          ],
        ),
      ),
    );
  }

  async accessLog(range: { fromMs?: number; toMs?: number }): Promise<AccessRecord[]> {
    return this.#accessLog(this.#pool, range);
  }

  async #accessLog(
    db: pg.Pool | pg.PoolClient,
    range: { fromMs?: number; toMs?: number },
  ): Promise<AccessRecord[]> {
    const rows = await arrays<AccessRow>(
      db,
      `SELECT ${ACCESS_COLUMNS} FROM access_log WHERE time_ms >= $1 AND time_ms < $2 ORDER BY id`,
      [range.fromMs ?? Number.MIN_SAFE_INTEGER, range.toMs ?? Number.MAX_SAFE_INTEGER],
    );
    return rows.map(rowToAccess);
  }

  purgeAccessLog(beforeMs: number, who: string): Promise<PurgeRecord> {
    checkPurge(beforeMs, who, this.#clocks.wallNowMs(), ACCESS_LOG_RETENTION_MS);
    return this.#transaction('purge the access log', async (client) => {
      // Nobody appends to the access log between the read and the delete.
      await client.query('LOCK TABLE access_log IN SHARE ROW EXCLUSIVE MODE');
      const summary = purgeSummary(await this.#accessLog(client, { toMs: beforeMs }));
      const row = await one<PurgeRow>(
        client,
        `INSERT INTO purges (time_ms, who, before_ms, removed, first_id, last_id, removed_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${PURGE_COLUMNS}`,
        [
          this.#clocks.wallNowMs(),
          who,
          beforeMs,
          summary.removed,
          summary.firstId,
          summary.lastId,
          summary.removedSha256,
        ],
      );
      const deleted = await client.query('DELETE FROM access_log WHERE time_ms < $1', [beforeMs]);
      if (deleted.rowCount !== summary.removed) {
        throw new Error(
          `the purge removed ${deleted.rowCount} rows, ${summary.removed} were counted`,
        );
      }
      return rowToPurge(row);
    });
  }

  async purges(): Promise<PurgeRecord[]> {
    return (
      await arrays<PurgeRow>(this.#pool, `SELECT ${PURGE_COLUMNS} FROM purges ORDER BY id`)
    ).map(rowToPurge);
  }
}
