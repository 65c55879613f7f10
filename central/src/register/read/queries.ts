/**
 * Finding transmissions in the register: by period (Paris dates or ISO
 * instants), site, camera, recipient, operator, or one session.
 *
 * With a period, only the entries near it are read, never the whole register:
 *  1. the period itself [from, to);
 *  2. a look-back window before `from` (the longest a session can last, plus a
 *     margin): sessions still open at `from`, and the beginnings of sessions
 *     seen in the period;
 *  3. after `to`, each box's session entries until every session found is
 *     closed (the close is the last entry of a session; a live one reads up to
 *     now);
 *  4. rarely, a session whose open lies before the look-back (a box that
 *     restarted days later and closed it with agent-restart): its box's
 *     open-accepted entries before the window, then its entries from there.
 * A transmission that overlaps a boundary is therefore complete.
 */
import { VigieError } from '../../../../lib/src/errors.js';
import { MAX_SESSION_TTL_SEC } from '../../../../protocol/src/commands.js';
import type { JournalEntry } from '../../../../protocol/src/journal-entry.js';
import { parisMidnight, parisOffsetMs } from '../../../../protocol/src/paris-time.js';
import type { RegisterStore } from '../register-port.js';
import {
  assembleTransmissions,
  refusedOpenOf,
  sessionIdOf,
  TRANSMISSION_TYPES,
  type Transmission,
} from './transmissions.js';

/** The longest a session lasts (TTL cap), plus an hour for open time-outs and clock drift. */
export const LOOKBACK_MS = MAX_SESSION_TTL_SEC * 1000 + 3_600_000;

export interface Period {
  /** Inclusive, UTC. */
  readonly from: Date | null;
  /** Exclusive, UTC. */
  readonly to: Date | null;
}

