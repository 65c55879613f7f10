/**
 * Real H.264 fragmented MP4 for the viewer tests: made once by Debian's ffmpeg
 * (testsrc, 1 s GOP, one fragment per keyframe), split into the init segment
 * (ftyp + moov) and the fragments (moof + mdat), with the codec string read
 * from the avcC box.
 */
import { spawn } from 'node:child_process';

export interface TestMedia {
  mime: string;
  init: Buffer;
  fragments: Buffer[];
}

interface Box {
  type: string;
  start: number;
  end: number;
}

export function topLevelBoxes(data: Buffer): Box[] {
  const boxes: Box[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    let size = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    if (size === 1) size = Number(data.readBigUInt64BE(offset + 8));
    if (size === 0) size = data.length - offset;
    if (size < 8 || offset + size > data.length) throw new Error(`bad box ${type} at ${offset}`);
    boxes.push({ type, start: offset, end: offset + size });
    offset += size;
  }
  return boxes;
}

export function splitFmp4(data: Buffer): { init: Buffer; fragments: Buffer[] } {
  const boxes = topLevelBoxes(data);
  const moofIndex = boxes.findIndex((b) => b.type === 'moof');
  if (moofIndex < 0) throw new Error('no moof: not fragmented MP4');
  const init = data.subarray(0, boxes[moofIndex]!.start);
  const fragments: Buffer[] = [];
  for (let i = moofIndex; i < boxes.length; i++) {
    const box = boxes[i]!;
    if (box.type !== 'moof') continue;
    const mdat = boxes[i + 1];
    if (mdat?.type !== 'mdat') throw new Error('moof without mdat');
    fragments.push(data.subarray(box.start, mdat.end));
  }
  return { init, fragments };
}

/** `avc1.PPCCLL` from the avcC box of an init segment. */
export function codecString(init: Buffer): string {
  const at = init.indexOf('avcC', 0, 'latin1');
  if (at < 0) throw new Error('no avcC box in init segment');
  const hex = (i: number) => init[at + 4 + i]!.toString(16).padStart(2, '0');
  return `avc1.${hex(1)}${hex(2)}${hex(3)}`;
}

let cached: Promise<TestMedia> | null = null;

export function testMedia(seconds = 30): Promise<TestMedia> {
  cached ??= new Promise<TestMedia>((resolve, reject) => {
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc=size=640x360:rate=25', '-t', String(seconds)],
      ...['-c:v', 'libx264', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-g', '25'],
      ...['-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1'],
    ];
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`ffmpeg exited ${code}: ${Buffer.concat(err).toString()}`));
        return;
      }
      try {
        const { init, fragments } = splitFmp4(Buffer.concat(out));
        resolve({ mime: `video/mp4; codecs="${codecString(init)}"`, init, fragments });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return cached;
}
