/**
 * The register's hot path for one received journal entry: the same decision
 * as `JournalEntrySchema.safeParse` (a property test keeps them in agreement),
 * and the canonical JSON of `data` written in the same walk that checks it.
 * zod's object and lazy-union machinery plus a second canonicalJson pass cost
 * about 10 us an entry, a third of the register's ingest budget; this walk
 * costs a fraction of that and never throws (a data tree nested deeper than
 * canonicalJson accepts is refused here, where zod's refine would throw).
 */
import { MAX_JSON_DEPTH } from './canonical-json.js';
import { ID_PATTERN, UtcDateTimeSchema } from './ids.js';
import { MAX_ENTRY_DATA_BYTES, type JournalEntry } from './journal-entry.js';

const ENTRY_TYPE = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+){0,7}$/;
const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const FIELDS = ['source', 'seq', 'time', 'bootId', 'type', 'data', 'prevHash', 'hash'] as const;
const MAX_STRING = 4096;
const MAX_ARRAY = 256;
const MAX_KEY = 128;

export type EntryReading =
  | { readonly ok: true; readonly entry: JournalEntry; readonly dataJson: string }
  | { readonly ok: false; readonly path: string; readonly message: string };

/** Internal: unwinds the walk at the first problem; readJournalEntry turns it into a result. */
class Refused extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function text(value: unknown, path: string, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new Refused(path, `must be ${what}`);
  return value;
}

/** Canonical JSON (canonical-json.ts's rules) of a JSON value within the entry's bounds. */
function canonical(value: unknown, path: string, depth: number): string {
  if (depth > MAX_JSON_DEPTH) throw new Refused(path, `nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Refused(path, 'must be a finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (value.length > MAX_STRING) throw new Refused(path, `must be at most ${MAX_STRING} chars`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY) throw new Refused(path, `must be at most ${MAX_ARRAY} items`);
    const items: string[] = [];
    for (let i = 0; i < value.length; i += 1) {
      items.push(canonical(value[i], `${path}.${i}`, depth + 1));
    }
    return `[${items.join(',')}]`;
  }
  if (isRecord(value) && isPlain(value)) return canonicalRecord(value, path, depth);
  throw new Refused(path, 'must be a JSON value');
}

function canonicalRecord(record: Record<string, unknown>, path: string, depth: number): string {
  // Default sort compares UTF-16 code units, as canonicalJson (RFC 8785 §3.2.3) does.
  const keys = Object.keys(record).sort();
  const members: string[] = [];
  for (const key of keys) {
    if (key.length > MAX_KEY) throw new Refused(path, `key must be at most ${MAX_KEY} chars`);
    members.push(`${JSON.stringify(key)}:${canonical(record[key], `${path}.${key}`, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}

function read(raw: unknown): { entry: JournalEntry; dataJson: string } {
  if (!isRecord(raw)) throw new Refused('entry', 'must be an object');
  for (const key of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new Refused(key, 'is not a field');
  }
  const seq = raw.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new Refused('seq', 'must be an integer from 1');
  }
  const time = raw.time;
  if (typeof time !== 'string' || !UtcDateTimeSchema.safeParse(time).success) {
    throw new Refused('time', 'must be an ISO-8601 UTC time ending in Z');
  }
  const data = raw.data;
  if (!isRecord(data) || !isPlain(data)) throw new Refused('data', 'must be an object');
  const entry: JournalEntry = {
    source: text(raw.source, 'source', ID_PATTERN, 'an id'),
    seq,
    time,
    bootId: text(raw.bootId, 'bootId', UUID_LOWER, 'a lowercase UUID'),
    type: text(raw.type, 'type', ENTRY_TYPE, 'a dotted lowercase name like session.opened'),
    data,
    prevHash: text(raw.prevHash, 'prevHash', SHA256_HEX, '64 lowercase hex digits'),
    hash: text(raw.hash, 'hash', SHA256_HEX, '64 lowercase hex digits'),
  };
  const dataJson = canonicalRecord(data, 'data', 0);
  if (Buffer.byteLength(dataJson) > MAX_ENTRY_DATA_BYTES) {
    throw new Refused('data', `must be at most ${MAX_ENTRY_DATA_BYTES} bytes of canonical JSON`);
  }
  return { entry, dataJson };
}

/**
 * Reads one received entry: the entry and the canonical JSON of its data, or
 * the first problem's path and message. Never throws.
 */
export function readJournalEntry(raw: unknown): EntryReading {
  try {
    return { ok: true, ...read(raw) };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, path: err.path, message: err.message };
    return { ok: false, path: 'entry', message: 'is not readable' };
  }
}