export interface TransmissionFilter {
  readonly period?: Period;
  readonly site?: string;
  readonly camera?: string;
  readonly recipient?: string;
  readonly operator?: string;
  readonly status?: Transmission['status'];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DAY_MS = 86_400_000;

/**
 * A period bound as people type it: `2026-11-29` (a Paris day: its midnight
 * for --from, the next midnight for --to, so --to names the last day
 * included), `2026-11-29T14:30` (Paris wall time), or an ISO instant with
 * `Z` or an offset.
 */
export function parsePeriodBound(text: string, bound: 'from' | 'to', option = `--${bound}`): Date {
  const t = text.trim();
  if (DATE.test(t) && !Number.isNaN(Date.parse(`${t}T00:00:00Z`))) {
    if (bound === 'from') return parisMidnight(t);
    const next = new Date(Date.parse(`${t}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
    return parisMidnight(next);
  }
  const local = LOCAL.exec(t);
  if (local) {
    const [, date = '', hh = '', mm = '', ss = '00'] = local;
    const wall = Date.parse(`${date}T${hh}:${mm}:${ss}Z`);
    if (!Number.isNaN(wall)) {
      const guess = wall - parisOffsetMs(new Date(wall));
      return new Date(wall - parisOffsetMs(new Date(guess)));
    }
  }
  if (ZONED.test(t) && !Number.isNaN(Date.parse(t))) return new Date(Date.parse(t));
  throw new VigieError(
    'config-invalid',
    `${option} "${text}" is not a date: give 2026-11-29 (a day, Paris time), 2026-11-29T14:30 (Paris time) or 2026-11-29T13:30:00Z`,
  );
}

/** Both bounds, checked together. */
export function parsePeriod(from?: string, to?: string): Period {
  const period = {
    from: from === undefined ? null : parsePeriodBound(from, 'from'),
    to: to === undefined ? null : parsePeriodBound(to, 'to'),
  };
  if (period.from && period.to && period.from.getTime() >= period.to.getTime()) {
    throw new VigieError(
      'config-invalid',
      `the period is empty: --from ${from ?? ''} (${period.from.toISOString()}) is not before --to ${to ?? ''} (${period.to.toISOString()})`,
    );
  }
  return period;
}

async function collect(
  iterable: AsyncIterable<JournalEntry>,
  keep: (e: JournalEntry) => boolean = () => true,
): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of iterable) if (keep(e)) out.push(e);
  return out;
}

function keyOf(e: JournalEntry): string | null {
  return sessionIdOf(e) ?? refusedOpenOf(e);
}

/** Entries of every transmission that overlaps the period (see the file comment). */
export async function entriesForPeriod(
  store: RegisterStore,
  period: Period,
): Promise<JournalEntry[]> {
  const types = TRANSMISSION_TYPES;
  if (period.from === null && period.to === null) return collect(store.entries({ types }));
  const fromIso = period.from?.toISOString();
  const toIso = period.to?.toISOString();
  const inside = await collect(store.entries({ types, fromTime: fromIso, toTime: toIso }));
  const wanted = new Set(inside.map(keyOf).filter((k): k is string => k !== null));
  let before: JournalEntry[] = [];
  if (period.from !== null) {
    const windowStart = new Date(period.from.getTime() - LOOKBACK_MS).toISOString();
    const back = await collect(store.entries({ types, fromTime: windowStart, toTime: fromIso }));
    const closedBefore = new Set(
      back.filter((e) => e.type === 'session.closed').map((e) => sessionIdOf(e)),
    );
    for (const e of back) {
      const id = sessionIdOf(e);
      if (id !== null && e.type === 'session.open-accepted' && !closedBefore.has(id))
        wanted.add(id);
    }
    before = back.filter((e) => {
      const k = keyOf(e);
      return k !== null && wanted.has(k);
    });
    before.push(...(await openedLongBefore(store, [...inside, ...before], windowStart)));
  }
  const after = toIso === undefined ? [] : await untilClosed(store, [...before, ...inside], toIso);
  return [...before, ...inside, ...after];
}

/** Sessions in `known` not closed there: their entries from `toIso` until each closes. */
async function untilClosed(
  store: RegisterStore,
  known: readonly JournalEntry[],
  toIso: string,
): Promise<JournalEntry[]> {
  const pending = new Map<string, string>(); // session → source
  for (const e of known) {
    const id = sessionIdOf(e);
    if (id !== null) pending.set(id, e.source);
  }
  for (const e of known) if (e.type === 'session.closed') pending.delete(sessionIdOf(e) ?? '');
  if (pending.size === 0) return [];
  const sources = [...new Set(pending.values())];
  const out: JournalEntry[] = [];
  for await (const e of store.entries({ sources, types: ['session.'], fromTime: toIso })) {
    const id = sessionIdOf(e);
    if (id === null || !pending.has(id)) continue;
    out.push(e);
    if (e.type === 'session.closed') pending.delete(id);
    if (pending.size === 0) break;
  }
  return out;
}

/** Sessions seen without their open-accepted: their beginnings before the look-back window. */
async function openedLongBefore(
  store: RegisterStore,
  known: readonly JournalEntry[],
  windowStart: string,
): Promise<JournalEntry[]> {
  const missing = new Map<string, string>();
  for (const e of known) {
    const id = sessionIdOf(e);
    if (id !== null) missing.set(id, e.source);
  }
  for (const e of known)
    if (e.type === 'session.open-accepted') missing.delete(sessionIdOf(e) ?? '');
  if (missing.size === 0) return [];
  const out: JournalEntry[] = [];
  for (const source of new Set(missing.values())) {
    const ids = new Set([...missing].filter(([, s]) => s === source).map(([id]) => id));
    const opens = await collect(
      store.entries({ sources: [source], types: ['session.open-accepted'], toTime: windowStart }),
      (e) => ids.has(sessionIdOf(e) ?? ''),
    );
    const earliest = opens.map((e) => e.time).sort()[0];
    if (earliest === undefined) continue; // never ingested: the row stays partial
    out.push(
      ...(await collect(
        store.entries({
          sources: [source],
          types: TRANSMISSION_TYPES,
          fromTime: earliest,
          toTime: windowStart,
        }),
        (e) => ids.has(keyOf(e) ?? ''),
      )),
    );
  }
  return out;
}

function matches(row: Transmission, f: TransmissionFilter): boolean {
  return (
    (f.site === undefined || row.site === f.site) &&
    (f.camera === undefined || row.cameras.includes(f.camera)) &&
    (f.recipient === undefined || row.recipient === f.recipient) &&
    (f.operator === undefined || row.operator === f.operator) &&
    (f.status === undefined || row.status === f.status)
  );
}

async function siteLookup(store: RegisterStore): Promise<(source: string) => string | null> {
  const sites = new Map((await store.sources()).map((s) => [s.source, s.site]));
  return (source) => sites.get(source) ?? null;
}

/** Transmissions overlapping the filter's period that match every other filter. */
export async function findTransmissions(
  store: RegisterStore,
  filter: TransmissionFilter = {},
): Promise<Transmission[]> {
  const entries = await entriesForPeriod(store, filter.period ?? { from: null, to: null });
  const siteOf = await siteLookup(store);
  const ids = [...new Set(entries.map(sessionIdOf).filter((id): id is string => id !== null))];
  const annotations = ids.length === 0 ? [] : await store.annotations(ids);
  return assembleTransmissions(entries, { siteOf, annotations }).transmissions.filter((row) =>
    matches(row, filter),
  );
}

/** One session (or one refused open by its command id), or null when the register has none. */
export async function findSession(store: RegisterStore, key: string): Promise<Transmission | null> {
  const sessionId = key.startsWith('refused:') ? key.slice('refused:'.length) : key;
  const entries = await collect(store.entries({ types: TRANSMISSION_TYPES }), (e) => {
    const k = keyOf(e);
    return k === sessionId || e.type === 'command.refused';
  });
  const own = entries.filter((e) => e.type !== 'command.refused' || keyOf(e) === sessionId);
  const commandIds = new Set(
    own.map((e) => (e.type === 'session.open-accepted' ? e.data.commandId : undefined)),
  );
  const refusals = entries.filter(
    (e) => e.type === 'command.refused' && commandIds.has(refusedOpenOf(e) ?? undefined),
  );
  const siteOf = await siteLookup(store);
  const annotations = await store.annotations([sessionId]);
  const { transmissions } = assembleTransmissions([...own, ...refusals], { siteOf, annotations });
  return (
    transmissions.find((t) => t.sessionId === sessionId || t.key === `refused:${sessionId}`) ?? null
  );
}
