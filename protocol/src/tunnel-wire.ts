/**
 * The media tunnel's wire (docs/design-notes.md, "The media tunnel without
 * HTTP/2"): one TLS 1.3 connection per session, mutually authenticated, ALPN
 * `vigie-tunnel/1`, carrying frames of a 4-byte big-endian length followed by
 * one protobuf message of protocol/proto/tunnel.proto (TunnelUp from the box,
 * TunnelDown from the relay). The messages are the contract; the framing
 * replaces gRPC's HTTP/2, which cost the tunnel four fifths of its throughput
 * and four times its CPU per stream (bench/tunnel-throughput.bench.ts).
 *
 * TunnelStream reads frames bounded in size (a length over the bound ends the
 * connection before any allocation; a frame is decoded in place when it came
 * in one read, else assembled once into a buffer of its announced length), writes each frame as one corked write,
 * passes TLS back-pressure through (write() returns false, then 'drain'), and
 * keeps the connection honest both ways: each side sends a keepalive when it
 * has sent nothing for `keepaliveMs`, and declares the tunnel dead when it has
 * received nothing for three times that.
 */
import type { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import {
  mediaTunnelService,
  type Fragment,
  type TunnelDown,
  type TunnelDownIn,
  type TunnelUp,
  type TunnelUpIn,
} from './tunnel-proto.js';
import { varintBytes, writeVarint } from './varint.js';

export const TUNNEL_ALPN = 'vigie-tunnel/1';
/** A fragment is a group of pictures at most (the relay keeps 4 MiB per camera). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
export const DEFAULT_KEEPALIVE_MS = 5_000;
const HEADER_BYTES = 4;
/**
 * Frames at least this large are kept as the views of the 16 KiB TLS reads
 * they came in rather than joined: what they pin is at most the frame plus two
 * reads, under twice what is counted.
 */
const PIECES_MIN_BYTES = 32 * 1024;

export interface TunnelCodec<In, Out> {
  encode(message: Out): Buffer;
  /**
   * The hot path: the encoding of a message as a head and the caller's own
   * payload buffer, written as they are (no copy of the media), or null to use
   * `encode`.
   */
  encodeParts?(message: Out): readonly [Buffer, Buffer] | null;
  decode(bytes: Buffer): In;
  /**
   * A large frame as the pieces it arrived in (views of the TLS reads), when
   * the codec can read it without joining them; null to have it joined.
   */
  decodeParts?(parts: readonly Buffer[], length: number): In | null;
}

/** The box's side: sends TunnelUp, reads TunnelDown. */
export function boxCodec(): TunnelCodec<TunnelDownIn, TunnelUp> {
  const method = mediaTunnelService().Session;
  if (!method) throw new Error('tunnel.proto: Session is missing');
  return {
    encode: (m) => method.requestSerialize(m),
    encodeParts: (m) =>
      'fragment' in m && Number.isSafeInteger(m.fragment.seq) && m.fragment.seq >= 0
        ? fragmentParts(m.fragment)
        : null,
    decode: (b) => method.responseDeserialize(b) as TunnelDownIn,
  };
}

/**
 * TunnelUp{fragment = 3: Fragment{camera = 1, seq = 2, keyframe = 3, data = 4}}
 * encoded by hand, byte for byte as protobufjs encodes it (every field written,
 * in field order; test/protocol/tunnel-wire.test.ts compares both), except
 * that `data` is not copied: it follows the returned head as its own buffer.
 * `seq` must be a non-negative safe integer (the codec falls back otherwise).
 */
export function fragmentParts(f: Fragment): readonly [Buffer, Buffer] {
  const camera = Buffer.from(f.camera, 'utf8');
  const innerHeadBytes =
    1 +
    varintBytes(camera.length) +
    camera.length +
    1 +
    varintBytes(f.seq) +
    2 +
    1 +
    varintBytes(f.data.length);
  const inner = innerHeadBytes + f.data.length;
  const outer = 1 + varintBytes(inner) + inner;
  const head = Buffer.allocUnsafe(HEADER_BYTES + 1 + varintBytes(inner) + innerHeadBytes);
  head.writeUInt32BE(outer, 0);
  let at = HEADER_BYTES;
  head[at++] = 0x1a; // field 3, length-delimited
  at = writeVarint(head, at, inner);
  head[at++] = 0x0a; // camera: field 1, length-delimited
  at = writeVarint(head, at, camera.length);
  at += camera.copy(head, at);
  head[at++] = 0x10; // seq: field 2, varint
  at = writeVarint(head, at, f.seq);
  head[at++] = 0x18; // keyframe: field 3, varint
  head[at++] = f.keyframe ? 1 : 0;
  head[at++] = 0x22; // data: field 4, length-delimited
  writeVarint(head, at, f.data.length);
  return [head, f.data];
}

/** A fragment as the relay reads it: its media one buffer or the pieces it came in. */
export interface RelayFragmentIn {
  readonly camera?: string;
  readonly seq?: number;
  readonly keyframe?: boolean;
  readonly data?: Buffer | readonly Buffer[];
}
export type RelayUpIn = TunnelUpIn | { readonly fragment: RelayFragmentIn; readonly msg?: string };

/** The relay's side: sends TunnelDown, reads TunnelUp (fragments by the hand-written reader). */
export function relayCodec(): TunnelCodec<RelayUpIn, TunnelDown> {
  const method = mediaTunnelService().Session;
  if (!method) throw new Error('tunnel.proto: Session is missing');
  return {
    encode: (m) => method.responseSerialize(m),
    decode: (b) =>
      b[0] === 0x1a
        ? { fragment: readFragment(b), msg: 'fragment' }
        : (method.requestDeserialize(b) as TunnelUpIn),
    decodeParts: (parts, length) => {
      const fragment = readFragmentParts(parts, length);
      return fragment === null ? null : { fragment, msg: 'fragment' };
    },
  };
}

/**
 * A fragment whose frame spans several reads, without joining them: its head
 * (camera, seq, keyframe, the data's tag and length) must lie in the first
 * piece and its data must run to the end of the frame, as the box writes it;
 * anything else returns null and the frame is joined and read as usual.
 */
export function readFragmentParts(
  parts: readonly Buffer[],
  length: number,
): RelayFragmentIn | null {
  const first = parts[0];
  if (first?.[0] !== 0x1a) return null;
  try {
    const r = { at: 1 };
    if (readVarint(first, r) + r.at !== length) return null;
    let camera: string | undefined;
    let seq: number | undefined;
    let keyframe: boolean | undefined;
    while (r.at < first.length) {
      const tag = readVarint(first, r);
      if (tag === 0x0a) {
        const n = readVarint(first, r);
        if (r.at + n > first.length) return null;
        camera = first.toString('utf8', r.at, r.at + n);
        r.at += n;
      } else if (tag === 0x10) {
        seq = readVarint(first, r);
      } else if (tag === 0x18) {
        keyframe = readVarint(first, r) !== 0;
      } else if (tag === 0x22) {
        const n = readVarint(first, r);
        if (r.at + n !== length) return null; // the data is not last: join and read
        return { camera, seq, keyframe, data: [first.subarray(r.at), ...parts.slice(1)] };
      } else {
        return null;
      }
    }
    return null;
  } catch {
    return null; // a head cut by the end of the first piece: join and read
  }
}

/**
 * Reads TunnelUp{fragment} by hand, the hot path of the relay: `data` stays a
 * view of the frame (no copy). Any field order, unknown fields skipped by wire
 * type, every length checked against the frame; anything else throws (the
 * stream then ends the connection as malformed). A frame starting with the
 * fragment tag but carrying more than that one field is refused too.
 */
export function readFragment(b: Buffer): Partial<Fragment> {
  const r = { at: 1 };
  const length = readVarint(b, r);
  if (r.at + length !== b.length) throw new Error('fragment length does not match its frame');
  const f: { camera?: string; seq?: number; keyframe?: boolean; data?: Buffer } = {};
  while (r.at < b.length) {
    const tag = readVarint(b, r);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const value = readVarint(b, r);
      if (field === 2) f.seq = value;
      else if (field === 3) f.keyframe = value !== 0;
    } else if (wire === 2) {
      const n = readVarint(b, r);
      if (r.at + n > b.length) throw new Error('field overruns the fragment');
      if (field === 1) f.camera = b.toString('utf8', r.at, r.at + n);
      else if (field === 4) f.data = b.subarray(r.at, r.at + n);
      r.at += n;
    } else if (wire === 1 || wire === 5) {
      r.at += wire === 1 ? 8 : 4;
      if (r.at > b.length) throw new Error('field overruns the fragment');
    } else {
      throw new Error(`wire type ${wire} in a fragment`);
    }
  }
  return f;
}

