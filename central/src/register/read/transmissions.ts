/**
 * A transmission as people read it: one row of the convention's "registre de
 * consignation des transmissions et des interventions consécutives" (art. 3.1),
 * assembled from the boxes' journal entries (agent/src/sessions/journal-types.ts)
 * and EMH's annotations. Pure: no store, no clock, no I/O.
 *
 * Entries come from many boxes in any order; they are folded in (source, seq)
 * order, so the rows never depend on the order they were read in. Data is
 * read defensively: a session still open, a missing open-accepted (period
 * boundary, box not caught up), a field of an unexpected type give a row with
 * nulls, never an exception. Every entry given lands in exactly one row's
 * timeline or in `unassigned` (nothing is lost).
 */
import type { JournalEntry } from '../../../../protocol/src/journal-entry.js';
import type { Annotation } from '../register-port.js';

export type TransmissionStatus = 'open' | 'closed' | 'refused' | 'failed';

export interface Trigger {
  /** 'occupation' or 'urgence' (any other string is shown as received). */
  readonly kind: string;
  /** The deciding officer of an `urgence`. */
  readonly officer: string | null;
}

export interface ViewerSpan {
  readonly viewerId: string;
  readonly name: string | null;
  /** ISO UTC as reported by the relay (or the entry time); null when the join is missing. */
  readonly from: string | null;
  /** Null while watching, or when the leave was never reported (the close ends it). */
  readonly to: string | null;
}

