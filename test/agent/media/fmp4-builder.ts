/**
 * Builds small but well-formed fragmented MP4 streams for the splitter's tests:
 * an init segment with an avc1/avcC track and trex, then fragments whose key
 * frame flag is carried in each of the places the splitter reads it from.
 */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

const u32 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
};

export const NON_SYNC = 0x10000;
export type FlagPlace = 'first-sample-flags' | 'sample-flags' | 'tfhd-default' | 'trex-default';

export function initSegment(profile: number, constraints: number, level: number): Buffer {
  const avcC = box('avcC', Buffer.from([1, profile, constraints, level, 0xff, 0xe0]));
  const avc1 = box('avc1', Buffer.alloc(78), avcC);
  const stsd = box('stsd', u32(0, 1), avc1);
  const trak = box('trak', box('mdia', box('minf', box('stbl', stsd))));
  // trex: FullBox, track_ID, description index, duration, size, default flags (non-sync).
  const mvex = box('mvex', box('trex', u32(0, 1, 1, 0, 0, NON_SYNC)));
  return Buffer.concat([box('ftyp', Buffer.from('isom')), box('moov', trak, mvex)]);
}

/** moof + mdat whose first sample's flags (key or not) sit at `place`. */
export function fragment(key: boolean, place: FlagPlace, payload: Buffer, styp = false): Buffer {
  const flags = key ? 0x02000000 : NON_SYNC | 0x01010000;
  let tfhd: Buffer;
  let trun: Buffer;
  switch (place) {
    case 'first-sample-flags':
      tfhd = box('tfhd', u32(0x020000, 1));
      trun = box('trun', u32(0x000205, 2, 0, flags, 10, 20)); // data offset, first flags, sizes
      break;
    case 'sample-flags':
      tfhd = box('tfhd', u32(0x020000, 1));
      trun = box('trun', u32(0x000701, 2, 0, 40, 10, flags, 40, 10, NON_SYNC));
      break;
    case 'tfhd-default':
      tfhd = box('tfhd', u32(0x020028, 1, 40, flags)); // default duration + default flags
      trun = box('trun', u32(0x000001, 1, 0));
      break;
    case 'trex-default':
      tfhd = box('tfhd', u32(0x020000, 1));
      trun = box('trun', u32(0x000001, 1, 0));
      break;
  }
  const moof = box('moof', box('mfhd', u32(0, 1)), box('traf', tfhd, trun));
  const prefix = styp ? [box('styp', Buffer.from('msdh'))] : [];
  return Buffer.concat([...prefix, moof, box('mdat', payload)]);
}
