/**
 * The box's side of the register's ingest stream (protocol/proto/register.proto)
 * encoded and read by hand: IngestRequest (hello, entry, entries, head) out,
 * IngestResponse (resume, ack, nack, checkpoint and its proofs) in. The agent
 * then loads neither protobufjs nor @grpc/proto-loader (~2 MB of an idle box's
 * RSS with the loaded .proto, bench/agent-idle.bench.ts, register variant);
 * the register's server keeps them (register-proto.ts).
 *
 * Encoding is protobufjs's byte for byte (every field of the message written,
 * zeros and empties included, in field-number order), and reading gives what
 * proto-loader gives with register-proto.ts's options (keepCase, longs as
 * Number, defaults, oneofs: `body` names the member): test/protocol/register-wire.test.ts
 * compares both over random messages, unknown fields, garbage and truncations.
 *
 * Reading is stricter than protobufjs, never laxer: whatever it accepts,
 * protobufjs decodes to the same object. Every length is checked against the
 * enclosing message before anything is read or allocated (bytes are views of
 * the input); unknown fields are skipped by wire type (varint, 64-bit,
 * length-delimited, groups up to their matching end, 32-bit). Refused with a
 * RegisterWireError, where protobufjs is lax: a string running past its
 * message (protobufjs cuts it at the buffer's end), a known field with another
 * wire type than its own (protobufjs reads it as its own), field number 0, a
 * varint over 10 bytes (a tag or length over 5), a uint64 beyond 2^53 (protobufjs
 * rounds it), a group closed by another field's end tag or nested deeper than
 * MAX_GROUP_DEPTH, a second body member (protobufjs keeps both), and a proof
 * of more than MAX_PROOF_HASHES hashes (a tree of 2^53 entries needs fewer:
 * bounded, a 1 MiB message cannot become half a million Buffer objects).
 */
import type {
  IngestRequest,
  IngestResponseIn,
  WireAck,
  WireCheckpoint,
  WireEntry,
  WireHead,
  WireHello,
  WireNack,
  WireResume,
} from './register-proto.js';
import { varintBytes, writeVarint } from './varint.js';

/** Malformed input, or a message that cannot be encoded. */
export class RegisterWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegisterWireError';
  }
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;
const MAX_GROUP_DEPTH = 32;
/** RFC 9162 proofs: an inclusion path is at most the tree's height, a consistency proof about twice it. */
export const MAX_PROOF_HASHES = 128;
const TWO_32 = 0x1_0000_0000;

// ---------------------------------------------------------------- encoding

function uint64(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RegisterWireError(`${name}: ${String(value)} is not a uint64 below 2^53`);
  }
  return value;
}

/** Lone surrogates: protobufjs writes them differently below 40 chars and above; refused. */
const LONE_SURROGATE = /\p{Cs}/u;

function utf8Length(value: string, name: string): number {
  if (typeof value !== 'string') throw new RegisterWireError(`${name}: not a string`);
  if (LONE_SURROGATE.test(value)) throw new RegisterWireError(`${name}: a lone surrogate`);
  return Buffer.byteLength(value, 'utf8');
}

function bytesOf(value: Buffer, name: string): Buffer {
  if (!Buffer.isBuffer(value)) throw new RegisterWireError(`${name}: not bytes`);
  return value;
}

/** One field as written: its tag byte (field numbers here are below 16) and value. */
type Field =
  | { tag: number; kind: 'varint'; value: number }
  | { tag: number; kind: 'string'; value: string; size: number }
  | { tag: number; kind: 'bytes'; value: Buffer }
  | { tag: number; kind: 'message'; value: Field[]; size: number };

const u64 = (no: number, value: number, name: string): Field => ({
  tag: (no << 3) | VARINT,
  kind: 'varint',
  value: uint64(value, name),
});
const str = (no: number, value: string, name: string): Field => ({
  tag: (no << 3) | LEN,
  kind: 'string',
  value,
  size: utf8Length(value, name),
});
const bin = (no: number, value: Buffer, name: string): Field => ({
  tag: (no << 3) | LEN,
  kind: 'bytes',
  value: bytesOf(value, name),
});
const msg = (no: number, value: Field[]): Field => ({
  tag: (no << 3) | LEN,
  kind: 'message',
  value,
  size: fieldsSize(value),
});

function fieldSize(f: Field): number {
  switch (f.kind) {
    case 'varint':
      return 1 + varintBytes(f.value);
    case 'string':
    case 'message':
      return 1 + varintBytes(f.size) + f.size;
    case 'bytes':
      return 1 + varintBytes(f.value.length) + f.value.length;
  }
}

function fieldsSize(fields: readonly Field[]): number {
  let n = 0;
  for (const f of fields) n += fieldSize(f);
  return n;
}