export interface TimelineEvent {
  readonly source: string;
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface Refusal {
  readonly time: string;
  readonly reason: string | null;
  readonly detail: string | null;
}

export interface Transmission {
  /** The session id, or `refused:<commandId>` for an open refused before any session. */
  readonly key: string;
  readonly sessionId: string | null;
  readonly commandId: string | null;
  readonly source: string | null;
  readonly site: string | null;
  readonly cameras: readonly string[];
  readonly recipient: string | null;
  readonly purpose: string | null;
  readonly trigger: Trigger | null;
  /** An `urgence` accepted outside the policy's time windows (logged as such, rule 1). */
  readonly urgenceOutsideWindow: boolean;
  readonly callRef: string | null;
  /** The operator's key id that signed the open. */
  readonly operator: string | null;
  /** When the box accepted the command (journaled before the act, rule 5). */
  readonly requestedAt: string | null;
  /** When the relay accepted (rule 3); null if it never did. */
  readonly openedAt: string | null;
  readonly closedAt: string | null;
  readonly closeReason: string | null;
  readonly ttlSec: number | null;
  readonly extensions: readonly { readonly time: string; readonly ttlSec: number | null }[];
  readonly viewers: readonly ViewerSpan[];
  /** A viewer reported the end of the intervention (through the relay). */
  readonly interventionOver: {
    readonly time: string;
    readonly viewerId: string | null;
    readonly note: string | null;
  } | null;
  /** Why the open failed or was refused. */
  readonly refusal: Refusal | null;
  /** The current outcome (the last annotation); `outcomes` keeps the history. */
  readonly outcome: Annotation | null;
  readonly outcomes: readonly Annotation[];
  readonly status: TransmissionStatus;
  /** Every entry folded into this row, in (source, seq) order. */
  readonly timeline: readonly TimelineEvent[];
}

export interface Assembly {
  /** By first entry time, then key. */
  readonly transmissions: Transmission[];
  /** Entries that name no session (a refusal of another command, a malformed entry). */
  readonly unassigned: JournalEntry[];
}

export interface AssembleOptions {
  /** source → site, from the register's source records. */
  readonly siteOf?: (source: string) => string | null | undefined;
  readonly annotations?: readonly Annotation[];
}

const SESSION_PREFIX = 'session.';
export const REFUSED_TYPE = 'command.refused';
/** The entry types a transmission is made of: what queries ask the store for. */
export const TRANSMISSION_TYPES: readonly string[] = [SESSION_PREFIX, REFUSED_TYPE];

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The session an entry belongs to, or null. */
export function sessionIdOf(entry: JournalEntry): string | null {
  return entry.type.startsWith(SESSION_PREFIX) ? str(record(entry.data).sessionId) : null;
}

/** The command id of a refused open, or null for any other entry. */
export function refusedOpenOf(entry: JournalEntry): string | null {
  if (entry.type !== REFUSED_TYPE) return null;
  const data = record(entry.data);
  return data.commandType === 'session.open' ? str(data.commandId) : null;
}

function compareEntries(a: JournalEntry, b: JournalEntry): number {
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0;
}

function toEvent(entry: JournalEntry): TimelineEvent {
  const { source, seq, time, type } = entry;
  return { source, seq, time, type, data: record(entry.data) };
}

interface Draft {
  key: string;
  sessionId: string | null;
  commandId: string | null;
  source: string | null;
  siteFromData: string | null;
  cameras: string[];
  recipient: string | null;
  purpose: string | null;
  trigger: Trigger | null;
  urgenceOutsideWindow: boolean;
  callRef: string | null;
  operator: string | null;
  requestedAt: string | null;
  openedAt: string | null;
  closedAt: string | null;
  closeReason: string | null;
  ttlSec: number | null;
  extensions: { time: string; ttlSec: number | null }[];
  viewers: { viewerId: string; name: string | null; from: string | null; to: string | null }[];
  interventionOver: Transmission['interventionOver'];
  refusal: Refusal | null;
  failed: boolean;
  timeline: TimelineEvent[];
}

function draft(key: string, sessionId: string | null, commandId: string | null): Draft {
  return {
    key,
    sessionId,
    commandId,
    source: null,
    siteFromData: null,
    cameras: [],
    recipient: null,
    purpose: null,
    trigger: null,
    urgenceOutsideWindow: false,
    callRef: null,
    operator: null,
    requestedAt: null,
    openedAt: null,
    closedAt: null,
    closeReason: null,
    ttlSec: null,
    extensions: [],
    viewers: [],
    interventionOver: null,
    refusal: null,
    failed: false,
    timeline: [],
  };
}

function readTrigger(value: unknown): Trigger | null {
  const data = record(value);
  const kind = str(data.kind) ?? str(value);
  return kind === null ? null : { kind, officer: str(data.officer) };
}

function applyOpenAccepted(d: Draft, entry: JournalEntry, data: Record<string, unknown>): void {
  d.commandId ??= str(data.commandId);
  d.operator ??= str(data.kid);
  d.recipient ??= str(data.recipient);
  if (d.cameras.length === 0) d.cameras = strings(data.cameras);
  d.purpose ??= str(data.purpose);
  d.trigger ??= readTrigger(data.trigger);
  d.urgenceOutsideWindow ||= data.urgenceOutsideWindow === true;
  d.callRef ??= str(data.callRef);
  d.ttlSec ??= num(data.ttlSec);
  d.requestedAt ??= entry.time;
  d.siteFromData ??= str(data.site) ?? str(data.siteId);
}

function applyViewer(d: Draft, entry: JournalEntry, data: Record<string, unknown>): void {
  const viewerId = str(data.viewerId) ?? '?';
  const time = str(data.time) ?? entry.time;
  if (entry.type === 'session.viewer-joined') {
    d.viewers.push({ viewerId, name: str(data.viewerName), from: time, to: null });
    return;
  }
  const span = d.viewers.findLast((v) => v.viewerId === viewerId && v.to === null);
  if (span) span.to = time;
  else d.viewers.push({ viewerId, name: null, from: null, to: time });
}

function applySessionEntry(d: Draft, entry: JournalEntry): void {
  const data = record(entry.data) as Record<string, unknown>;
  d.source ??= entry.source;
  switch (entry.type) {
    case 'session.open-accepted':
      return applyOpenAccepted(d, entry, data);
    case 'session.opened':
      d.openedAt ??= entry.time;
      d.commandId ??= str(data.commandId);
      d.ttlSec = num(data.ttlSec) ?? d.ttlSec;
      return;
    case 'session.open-failed':
      d.failed = true;
      d.refusal ??= { time: entry.time, reason: str(data.reason), detail: str(data.detail) };
      return;
    case 'session.extended': {
      const ttlSec = num(data.ttlSec);
      d.extensions.push({ time: entry.time, ttlSec });
      d.ttlSec = ttlSec ?? d.ttlSec;
      return;
    }
    case 'session.closed':
      d.closedAt ??= entry.time;
      d.closeReason ??= str(data.reason);
      return;
    case 'session.viewer-joined':
    case 'session.viewer-left':
      return applyViewer(d, entry, data);
    case 'session.intervention-over':
      d.interventionOver ??= {
        time: str(data.time) ?? entry.time,
        viewerId: str(data.viewerId),
        note: str(data.note),
      };
      return;
    default:
      return; // redials, media drops: on the timeline only
  }
}

function applyRefusal(d: Draft, entry: JournalEntry): void {
  const data = record(entry.data);
  d.source ??= entry.source;
  d.operator ??= str(data.kid);
  d.requestedAt ??= entry.time;
  d.refusal ??= { time: entry.time, reason: str(data.reason), detail: str(data.detail) };
}

function status(d: Draft): TransmissionStatus {
  if (d.sessionId === null) return 'refused';
  if (d.failed) return 'failed';
  return d.closedAt !== null ? 'closed' : 'open';
}

function finish(d: Draft, options: AssembleOptions, notes: Annotation[]): Transmission {
  const { siteFromData, failed, ...rest } = d;
  void failed; // in the status
  const site = (d.source !== null ? options.siteOf?.(d.source) : null) ?? siteFromData;
  return {
    ...rest,
    timeline: [...d.timeline].sort((a, b) =>
      a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq,
    ),
    site: site ?? null,
    outcome: notes[notes.length - 1] ?? null,
    outcomes: notes,
    status: status(d),
  };
}

function groupAnnotations(annotations: readonly Annotation[]): Map<string, Annotation[]> {
  const by = new Map<string, Annotation[]>();
  const sorted = [...annotations].sort((a, b) => a.timeMs - b.timeMs || a.id - b.id);
  for (const a of sorted) by.set(a.sessionId, [...(by.get(a.sessionId) ?? []), a]);
  return by;
}

/** Folds journal entries (any sources, any order) and annotations into transmissions. */
export function assembleTransmissions(
  entries: Iterable<JournalEntry>,
  options: AssembleOptions = {},
): Assembly {
  const seen = new Set<string>();
  const sorted = [...entries].sort(compareEntries).filter((e) => {
    const id = `${e.source}\u0000${e.seq}\u0000${e.hash}`;
    return seen.has(id) ? false : (seen.add(id), true);
  });
  const drafts = new Map<string, Draft>();
  const byCommand = new Map<string, Draft>();
  const refusals: JournalEntry[] = [];
  const unassigned: JournalEntry[] = [];
  for (const entry of sorted) {
    const sessionId = sessionIdOf(entry);
    if (sessionId === null) {
      if (refusedOpenOf(entry) !== null) refusals.push(entry);
      else unassigned.push(entry);
      continue;
    }
    let d = drafts.get(sessionId);
    if (!d) drafts.set(sessionId, (d = draft(sessionId, sessionId, null)));
    applySessionEntry(d, entry);
    d.timeline.push(toEvent(entry));
  }
  for (const d of drafts.values()) if (d.commandId !== null) byCommand.set(d.commandId, d);
  // A refused open is its session's row when the session exists (the relay
  // refused after the box accepted), a row of its own otherwise.
  for (const entry of refusals) {
    const commandId = refusedOpenOf(entry) ?? '';
    let d = byCommand.get(commandId);
    if (!d) {
      const key = `refused:${commandId}`;
      d = drafts.get(key) ?? draft(key, null, commandId);
      drafts.set(key, d);
      byCommand.set(commandId, d);
    }
    applyRefusal(d, entry);
    d.timeline.push(toEvent(entry));
  }
  const notes = groupAnnotations(options.annotations ?? []);
  const transmissions = [...drafts.values()]
    .map((d) => finish(d, options, d.sessionId !== null ? (notes.get(d.sessionId) ?? []) : []))
    .sort((a, b) => {
      const ta = a.requestedAt ?? a.timeline[0]?.time ?? '';
      const tb = b.requestedAt ?? b.timeline[0]?.time ?? '';
      return ta < tb ? -1 : ta > tb ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    });
  return { transmissions, unassigned };
}

/** Every camera the rows concern (for the access log). */
export function camerasOf(rows: readonly Transmission[]): string[] {
  return [...new Set(rows.flatMap((r) => r.cameras))].sort();
}
