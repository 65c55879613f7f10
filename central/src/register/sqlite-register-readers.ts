/**
 * The SQLite register's readers and its small writes that are not ingest:
 * entries by query, sources, evidence, counts, annotations, the access log and
 * its purge. Writes run inside the store's IMMEDIATE transaction
 * (register-store.ts #write).
 */
import type Database from 'better-sqlite3';
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

export type SourceRow = [
  source: string,
  kind: 'box' | 'relay',
  site: string | null,
  firstSeenMs: number,
  lastSeq: number | null,
  lastTime: string | null,
  vouched: number | null,
  evidence: number,
];

/** One query for every source, each figure from an index (no scan of the entries). */
export const SOURCES_SQL = `
SELECT s.source, s.kind, s.site, s.first_seen_ms,
  (SELECT e.seq FROM entries e WHERE e.source = s.source ORDER BY e.seq DESC LIMIT 1),
  (SELECT e.time FROM entries e WHERE e.source = s.source ORDER BY e.seq DESC LIMIT 1),
  (SELECT max(h.seq) FROM heads h WHERE h.source = s.source),
  (SELECT count(*) FROM evidence v WHERE v.source = s.source)
FROM sources s ORDER BY s.source`;

/** A source's record from SOURCES_SQL's row and its keys (accepted entries run 1..lastSeq). */
export function sourceRecord(row: SourceRow, spkiDers: readonly Buffer[]): SourceRecord {
  const [source, kind, site, firstSeenMs, lastSeq, lastTime, vouched, evidence] = row;
  return {
    source,
    kind,
    site,
    spkiDers,
    firstSeenMs,
    entries: lastSeq ?? 0,
    lastSeq,
    lastTime,
    vouchedThroughSeq: vouched,
    evidence,
  };
}

export class SqliteRegisterReaders {
  readonly #db: Database.Database;
  readonly #clocks: { wallNowMs(): number };

  constructor(db: Database.Database, clocks: { wallNowMs(): number }) {
    this.#db = db;
    this.#clocks = clocks;
  }

  entries(query: EntryQuery): AsyncIterable<JournalEntry> {
    const db = this.#db;
    return pagedEntries(
      query,
      () => '?',
      ({ sql, params }) =>
        Promise.resolve(db.prepare<unknown[], EntryRow>(sql).raw().all(params).map(rowToEntry)),
    );
  }

  sources(): SourceRecord[] {
    const keys = new Map<string, Buffer[]>();
    const keyRows = this.#db
      .prepare<[], [string, Buffer]>(
        'SELECT source, spki_der FROM source_keys ORDER BY source, first_seen_ms, rowid',
      )
      .raw()
      .all();
    for (const [source, der] of keyRows) keys.set(source, [...(keys.get(source) ?? []), der]);
    return this.#db
      .prepare<[], SourceRow>(SOURCES_SQL)
      .raw()
      .all()
      .map((row) => sourceRecord(row, keys.get(row[0]) ?? []));
  }

  evidence(source?: string): EvidenceRecord[] {
    return this.#db
      .prepare<[string | null, string | null], EvidenceRow>(
        `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE ? IS NULL OR source = ? ORDER BY id`,
      )
      .raw()
      .all(source ?? null, source ?? null)
      .map(rowToEvidence);
  }

  counts(): RegisterCounts {
    const count = (table: string): number =>
      this.#db.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get() ?? 0;
    return {
      entries: count('entries'),
      heads: count('heads'),
      evidence: count('evidence'),
      checkpoints: count('checkpoints'),
      sources: count('sources'),
    };
  }

  annotate(input: AnnotationInput): Annotation {
    const { sessionId, outcome, author } = parseInput(AnnotationInputSchema, input, 'annotation');
    const timeMs = this.#clocks.wallNowMs();
    const row = this.#db
      .prepare<[number, string, string, string], AnnotationRow>(
        `INSERT INTO annotations (time_ms, session_id, outcome, author) VALUES (?, ?, ?, ?)
         RETURNING ${ANNOTATION_COLUMNS}`,
      )
      .raw()
      .get(timeMs, sessionId, outcome, author) as AnnotationRow;
    return rowToAnnotation(row);
  }

  annotations(sessionIds?: readonly string[]): Annotation[] {
    const where = sessionIds ? `WHERE session_id IN (${sessionIds.map(() => '?').join(', ')})` : '';
    if (sessionIds?.length === 0) return [];
    return this.#db
      .prepare<string[], AnnotationRow>(
        `SELECT ${ANNOTATION_COLUMNS} FROM annotations ${where} ORDER BY id`,
      )
      .raw()
      .all(...(sessionIds ?? []))
      .map(rowToAnnotation);
  }

  recordAccess(input: AccessInput): AccessRecord {
    const a = checkAccess(input);
    const row = this.#db
      .prepare<unknown[], AccessRow>(
        `INSERT INTO access_log (time_ms, who, action, why, to_whom, cameras, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${ACCESS_COLUMNS}`,
      )
      .raw()
      .get(
        this.#clocks.wallNowMs(),
        a.who,
        a.action,
        a.why,
        a.toWhom,
        JSON.stringify(a.cameras),
        a.detail,
      ) as AccessRow;
    return rowToAccess(row);
  }

  accessLog(range: { fromMs?: number; toMs?: number }): AccessRecord[] {
    return this.#db
      .prepare<[number, number], AccessRow>(
        `SELECT ${ACCESS_COLUMNS} FROM access_log WHERE time_ms >= ? AND time_ms < ? ORDER BY id`,
      )
      .raw()
      .all(range.fromMs ?? Number.MIN_SAFE_INTEGER, range.toMs ?? Number.MAX_SAFE_INTEGER)
      .map(rowToAccess);
  }

  /** The purge record first, then the removal it covers (the delete trigger checks it). */
  purgeAccessLog(beforeMs: number, who: string): PurgeRecord {
    checkPurge(beforeMs, who, this.#clocks.wallNowMs(), ACCESS_LOG_RETENTION_MS);
    const removed = this.accessLog({ toMs: beforeMs });
    const summary = purgeSummary(removed);
    const row = this.#db
      .prepare<unknown[], PurgeRow>(
        `INSERT INTO purges (time_ms, who, before_ms, removed, first_id, last_id, removed_sha256)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${PURGE_COLUMNS}`,
      )
      .raw()
      .get(
        this.#clocks.wallNowMs(),
        who,
        beforeMs,
        summary.removed,
        summary.firstId,
        summary.lastId,
        summary.removedSha256,
      ) as PurgeRow;
    const { changes } = this.#db.prepare('DELETE FROM access_log WHERE time_ms < ?').run(beforeMs);
    if (changes !== summary.removed) {
      throw new Error(`the purge removed ${changes} rows, ${summary.removed} were counted`);
    }
    return rowToPurge(row);
  }

  purges(): PurgeRecord[] {
    return this.#db
      .prepare<[], PurgeRow>(`SELECT ${PURGE_COLUMNS} FROM purges ORDER BY id`)
      .raw()
      .all()
      .map(rowToPurge);
  }
}