/** A varint of at most 53 bits (seq, lengths); longer ones are refused. */
function readVarint(b: Buffer, r: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = b[r.at++];
    if (byte === undefined) throw new Error('truncated varint');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw new Error('varint beyond 2^53');
      return value;
    }
    scale *= 0x80;
  }
  throw new Error('varint too long');
}

export interface TunnelStreamOptions {
  readonly maxFrameBytes?: number; // default MAX_FRAME_BYTES
  readonly keepaliveMs?: number; // default 5 000; 0 disables (tests of the framing only)
}

export interface TunnelStreamEvents<In> {
  data: [message: In];
  drain: [];
  /** The peer ended its side (no more messages will come). */
  end: [];
  error: [err: Error];
  /** The connection is gone, whatever the cause. */
  close: [];
}

/** Messages in and out over one TLS connection, framed, bounded and kept alive. */
export class TunnelStream<In, Out> extends EventEmitter<TunnelStreamEvents<In>> {
  readonly #socket: tls.TLSSocket;
  readonly #codec: TunnelCodec<In, Out>;
  readonly #max: number;
  readonly #keepaliveMs: number;
  readonly #keepaliveMessage: Out | undefined;
  readonly #head = Buffer.alloc(HEADER_BYTES);
  #headBytes = 0;
  /** The frame being assembled (its length read), or null between frames. */
  #body: Buffer | null = null;
  /** A large frame's pieces (views of the reads), or null. */
  #pieces: Buffer[] | null = null;
  #length = 0;
  #bodyBytes = 0;
  #lastIn = performance.now();
  #lastOut = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    socket: tls.TLSSocket,
    codec: TunnelCodec<In, Out>,
    keepalive: Out | undefined,
    options: TunnelStreamOptions = {},
  ) {
    super();
    this.#socket = socket;
    this.#codec = codec;
    this.#max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.#keepaliveMessage = keepalive;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('end', () => this.emit('end'));
    socket.on('error', (err: Error) => this.emit('error', err));
    socket.on('close', () => this.#onClose());
    if (this.#keepaliveMs > 0) {
      this.#timer = setInterval(() => this.#tick(), Math.max(50, this.#keepaliveMs / 2));
      this.#timer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written and not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  /** The other side's certificate, once the handshake is done. */
  peerCertificate(): X509Certificate | undefined {
    return this.#socket.getPeerX509Certificate();
  }

  /** Sends one message; false when the TLS buffer is full (wait for 'drain') or the stream is gone. */
  write(message: Out): boolean {
    if (this.#closed || !this.#socket.writable) return false;
    const parts = this.#codec.encodeParts?.(message);
    if (parts) {
      const [head, data] = parts;
      if (head.length - HEADER_BYTES + data.length > this.#max) {
        throw new RangeError(
          `tunnel message of ${head.length - HEADER_BYTES + data.length} bytes exceeds ${this.#max}`,
        );
      }
      this.#lastOut = performance.now();
      this.#socket.cork();
      this.#socket.write(head);
      const ok = this.#socket.write(data);
      this.#socket.uncork();
      return ok;
    }
    const payload = this.#codec.encode(message);
    if (payload.length > this.#max) {
      throw new RangeError(`tunnel message of ${payload.length} bytes exceeds ${this.#max}`);
    }
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(payload.length, 0);
    this.#lastOut = performance.now();
    this.#socket.cork();
    this.#socket.write(header);
    const ok = this.#socket.write(payload);
    this.#socket.uncork();
    return ok;
  }

  /** Ends our side once what was written is sent; the connection closes when the peer ends too. */
  end(): void {
    if (!this.#closed) this.#socket.end();
  }

  /** Drops the connection now. */
  destroy(err?: Error): void {
    this.#socket.destroy(err);
  }

  #onData(chunk: Buffer): void {
    this.#lastIn = performance.now();
    let rest = chunk;
    while (rest.length > 0 && !this.#closed) {
      if (this.#body === null && this.#pieces === null) {
        // Reading a length: at most 4 bytes, possibly split across chunks.
        const need = HEADER_BYTES - this.#headBytes;
        const take = Math.min(need, rest.length);
        rest.copy(this.#head, this.#headBytes, 0, take);
        this.#headBytes += take;
        rest = rest.subarray(take);
        if (this.#headBytes < HEADER_BYTES) return;
        this.#headBytes = 0;
        const length = this.#head.readUInt32BE(0);
        if (length > this.#max) {
          this.#fail(new Error(`tunnel frame of ${length} bytes exceeds ${this.#max}`));
          return;
        }
        if (rest.length >= length) {
          // The whole frame is in this read: decode a view of it, no copy, when
          // it is most of the memory it would keep alive; a small frame (a
          // P-frame in a 16 KiB read) is copied out so that what the relay keeps
          // is what it counts.
          const view = rest.subarray(0, length);
          rest = rest.subarray(length);
          this.#deliver(length * 2 >= view.buffer.byteLength ? view : copyOf(view));
          continue;
        }
        this.#length = length;
        if (this.#codec.decodeParts !== undefined && length >= PIECES_MIN_BYTES) {
          this.#pieces = [];
          this.#bodyBytes = 0;
        } else {
          this.#body = Buffer.allocUnsafe(length);
          this.#bodyBytes = 0;
        }
      }
      const pieces = this.#pieces;
      if (pieces !== null) {
        const take = Math.min(this.#length - this.#bodyBytes, rest.length);
        if (take > 0) pieces.push(rest.subarray(0, take));
        this.#bodyBytes += take;
        rest = rest.subarray(take);
        if (this.#bodyBytes === this.#length) {
          this.#pieces = null;
          this.#deliverPieces(pieces, this.#length);
        }
        continue;
      }
      const body = this.#body;
      if (body === null) continue;
      const take = Math.min(body.length - this.#bodyBytes, rest.length);
      rest.copy(body, this.#bodyBytes, 0, take);
      this.#bodyBytes += take;
      rest = rest.subarray(take);
      if (this.#bodyBytes === body.length) {
        this.#body = null;
        this.#deliver(body);
      }
    }
  }

  /** A large frame kept as the views it came in; joined only if the codec cannot read it so. */
  #deliverPieces(pieces: readonly Buffer[], length: number): void {
    let message: In | null = null;
    try {
      message = this.#codec.decodeParts?.(pieces, length) ?? null;
    } catch {
      message = null;
    }
    if (message === null) {
      this.#deliver(Buffer.concat(pieces, length));
      return;
    }
    this.emit('data', message);
  }

  #deliver(body: Buffer): void {
    let message: In;
    try {
      message = this.#codec.decode(body);
    } catch {
      this.#fail(new Error('malformed tunnel message'));
      return;
    }
    this.emit('data', message);
  }

  #tick(): void {
    if (this.#closed) return;
    const now = performance.now();
    if (now - this.#lastIn > 3 * this.#keepaliveMs) {
      this.#fail(new Error(`nothing received for ${Math.round(now - this.#lastIn)} ms`));
      return;
    }
    if (this.#keepaliveMessage !== undefined && now - this.#lastOut >= this.#keepaliveMs) {
      this.write(this.#keepaliveMessage);
    }
  }

  #fail(err: Error): void {
    this.emit('error', err);
    this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#body = null;
    this.#pieces = null;
    this.emit('close');
  }
}

/** An exact-size copy, outside Node's shared pool. */
function copyOf(view: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(view.length);
  view.copy(out);
  return out;
}

export type BoxTunnelStream = TunnelStream<TunnelDownIn, TunnelUp>;
export type RelayTunnelStream = TunnelStream<RelayUpIn, TunnelDown>;
