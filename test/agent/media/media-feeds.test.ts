/**
 * The box's media feeds against the simulated cameras (GStreamer RTSP on
 * loopback) and Debian's ffmpeg: cold and warm opens, credentials kept out of
 * every output, no ffmpeg left behind, recovery when a camera comes back.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CameraStream } from '../../../agent/src/media/feed.js';
import { FfmpegMediaFeeds } from '../../../agent/src/media/media-feeds.js';
import { Logger } from '../../../lib/src/log.js';
import { RtspSimulator, type RtspCamera } from '../../../sim/src/rtsp-server.js';
import { freePort } from '../../certs/helpers.js';
import { RecordingSink, processGone } from './recording-sink.js';

const CAMS: RtspCamera[] = [
  { id: 'cam-01', username: 'user-a', password: 'Alpha-media-7391' },
  { id: 'cam-02', username: 'user-b', password: 'Bravo-media-2846' },
];
const SECRETS = CAMS.map((c) => c.password);
const FAST_RETRY = { retryInitialMs: 100, retryMaxMs: 500, maxAttemptsPerMinute: 30 };

function prerequisitesMissing(): string | undefined {
  try {
    execFileSync('/usr/bin/ffmpeg', ['-version'], { stdio: 'ignore' });
    execFileSync('/usr/bin/python3', [
      '-c',
      "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer",
    ]);
    return undefined;
  } catch (err) {
    return `ffmpeg or the GStreamer RTSP server missing: ${String(err)}`;
  }
}

function streamOf(sim: RtspSimulator, id: string, password?: string): CameraStream {
  const cam = CAMS.find((c) => c.id === id);
  if (!cam) throw new Error(`no ${id}`);
  return {
    cameraId: id,
    streamUri: sim.url(id),
    username: cam.username,
    password: password ?? cam.password,
  };
}

const missing = prerequisitesMissing();
if (missing !== undefined) {
  t.plan(0, missing);
} else {
  const logged: string[] = [];
  const logger = new Logger('agent', { level: 'debug', sink: { write: (l) => logged.push(l) } });
  const simLogger = new Logger('sim', { level: 'error', sink: { write: () => undefined } });
  const sim = new RtspSimulator({ cameras: CAMS, width: 320, height: 180, logger: simLogger });
  t.before(() => sim.start());
  t.teardown(() => sim.stop('test teardown'));

  t.test(
    'a cold open gives an avc1 init, then key-frame-led fragments numbered from 1',
    async (t) => {
      const feeds = new FfmpegMediaFeeds({ logger });
      const sink = new RecordingSink();
      const started = performance.now();
      const handle = feeds.open('s-cold', [streamOf(sim, 'cam-01')], sink);
      t.teardown(() => handle.close());
      await sink.waitFor(
        'two key frames',
        () => sink.fragments.filter((f) => f.keyframe).length >= 2,
      );
      const firstKey = sink.events.find((e) => e.kind === 'fragment');
      t.comment(
        `cold open to first key frame fragment: ${Math.round((firstKey?.at ?? 0) - started)} ms`,
      );
      const [init] = sink.inits;
      t.match(init, { camera: 'cam-01', mime: /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/ });
      t.equal(sink.events[0]?.kind, 'init', 'init comes first');
      const frags = sink.fragments;
      t.equal(frags[0]?.keyframe, true, 'the first fragment starts on a key frame');
      t.same(
        frags.map((f) => f.seq),
        frags.map((_, i) => i + 1),
        'seq from 1 without gaps',
      );
      // What the viewer gets is a valid MP4: ffprobe, a reader we did not write, agrees.
      const file = join(t.testdir(), 'feed.mp4');
      writeFileSync(
        file,
        Buffer.concat([init?.data ?? Buffer.alloc(0), ...frags.map((f) => f.data)]),
      );
      const probe = await new Promise<string>((resolve, reject) =>
        execFile(
          'ffprobe',
          [
            '-v',
            'error',
            '-show_entries',
            'stream=codec_name,width,height',
            '-of',
            'csv=p=0',
            file,
          ],
          { timeout: 10_000 },
          (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout.trim())),
        ),
      );
      t.equal(probe, 'h264,320,180');
      const pids = handle.pids();
      t.equal(pids.length, 1);
      await handle.close();
      await handle.close();
      for (const pid of pids) t.ok(processGone(pid), `ffmpeg ${pid} is gone after close`);
      const count = sink.events.length;
      await new Promise((r) => setImmediate(r));
      t.equal(sink.events.length, count, 'nothing delivered after close');
    },
  );

  t.test('a wrong password is reported by problem(), the password nowhere', async (t) => {
    const feeds = new FfmpegMediaFeeds({ logger, remux: FAST_RETRY });
    const sink = new RecordingSink();
    const wrong = 'Wrong-media-pass-5150';
    const handle = feeds.open('s-wrong', [streamOf(sim, 'cam-02', wrong)], sink);
    await sink.waitFor('two problems (a retry)', () => sink.problems.length >= 2);
    const pids = handle.pids();
    await handle.close();
    t.match(sink.problems[0], /401|Unauthorized/);
    t.equal(sink.fragments.length, 0);
    const everything = JSON.stringify(sink.events) + logged.join('');
    for (const secret of [wrong, ...SECRETS]) t.notMatch(everything, secret);
    t.notMatch(everything, /user-b:/, 'no userinfo either');
    for (const pid of pids) t.ok(processGone(pid));
  });

  t.test('a camera that dies mid-feed is reported, then resumes when it returns', async (t) => {
    const port = await freePort();
    const cams = [CAMS[0] as RtspCamera];
    const opts = { cameras: cams, port, width: 320, height: 180, logger: simLogger };
    let camera = new RtspSimulator(opts);
    await camera.start();
    t.teardown(() => camera.stop('teardown'));
    const feeds = new FfmpegMediaFeeds({ logger, remux: FAST_RETRY });
    const sink = new RecordingSink();
    const handle = feeds.open('s-dies', [streamOf(camera, 'cam-01')], sink);
    t.teardown(() => handle.close());
    await sink.waitFor('a key frame', () => sink.fragments.some((f) => f.keyframe));
    await camera.stop('the camera dies');
    await sink.waitFor('a problem', () => sink.problems.length >= 1);
    t.pass(`problem: ${sink.problems[0]}`);
    const before = sink.fragments.length;
    camera = new RtspSimulator(opts);
    await camera.start();
    await sink.waitFor('fragments again', () => sink.fragments.length > before + 1);
    t.equal(sink.inits.length, 2, 'a new init after the restart');
    const resumed = sink.fragments.slice(before);
    t.equal(resumed[0]?.keyframe, true, 'resumes on a key frame');
    t.same(
      sink.fragments.map((f) => f.seq),
      sink.fragments.map((_, i) => i + 1),
      'seq continues without gaps',
    );
    await handle.close();
  });

  t.test('a warm camera opens with its init and current GOP at once', async (t) => {
    const feeds = new FfmpegMediaFeeds({ logger, warmCache: true });
    t.teardown(() => feeds.stop('test'));
    await feeds.warm([streamOf(sim, 'cam-01')]);
    const first = new RecordingSink();
    const a = feeds.open('s-a', [streamOf(sim, 'cam-01')], first);
    await first.waitFor('a key frame and more', () => {
      const f = first.fragments;
      return f.some((x) => x.keyframe) && !(f[f.length - 1]?.keyframe ?? true);
    });
    const second = new RecordingSink();
    const opened = performance.now();
    const b = feeds.open('s-b', [streamOf(sim, 'cam-01')], second);
    await second.waitFor('init and a key frame', () => second.fragments.length > 0, 50);
    t.comment(
      `warm open to first key frame fragment: ${(performance.now() - opened).toFixed(1)} ms`,
    );
    t.equal(second.events[0]?.kind, 'init');
    t.match(second.fragments[0], { seq: 1, keyframe: true });
    t.ok(second.fragments.length >= 2, 'the GOP so far, not only its key frame');
    t.same(b.pids(), [], 'no cold ffmpeg for a warm camera');
    const warmPid = feeds.warmPids().get('cam-01');
    await b.close();
    await a.close();
    t.ok(warmPid !== undefined && !processGone(warmPid), 'closing sessions keeps the warm remux');
    await feeds.stop('test');
    t.ok(warmPid !== undefined && processGone(warmPid), 'stop() ends the warm remux');
  });

  t.test('the warm cache stays within its byte bound', async (t) => {
    const bound = 6_000;
    const feeds = new FfmpegMediaFeeds({ logger, warmCache: true, warmCacheMaxBytes: bound });
    t.teardown(() => feeds.stop('test'));
    await feeds.warm([streamOf(sim, 'cam-02')]);
    const sink = new RecordingSink();
    let worst = 0;
    sink.onFragment = () => {
      const stats = feeds.cacheStats().get('cam-02');
      worst = Math.max(worst, stats?.gopBytes ?? 0);
    };
    const handle = feeds.open('s-bound', [streamOf(sim, 'cam-02')], sink);
    await sink.waitFor('two GOPs', () => sink.fragments.filter((f) => f.keyframe).length >= 2);
    await handle.close();
    const gopBytes = sink.fragments.reduce((n, f) => n + f.data.length, 0) / 2;
    t.comment(`cached at most ${worst} bytes; a GOP is about ${Math.round(gopBytes)} bytes`);
    t.ok(worst <= bound, `at most ${bound} bytes cached (${worst})`);
    t.ok(gopBytes > bound, 'the bound was actually exercised');
    await feeds.warm([]);
    t.same([...feeds.cacheStats()], [], 'leaving the warm set drops the cache');
  });
}