function writeFields(buf: Buffer, start: number, fields: readonly Field[]): number {
  let at = start;
  for (const f of fields) {
    buf[at++] = f.tag;
    switch (f.kind) {
      case 'varint':
        at = writeVarint(buf, at, f.value);
        break;
      case 'string':
        at = writeVarint(buf, at, f.size);
        at += buf.write(f.value, at, f.size, 'utf8');
        break;
      case 'bytes':
        at = writeVarint(buf, at, f.value.length);
        at += f.value.copy(buf, at);
        break;
      case 'message':
        at = writeVarint(buf, at, f.size);
        at = writeFields(buf, at, f.value);
        break;
    }
  }
  return at;
}

const helloFields = (h: WireHello): Field[] => [
  str(1, h.source, 'hello.source'),
  str(2, h.boot_id, 'hello.boot_id'),
  u64(3, h.last_local_seq, 'hello.last_local_seq'),
  u64(4, h.known_tree_size, 'hello.known_tree_size'),
];

const entryFields = (e: WireEntry): Field[] => [
  str(1, e.source, 'entry.source'),
  u64(2, e.seq, 'entry.seq'),
  str(3, e.time, 'entry.time'),
  str(4, e.boot_id, 'entry.boot_id'),
  str(5, e.type, 'entry.type'),
  bin(6, e.data, 'entry.data'),
  bin(7, e.prev_hash, 'entry.prev_hash'),
  bin(8, e.hash, 'entry.hash'),
];

const headFields = (h: WireHead): Field[] => [
  str(1, h.source, 'head.source'),
  u64(2, h.seq, 'head.seq'),
  bin(3, h.hash, 'head.hash'),
  bin(4, h.sig, 'head.sig'),
];

/** IngestRequest as protobufjs (through proto-loader) serializes it, byte for byte. */
export function encodeIngestRequest(message: IngestRequest): Buffer {
  let body: Field;
  if ('hello' in message) body = msg(1, helloFields(message.hello));
  else if ('entry' in message) body = msg(2, entryFields(message.entry));
  else if ('head' in message) body = msg(3, headFields(message.head));
  else if ('entries' in message)
    body = msg(
      4,
      message.entries.entries.map((e) => msg(1, entryFields(e))),
    );
  else throw new RegisterWireError('IngestRequest: no body');
  const out = Buffer.allocUnsafe(fieldSize(body));
  const end = writeFields(out, 0, [body]);
  if (end !== out.length) throw new RegisterWireError('IngestRequest: size mismatch'); // never
  return out;
}

// ---------------------------------------------------------------- reading

interface Reader {
  readonly b: Buffer;
  at: number;
}

