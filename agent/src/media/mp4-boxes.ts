/**
 * Reading inside complete ISO BMFF boxes (ISO/IEC 14496-12): the codec string
 * of the init segment (RFC 6381, from avcC or hvcC of ISO/IEC 14496-15) and the
 * key-frame flag of a movie fragment. Every read is bounds-checked: a box that
 * lies about its children's sizes yields a `media-malformed` error, never an
 * out-of-range read.
 */
import { VigieError } from '../../../lib/src/errors.js';

export const BOX_HEADER_BYTES = 8;

export interface BoxRef {
  readonly type: string;
  /** Offset of the box's payload (after its header) in the parent buffer. */
  readonly start: number;
  /** Offset just past the box in the parent buffer. */
  readonly end: number;
}

/** ISO/IEC 14496-12 8.8.3.1: sample_is_non_sync_sample. */
const NON_SYNC_SAMPLE = 0x10000;
/** tfhd flags (8.8.7.1). */
const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
/** trun flags (8.8.8.1). */
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_SAMPLE_DURATION = 0x100;
const TRUN_SAMPLE_SIZE = 0x200;
const TRUN_SAMPLE_FLAGS = 0x400;
/** VisualSampleEntry fields between the box header and its child boxes (12.1.3). */
const VISUAL_SAMPLE_ENTRY_BYTES = 78;

export function malformed(why: string): VigieError {
  return new VigieError('media-malformed', `malformed fragmented MP4: ${why}`);
}

/** A box type is four printable ASCII characters; anything else is garbage, not MP4. */
export function boxType(buf: Buffer, at: number): string | undefined {
  for (let i = at; i < at + 4; i++) {
    const c = buf[i];
    if (c === undefined || c < 0x20 || c > 0x7e) return undefined;
  }
  return buf.toString('latin1', at, at + 4);
}

