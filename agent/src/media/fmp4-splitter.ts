/**
 * An incremental splitter of fragmented MP4 (ISO/IEC 14496-12) as ffmpeg writes
 * it to a pipe: chunks of any size in, whole parts out. The init segment is
 * ftyp + moov, with its MSE mime type; each fragment is moof + mdat with any
 * styp/sidx/prft/emsg before it, flagged when its first sample is a key frame.
 *
 * Memory is bounded: a box larger than `maxBoxBytes` (or a header that is not
 * a box) is a `media-malformed` error before anything is buffered for it, and
 * after an error the splitter refuses every further chunk.
 */
import { isVigieError, type VigieError } from '../../../lib/src/errors.js';
import {
  BOX_HEADER_BYTES,
  boxType,
  codecOf,
  firstSampleIsKey,
  malformed,
  trexDefaultFlags,
} from './mp4-boxes.js';

export type Fmp4Part =
  | { readonly kind: 'init'; readonly mime: string; readonly data: Buffer }
  | { readonly kind: 'fragment'; readonly keyframe: boolean; readonly data: Buffer };

export interface Fmp4SplitterOptions {
  /** Largest box accepted, and largest run of boxes before an mdat. Default 16 MiB. */
  maxBoxBytes?: number;
}

export const DEFAULT_MAX_BOX_BYTES = 16 * 1024 * 1024;
const LARGE_HEADER_BYTES = 16;
/** Boxes that may precede a moof in a segment (14496-12 8.16, 8.16.3, 8.16.5; 23009-1 emsg). */
const FRAGMENT_PREFIX = new Set(['styp', 'sidx', 'ssix', 'prft', 'emsg']);
/** Top-level boxes a live remux may write that carry nothing a viewer needs. */
const IGNORED = new Set(['free', 'skip', 'mfra', 'meta', 'uuid', 'wide']);

export class Fmp4Splitter {
  readonly #maxBoxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ftyp: Buffer | undefined;
  #trexFlags: number | undefined;
  #prefix: Buffer[] = [];
  #prefixBytes = 0;
  #moofKey: boolean | undefined;
  #failed: VigieError | undefined;

  constructor(options: Fmp4SplitterOptions = {}) {
    this.#maxBoxBytes = options.maxBoxBytes ?? DEFAULT_MAX_BOX_BYTES;
  }

  /** Bytes held while waiting for the rest of a box (at most maxBoxBytes + one chunk). */
  get bufferedBytes(): number {
    return this.#buffered + this.#prefixBytes;
  }

  /** Feeds a chunk; returns the parts it completed. Throws a `media-malformed` VigieError. */
  push(chunk: Buffer): Fmp4Part[] {
    if (this.#failed) throw this.#failed;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: Fmp4Part[] = [];
    try {
      for (;;) {
        const size = this.#nextBoxSize();
        if (size === undefined || this.#buffered < size) break;
        const part = this.#onBox(this.#take(size));
        if (part) out.push(part);
      }
    } catch (err) {
      this.#fail(err);
    }
    return out;
  }

  #fail(err: unknown): never {
    this.#failed = isVigieError(err) ? err : malformed(String(err));
    this.#chunks = [];
    this.#buffered = 0;
    this.#prefix = [];
    this.#prefixBytes = 0;
    throw this.#failed;
  }

  /** The size of the box at the head of the buffer, once its header is in; checks the bound. */
  #nextBoxSize(): number | undefined {
    if (this.#buffered < BOX_HEADER_BYTES) return undefined;
    const head = this.#peek(Math.min(LARGE_HEADER_BYTES, this.#buffered));
    const type = boxType(head, 4);
    if (type === undefined) throw malformed('top-level box type is not ASCII');
    let size = head.readUInt32BE(0);
    let header = BOX_HEADER_BYTES;
    if (size === 1) {
      if (head.length < LARGE_HEADER_BYTES) return undefined;
      const large = head.readBigUInt64BE(8);
      size = large > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(large);
      header = LARGE_HEADER_BYTES;
    } else if (size === 0) {
      throw malformed(`box ${type} extends to the end of the file, which a live stream has not`);
    }
    if (size < header) throw malformed(`box ${type} is smaller than its header (${size} bytes)`);
    if (size > this.#maxBoxBytes) {
      throw malformed(`box ${type} of ${size} bytes exceeds the ${this.#maxBoxBytes}-byte bound`);
    }
    return size;
  }

  #peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    for (const c of this.#chunks) {
      copied += c.copy(out, copied, 0, Math.min(c.length, n - copied));
      if (copied >= n) break;
    }
    return out;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= n) {
      // The common case, a box inside one chunk: a view, no copy.
      const box = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return box;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const c = this.#chunks[0];
      if (!c) throw malformed('internal: buffer underrun');
      const used = c.copy(out, copied, 0, Math.min(c.length, n - copied));
      copied += used;
      if (used === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(used);
    }
    this.#buffered -= n;
    return out;
  }

  #onBox(box: Buffer): Fmp4Part | undefined {
    const type = box.toString('latin1', 4, 8);
    const header = box.readUInt32BE(0) === 1 ? LARGE_HEADER_BYTES : BOX_HEADER_BYTES;
    const ref = { type, start: header, end: box.length };
    switch (type) {
      case 'ftyp':
        this.#ftyp = box;
        return undefined;
      case 'moov': {
        const mime = `video/mp4; codecs="${codecOf(box, ref)}"`;
        this.#trexFlags = trexDefaultFlags(box, ref);
        const data = this.#ftyp ? Buffer.concat([this.#ftyp, box]) : Buffer.from(box);
        this.#ftyp = undefined;
        this.#prefix = [];
        this.#prefixBytes = 0;
        this.#moofKey = undefined;
        return { kind: 'init', mime, data };
      }
      case 'moof':
        this.#moofKey = firstSampleIsKey(box, ref, this.#trexFlags);
        this.#addPrefix(box);
        return undefined;
      case 'mdat':
        return this.#onMdat(box);
      default:
        if (FRAGMENT_PREFIX.has(type)) this.#addPrefix(box);
        else if (!IGNORED.has(type)) throw malformed(`unexpected top-level box ${type}`);
        return undefined;
    }
  }

  #addPrefix(box: Buffer): void {
    if (this.#prefixBytes + box.length > this.#maxBoxBytes) {
      throw malformed(`more than ${this.#maxBoxBytes} bytes of boxes before an mdat`);
    }
    this.#prefix.push(box);
    this.#prefixBytes += box.length;
  }

  #onMdat(mdat: Buffer): Fmp4Part {
    const keyframe = this.#moofKey;
    if (keyframe === undefined) throw malformed('mdat without a moof before it');
    const data = Buffer.concat([...this.#prefix, mdat]);
    this.#prefix = [];
    this.#prefixBytes = 0;
    this.#moofKey = undefined;
    return { kind: 'fragment', keyframe, data };
  }
}