/** A varint of at most `maxBytes` bytes, within `end`; its value (exact up to 2^53). */
function readVarint(r: Reader, end: number, maxBytes: number, what: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (r.at >= end) throw new RegisterWireError(`${what}: truncated varint`);
    const byte = r.b[r.at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  throw new RegisterWireError(`${what}: varint longer than ${maxBytes} bytes`);
}

function readUint64(r: Reader, end: number, what: string): number {
  const value = readVarint(r, end, 10, what);
  if (!Number.isSafeInteger(value)) throw new RegisterWireError(`${what}: uint64 beyond 2^53`);
  return value;
}

/** A length-delimited field's bounds, checked against its enclosing message. */
function readLength(r: Reader, end: number, what: string): number {
  const n = readVarint(r, end, 5, what);
  if (n > end - r.at) {
    throw new RegisterWireError(`${what}: ${n} bytes announced, ${end - r.at} left`);
  }
  return n;
}

/** A tag: [field number, wire type]. */
function readTag(r: Reader, end: number, what: string): [number, number] {
  const tag = readVarint(r, end, 5, what);
  if (tag >= TWO_32) throw new RegisterWireError(`${what}: tag beyond 32 bits`);
  const field = Math.floor(tag / 8);
  if (field === 0) throw new RegisterWireError(`${what}: field number 0`);
  return [field, tag % 8];
}

/** Skips the value of an unknown field (its tag read). */
function skipField(r: Reader, end: number, field: number, wire: number, what: string): void {
  const groups: number[] = [];
  let f = field;
  let w = wire;
  for (;;) {
    if (w === VARINT) readVarint(r, end, 10, what);
    else if (w === FIXED64 || w === FIXED32) {
      const n = w === FIXED64 ? 8 : 4;
      if (n > end - r.at) throw new RegisterWireError(`${what}: truncated fixed field`);
      r.at += n;
    } else if (w === LEN) {
      const n = readLength(r, end, what); // before r.at is read for the sum
      r.at += n;
    } else if (w === START_GROUP) {
      if (groups.length >= MAX_GROUP_DEPTH) throw new RegisterWireError(`${what}: groups too deep`);
      groups.push(f);
    } else if (w === END_GROUP) {
      if (groups.pop() !== f) throw new RegisterWireError(`${what}: unmatched end group`);
    } else {
      throw new RegisterWireError(`${what}: wire type ${w}`);
    }
    if (groups.length === 0) return;
    [f, w] = readTag(r, end, what);
  }
}

function expectWire(wire: number, want: number, what: string): void {
  if (wire !== want) throw new RegisterWireError(`${what}: wire type ${wire}, not ${want}`);
}

/**
 * Reads the fields of one message in [r.at, end): `onField` takes the known
 * ones (their wire type checked) and returns false for the unknown, skipped.
 */
function readMessage(
  r: Reader,
  end: number,
  what: string,
  onField: (field: number, wire: number) => boolean,
): void {
  while (r.at < end) {
    const [field, wire] = readTag(r, end, what);
    if (wire === END_GROUP) throw new RegisterWireError(`${what}: end group outside a group`);
    if (!onField(field, wire)) skipField(r, end, field, wire, what);
  }
}

type Kind = 'u64' | 'string' | 'bytes' | 'repeated-bytes';

/** A flat message of scalar fields, every one defaulted (proto-loader's `defaults`). */
function readFlat<T>(
  r: Reader,
  end: number,
  what: string,
  fields: Record<number, [keyof T, Kind]>,
  init: T,
): T {
  const out = init as Record<keyof T, unknown>;
  readMessage(r, end, what, (field, wire) => {
    const known = fields[field];
    if (!known) return false;
    const [name, kind] = known;
    const where = `${what}.${String(name)}`;
    if (kind === 'u64') {
      expectWire(wire, VARINT, where);
      out[name] = readUint64(r, end, where);
    } else {
      expectWire(wire, LEN, where);
      const n = readLength(r, end, where);
      const start = r.at;
      r.at += n;
      if (kind === 'string') out[name] = r.b.toString('utf8', start, start + n);
      else if (kind === 'bytes') out[name] = r.b.subarray(start, start + n);
      else {
        const list = out[name] as Buffer[];
        if (list.length >= MAX_PROOF_HASHES) {
          throw new RegisterWireError(`${where}: more than ${MAX_PROOF_HASHES} hashes`);
        }
        list.push(r.b.subarray(start, start + n));
      }
    }
    return true;
  });
  return init;
}

const empty = (): Buffer => Buffer.alloc(0);

function readResume(r: Reader, end: number): WireResume {
  return readFlat<WireResume>(
    r,
    end,
    'resume',
    { 1: ['acked_seq', 'u64'], 2: ['acked_hash', 'bytes'] },
    { acked_seq: 0, acked_hash: empty() },
  );
}

function readAck(r: Reader, end: number): WireAck {
  return readFlat<WireAck>(
    r,
    end,
    'ack',
    { 1: ['seq', 'u64'], 2: ['hash', 'bytes'], 3: ['head_seq', 'u64'] },
    { seq: 0, hash: empty(), head_seq: 0 },
  );
}

function readNack(r: Reader, end: number): WireNack {
  return readFlat<WireNack>(
    r,
    end,
    'nack',
    { 1: ['seq', 'u64'], 2: ['problem', 'string'], 3: ['detail', 'string'] },
    { seq: 0, problem: '', detail: '' },
  );
}

function readCheckpoint(r: Reader, end: number): WireCheckpoint {
  return readFlat<WireCheckpoint>(
    r,
    end,
    'checkpoint',
    {
      1: ['tree_size', 'u64'],
      2: ['root_hash', 'bytes'],
      3: ['time', 'string'],
      4: ['kid', 'string'],
      5: ['sig', 'bytes'],
      6: ['proof_from_size', 'u64'],
      7: ['consistency_proof', 'repeated-bytes'],
      8: ['inclusion_seq', 'u64'],
      9: ['leaf_index', 'u64'],
      10: ['inclusion_proof', 'repeated-bytes'],
    },
    {
      tree_size: 0,
      root_hash: empty(),
      time: '',
      kid: '',
      sig: empty(),
      proof_from_size: 0,
      consistency_proof: [],
      inclusion_seq: 0,
      leaf_index: 0,
      inclusion_proof: [],
    },
  );
}

const BODIES = {
  1: ['resume', readResume],
  2: ['ack', readAck],
  3: ['nack', readNack],
  4: ['checkpoint', readCheckpoint],
} as const;

/**
 * IngestResponse as proto-loader gives it (defaults filled, `body` naming the
 * member; {} without one); malformed input throws RegisterWireError, nothing else.
 * Bytes fields are views of `bytes`.
 */
export function decodeIngestResponse(bytes: Buffer): IngestResponseIn {
  const r: Reader = { b: bytes, at: 0 };
  const out: Record<string, unknown> = {};
  readMessage(r, bytes.length, 'IngestResponse', (field, wire) => {
    const body = BODIES[field as keyof typeof BODIES] as
      (typeof BODIES)[keyof typeof BODIES] | undefined;
    if (!body) return false;
    const [name, read] = body;
    expectWire(wire, LEN, `IngestResponse.${name}`);
    if (out.body !== undefined) throw new RegisterWireError('IngestResponse: a second body');
    const n = readLength(r, bytes.length, `IngestResponse.${name}`);
    const end = r.at + n;
    out[name] = read(r, end);
    out.body = name;
    return true;
  });
  return out;
}
