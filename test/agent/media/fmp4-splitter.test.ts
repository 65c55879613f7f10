import t from 'tap';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { Fmp4Splitter, type Fmp4Part } from '../../../agent/src/media/fmp4-splitter.js';
import { isVigieError } from '../../../lib/src/errors.js';
import { box, fragment, initSegment, type FlagPlace } from './fmp4-builder.js';

const PLACES: FlagPlace[] = ['first-sample-flags', 'sample-flags', 'tfhd-default', 'trex-default'];

/** Splits `stream` at the given cut points (sorted, deduplicated, inside the stream). */
function chunked(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    out.push(stream.subarray(prev, p));
    prev = p;
  }
  return out;
}

function splitAll(chunks: Buffer[], maxBoxBytes?: number): Fmp4Part[] {
  const s = new Fmp4Splitter({ maxBoxBytes });
  return chunks.flatMap((c) => s.push(c));
}

const fragmentSpec = fc.record({
  key: fc.boolean(),
  place: fc.constantFrom(...PLACES),
  payload: fc.uint8Array({ maxLength: 64 }),
  styp: fc.boolean(),
});

t.test('the init segment carries the avc1 mime from avcC', async (t) => {
  const [init] = splitAll([initSegment(0x4d, 0x40, 0x28)]);
  t.match(init, { kind: 'init', mime: 'video/mp4; codecs="avc1.4d4028"' });
});

t.test('an H.265 init segment carries the hvc1 mime from hvcC (14496-15 E.3)', async (t) => {
  // Main profile, compatibility flags 0x60000000, constraints 0xB0, level 3.1 (93).
  const hvcC = box('hvcC', Buffer.from([1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, 0]));
  const hvc1 = box('hvc1', Buffer.alloc(78), hvcC);
  const stsd = box('stsd', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), hvc1);
  const moov = box('moov', box('trak', box('mdia', box('minf', box('stbl', stsd)))));
  const [init] = splitAll([box('ftyp', Buffer.from('isom')), moov]);
  t.match(init, { kind: 'init', mime: 'video/mp4; codecs="hvc1.1.6.L93.B0"' });
});

t.test('the key frame flag is read from trun, per-sample, tfhd or trex flags', async (t) => {
  for (const place of PLACES) {
    for (const key of place === 'trex-default' ? [false] : [true, false]) {
      const parts = splitAll([
        initSegment(0x42, 0xc0, 0x16),
        fragment(key, place, Buffer.from('x')),
      ]);
      t.match(parts[1], { kind: 'fragment', keyframe: key }, `${place} key=${key}`);
    }
  }
});

t.test('any chunking of a valid stream yields the same parts', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fragmentSpec, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (specs, cuts) => {
        const frags = specs.map((s) =>
          fragment(s.key && s.place !== 'trex-default', s.place, Buffer.from(s.payload), s.styp),
        );
        const stream = Buffer.concat([initSegment(0x64, 0, 0x1f), ...frags]);
        const parts = splitAll(chunked(stream, cuts));
        t.equal(parts.length, 1 + frags.length);
        t.same(Buffer.concat(parts.map((p) => p.data)), stream, 'bytes preserved in order');
        parts.slice(1).forEach((p, i) => {
          const spec = specs[i];
          t.equal(p.kind === 'fragment' && p.keyframe, spec?.key && spec.place !== 'trex-default');
        });
      },
    ),
    { numRuns: 300 },
  );
});

t.test('random bytes end in a clean media-malformed error with bounded memory', async () => {
  const maxBoxBytes = 4096;
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }), (arrays) => {
      const s = new Fmp4Splitter({ maxBoxBytes });
      for (const a of arrays) {
        try {
          s.push(Buffer.from(a));
        } catch (err) {
          if (
            !isVigieError(err, 'media-malformed') &&
            !isVigieError(err, 'media-codec-unsupported')
          )
            throw err;
          return;
        }
        // Never more than one box's bound plus the chunk just pushed.
        if (s.bufferedBytes > 2 * maxBoxBytes + 300) throw new Error('unbounded buffering');
      }
    }),
    { numRuns: 2000 },
  );
});

t.test('a box over the bound is refused from its header alone', async (t) => {
  const s = new Fmp4Splitter({ maxBoxBytes: 1024 });
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x7fffffff, 0);
  header.write('mdat', 4, 'latin1');
  t.throws(() => s.push(header), { code: 'media-malformed', message: /exceeds the 1024-byte/ });
  t.throws(() => s.push(Buffer.alloc(0)), { code: 'media-malformed' }, 'stays failed');
  const large = Buffer.alloc(16);
  large.writeUInt32BE(1, 0);
  large.write('mdat', 4, 'latin1');
  large.writeBigUInt64BE(2n ** 62n, 8);
  t.throws(() => new Fmp4Splitter().push(large), { code: 'media-malformed' });
});

t.test('malformed headers and misplaced boxes are errors', async (t) => {
  const tiny = Buffer.from([0, 0, 0, 4, 0x6d, 0x6f, 0x6f, 0x66]);
  t.throws(() => new Fmp4Splitter().push(tiny), { code: 'media-malformed' });
  t.throws(() => new Fmp4Splitter().push(box('mdat', Buffer.from('x'))), {
    code: 'media-malformed',
    message: /mdat without a moof/,
  });
  t.throws(() => new Fmp4Splitter().push(box('moov', box('trak'))), {
    code: 'media-codec-unsupported',
  });
});

t.test('real ffmpeg fragmented MP4 splits into an init and key-frame-led fragments', async (t) => {
  const out = await new Promise<Buffer | string>((resolve) => {
    execFile(
      '/usr/bin/ffmpeg',
      [
        ...['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15'],
        ...[
          '-t',
          '3',
          '-c:v',
          'libx264',
          '-pix_fmt',
          'yuv420p',
          '-profile:v',
          'main',
          '-g',
          '15',
          '-f',
          'mp4',
        ],
        ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1'],
      ],
      { encoding: 'buffer', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => resolve(err ? err.message : stdout),
    );
  });
  if (typeof out === 'string') {
    t.plan(0, `ffmpeg with libx264 unavailable: ${out}`);
    return;
  }
  const parts = splitAll(chunked(out, [1, 7, 100, 1000, 1001, 5000]));
  t.match(parts[0], { kind: 'init', mime: /^video\/mp4; codecs="avc1\.4d[0-9a-f]{4}"$/ });
  const frags = parts.slice(1);
  t.equal(frags.length, 3, 'one fragment per 1 s GOP');
  t.ok(frags.every((p) => p.kind === 'fragment' && p.keyframe));
  const joined = Buffer.concat(parts.map((p) => p.data));
  t.ok(out.subarray(0, joined.length).equals(joined), 'bytes preserved in order');
  t.equal(
    out.toString('latin1', joined.length + 4, joined.length + 8),
    'mfra',
    'only mfra dropped',
  );
});
