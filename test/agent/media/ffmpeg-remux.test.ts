/**
 * The remux's process handling with stand-in ffmpeg scripts (a child that
 * ignores SIGTERM and forks, one that cannot start), and its retry schedule.
 * The real ffmpeg against the simulated cameras is in media-feeds.test.ts.
 */
import t from 'tap';
import { readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FfmpegRemux, ffmpegArgs, retryDelayMs } from '../../../agent/src/media/ffmpeg-remux.js';
import type { CameraStream } from '../../../agent/src/media/feed.js';
import { Logger } from '../../../lib/src/log.js';
import { goneWithin, processGone } from './recording-sink.js';

const CAMERA: CameraStream = {
  cameraId: 'cam-x',
  streamUri: 'rtsp://127.0.0.1:8554/cam-x',
  username: 'user x',
  password: 'P@ss/word:42',
};
/** Resolves when `file` (in `dir`) has content, on fs.watch events; rejects after `timeoutMs`. */
function fileWritten(dir: string, file: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      try {
        return readFileSync(file, 'utf8').trim() !== '';
      } catch {
        return false; // not created yet
      }
    };
    const watcher = watch(dir, () => {
      if (check()) done();
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${file} not written within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      watcher.close();
      resolve();
    };
  });
}

const quiet = new Logger('test', { sink: { write: () => undefined } });

t.test('the credentialed URL is in argv only, percent-encoded', async (t) => {
  const args = ffmpegArgs(CAMERA, 'tuned');
  const url = args[args.indexOf('-i') + 1];
  t.equal(url, 'rtsp://user%20x:P%40ss%2Fword%3A42@127.0.0.1:8554/cam-x');
  t.ok(args.includes('-c') && args.includes('copy') && args.includes('-an'));
  t.match(args.join(' '), /-rtsp_transport tcp/);
  t.notMatch(ffmpegArgs(CAMERA, 'default').join(' '), /probesize|frag_duration/);
});

t.test('stop() kills the whole process group of an ffmpeg that ignores SIGTERM', async (t) => {
  const dir = t.testdir();
  const pidFile = join(dir, 'grandchild.pid');
  const fake = join(dir, 'ffmpeg');
  // Ignores TERM, forks a grandchild and writes its pid.
  writeFileSync(
    fake,
    `#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $! > ${pidFile}\necho started >&2\nwait\n`,
    { mode: 0o700 },
  );
  const problems: string[] = [];
  const remux = new FfmpegRemux(
    CAMERA,
    { onInit: () => undefined, onFragment: () => undefined, onProblem: (d) => problems.push(d) },
    { ffmpegPath: fake, stopGraceMs: 200, logger: quiet },
  );
  const forked = fileWritten(dir, pidFile, 5000);
  remux.start();
  const pid = remux.pid;
  await forked;
  const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
  t.ok(pid !== undefined && !processGone(pid), 'running');
  const before = performance.now();
  await remux.stop('test');
  t.ok(performance.now() - before >= 150, 'waited the grace before SIGKILL');
  t.ok(pid !== undefined && processGone(pid), 'ffmpeg gone');
  t.ok(await goneWithin(grandchild, 2000), 'its forked child gone too (process group)');
  t.same(problems, [], 'a requested stop is not a problem');
  await remux.stop('again');
});

t.test('an ffmpeg that cannot start is a problem naming the path', async (t) => {
  let resolve: (d: string) => void = () => undefined;
  const problem = new Promise<string>((r) => (resolve = r));
  const remux = new FfmpegRemux(
    CAMERA,
    { onInit: () => undefined, onFragment: () => undefined, onProblem: (d) => resolve(d) },
    { ffmpegPath: '/nonexistent/ffmpeg', logger: quiet },
  );
  remux.start();
  const detail = await Promise.race([
    problem,
    new Promise<string>((_, reject) =>
      setTimeout(() => reject(new Error('no problem reported')), 5000).unref(),
    ),
  ]);
  await remux.stop('test');
  t.match(detail, /could not start \/nonexistent\/ffmpeg: .*ENOENT/);
  t.notMatch(detail, CAMERA.password);
});

t.test('retries back off exponentially and never exceed the starts per minute', async (t) => {
  const o = { initialMs: 500, maxMs: 15_000, maxPerMinute: 3 };
  t.equal(retryDelayMs(0, [0], 1000, o), 500);
  t.equal(retryDelayMs(3, [0], 1000, o), 4000);
  t.equal(retryDelayMs(10, [0], 1000, o), 15_000, 'capped');
  // Three starts at 0, 1 s, 2 s: the fourth waits until the first leaves the minute.
  t.equal(retryDelayMs(0, [0, 1000, 2000], 3000, o), 57_000);
  t.equal(retryDelayMs(0, [0, 1000, 2000], 61_000, o), 500, 'the window moved on');
  t.equal(
    retryDelayMs(0, [2000, 0, 1000, 500], 3000, o),
    57_500,
    'four starts: the second must leave',
  );
});