/** The child boxes of buf[start, end), each fully inside it. */
export function childBoxes(buf: Buffer, start: number, end: number): BoxRef[] {
  const out: BoxRef[] = [];
  let at = start;
  while (at < end) {
    if (end - at < BOX_HEADER_BYTES) throw malformed('truncated child box header');
    let size = buf.readUInt32BE(at);
    let header = BOX_HEADER_BYTES;
    const type = boxType(buf, at + 4);
    if (type === undefined) throw malformed('child box type is not ASCII');
    if (size === 1) {
      if (end - at < 16) throw malformed('truncated child largesize');
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at; // 4.2: extends to the end of the enclosing box
    }
    if (size < header || at + size > end) throw malformed(`child box ${type} overruns its parent`);
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

function child(buf: Buffer, parent: BoxRef, type: string): BoxRef | undefined {
  return childBoxes(buf, parent.start, parent.end).find((b) => b.type === type);
}

function path(buf: Buffer, from: BoxRef, types: readonly string[]): BoxRef | undefined {
  let box: BoxRef | undefined = from;
  for (const t of types) {
    if (!box) return undefined;
    box = child(buf, box, t);
  }
  return box;
}

function u32(buf: Buffer, at: number, end: number): number {
  if (at + 4 > end) throw malformed('field past the end of its box');
  return buf.readUInt32BE(at);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** RFC 6381 codec string of the first video track of a moov (payload range in buf). */
export function codecOf(buf: Buffer, moov: BoxRef): string {
  for (const trak of childBoxes(buf, moov.start, moov.end).filter((b) => b.type === 'trak')) {
    const stsd = path(buf, trak, ['mdia', 'minf', 'stbl', 'stsd']);
    if (!stsd) continue;
    // stsd is a FullBox (4 bytes) with an entry_count (4 bytes) before its entries.
    const entries = childBoxes(buf, stsd.start + 8, stsd.end);
    for (const entry of entries) {
      const codec = sampleEntryCodec(buf, entry);
      if (codec !== undefined) return codec;
    }
  }
  throw new VigieError(
    'media-codec-unsupported',
    'the init segment has no H.264 (avcC) or H.265 (hvcC) video track',
  );
}

function sampleEntryCodec(buf: Buffer, entry: BoxRef): string | undefined {
  const video = ['avc1', 'avc3', 'hvc1', 'hev1'];
  if (!video.includes(entry.type)) return undefined;
  const childrenAt = entry.start + VISUAL_SAMPLE_ENTRY_BYTES;
  if (childrenAt > entry.end) throw malformed(`${entry.type} sample entry is truncated`);
  const config = childBoxes(buf, childrenAt, entry.end);
  const avcC = config.find((b) => b.type === 'avcC');
  if (avcC && entry.type.startsWith('avc')) {
    // AVCDecoderConfigurationRecord: version, profile, constraint flags, level.
    if (avcC.end - avcC.start < 4) throw malformed('avcC is truncated');
    const [profile, constraints, level] = [1, 2, 3].map((i) => buf[avcC.start + i] ?? 0);
    return `${entry.type}.${hex2(profile ?? 0)}${hex2(constraints ?? 0)}${hex2(level ?? 0)}`;
  }
  const hvcC = config.find((b) => b.type === 'hvcC');
  if (hvcC && entry.type.startsWith('h')) return hevcCodec(buf, entry.type, hvcC);
  return undefined;
}

/** ISO/IEC 14496-15 annex E.3: hvc1.<space><profile>.<compat reversed>.<tier><level>.<constraints>. */
function hevcCodec(buf: Buffer, type: string, hvcC: BoxRef): string {
  if (hvcC.end - hvcC.start < 13) throw malformed('hvcC is truncated');
  const s = hvcC.start;
  const b1 = buf[s + 1] ?? 0;
  const space = ['', 'A', 'B', 'C'][b1 >> 6] ?? '';
  const tier = (b1 & 0x20) !== 0 ? 'H' : 'L';
  const profile = b1 & 0x1f;
  let compat = buf.readUInt32BE(s + 2);
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = (reversed << 1) | (compat & 1);
    compat >>>= 1;
  }
  const constraints = [...buf.subarray(s + 6, s + 12)];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const level = buf[s + 12] ?? 0;
  const tail = constraints.map((c) => `.${c.toString(16).toUpperCase()}`).join('');
  return `${type}.${space}${profile}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier}${level}${tail}`;
}

/** trex default_sample_flags of the first track, the last fallback for a fragment's flags. */
export function trexDefaultFlags(buf: Buffer, moov: BoxRef): number | undefined {
  const trex = path(buf, moov, ['mvex', 'trex']);
  // FullBox(4) track_ID(4) default_sample_description_index(4) duration(4) size(4) flags(4)
  return trex ? u32(buf, trex.start + 20, trex.end) : undefined;
}

/**
 * Whether the first sample of the moof's first track fragment is a sync sample:
 * trun first_sample_flags, else the first per-sample flags, else tfhd
 * default_sample_flags, else trex's default.
 */
export function firstSampleIsKey(buf: Buffer, moof: BoxRef, trexFlags?: number): boolean {
  const traf = child(buf, moof, 'traf');
  if (!traf) throw malformed('moof without traf');
  const boxes = childBoxes(buf, traf.start, traf.end);
  const tfhd = boxes.find((b) => b.type === 'tfhd');
  if (!tfhd) throw malformed('traf without tfhd');
  let flags = trunFirstFlags(
    buf,
    boxes.find((b) => b.type === 'trun'),
  );
  flags ??= tfhdDefaultFlags(buf, tfhd);
  flags ??= trexFlags;
  return flags !== undefined && (flags & NON_SYNC_SAMPLE) === 0;
}

function tfhdDefaultFlags(buf: Buffer, tfhd: BoxRef): number | undefined {
  const boxFlags = u32(buf, tfhd.start, tfhd.end) & 0xffffff;
  if ((boxFlags & TFHD_DEFAULT_FLAGS) === 0) return undefined;
  let at = tfhd.start + 8; // version/flags, track_ID
  if (boxFlags & TFHD_BASE_DATA_OFFSET) at += 8;
  if (boxFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) at += 4;
  if (boxFlags & TFHD_DEFAULT_DURATION) at += 4;
  if (boxFlags & TFHD_DEFAULT_SIZE) at += 4;
  return u32(buf, at, tfhd.end);
}

function trunFirstFlags(buf: Buffer, trun: BoxRef | undefined): number | undefined {
  if (!trun) return undefined;
  const boxFlags = u32(buf, trun.start, trun.end) & 0xffffff;
  const sampleCount = u32(buf, trun.start + 4, trun.end);
  let at = trun.start + 8;
  if (boxFlags & TRUN_DATA_OFFSET) at += 4;
  if (boxFlags & TRUN_FIRST_SAMPLE_FLAGS) return u32(buf, at, trun.end);
  if ((boxFlags & TRUN_SAMPLE_FLAGS) === 0 || sampleCount === 0) return undefined;
  if (boxFlags & TRUN_SAMPLE_DURATION) at += 4;
  if (boxFlags & TRUN_SAMPLE_SIZE) at += 4;
  return u32(buf, at, trun.end);
}
