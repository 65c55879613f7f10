import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../lib/src/log.js';
import { RtspSimulator } from '../../sim/src/rtsp-server.js';
import { isVigieError } from '../../lib/src/errors.js';

// Real GStreamer RTSP server on loopback, read by ffprobe/ffmpeg: clients we did not write.
const PROBE_TIMEOUT_MS = 20_000;
const PASS_A = 'Alpha-pass-7391';
const PASS_B = 'Bravo-pass-2846';
const WIDTH = 480;
const HEIGHT = 272;

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  for (const tool of ['ffprobe', 'ffmpeg']) {
    try {
      execFileSync(tool, ['-version'], { stdio: 'ignore' });
    } catch {
      missing.push(`${tool} (Debian package ffmpeg)`);
    }
  }
  const check =
    "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0')\n" +
    'from gi.repository import Gst, GstRtspServer; Gst.init(None)\n' +
    "print(' '.join(e for e in ['textoverlay','clockoverlay','x264enc','rtph264pay'] if not Gst.ElementFactory.find(e)))";
  try {
    const out = execFileSync('/usr/bin/python3', ['-c', check], { encoding: 'utf8' }).trim();
    if (out) missing.push(`GStreamer elements ${out}`);
  } catch {
    missing.push('/usr/bin/python3 with gi and GstRtspServer');
  }
  return missing;
}

function hasX265(): boolean {
  try {
    execFileSync('gst-inspect-1.0', ['x265enc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[]): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: PROBE_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

const ffprobe = (url: string): Promise<Run> =>
  run('ffprobe', ['-rtsp_transport', 'tcp', '-v', 'error', '-show_streams', '-of', 'json', url]);

interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
}

function videoStream(r: Run): ProbedStream {
  const parsed = JSON.parse(r.stdout) as { streams?: ProbedStream[] };
  return parsed.streams?.find((s) => s.codec_type === 'video') ?? {};
}

const missing = missingPrerequisites();
if (missing.length > 0) {
  // The whole file is skipped, with the reason, where the Debian packages are absent; CI has them.
  t.plan(0, `GStreamer RTSP simulator prerequisites missing: ${missing.join(', ')}`);
} else {
  const logged: string[] = [];
  const logger = new Logger('sim', { level: 'debug', sink: { write: (l) => logged.push(l) } });
  const x265 = hasX265();
  const sim = new RtspSimulator({
    width: WIDTH,
    height: HEIGHT,
    fps: 15,
    logger,
    cameras: [
      { id: 'cam-01', name: 'Hall A', username: 'user-a', password: PASS_A },
      { id: 'cam-02', name: 'Parking B', username: 'user-b', password: PASS_B },
      ...(x265
        ? [
            {
              id: 'cam-h265',
              username: 'user-c',
              password: 'Charlie-pass-5512',
              codec: 'h265' as const,
            },
          ]
        : []),
    ],
  });
  let readyMs = 0;

  t.before(async () => {
    const started = performance.now();
    await sim.start();
    readyMs = Math.round(performance.now() - started);
  });
  t.teardown(() => sim.stop('test teardown'));

  t.test('start() resolves once listening, and url() carries no credentials', async (t) => {
    t.comment(`start() to READY: ${readyMs} ms`);
    t.ok(readyMs < 10_000);
    t.match(sim.url('cam-01'), /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-01$/);
    t.notMatch(sim.url('cam-01'), /@/);
    t.throws(() => sim.url('cam-99'));
  });

  t.test(
    'ffprobe reads an H.264 stream of the configured size with the right credentials',
    async (t) => {
      const r = await ffprobe(sim.credentialedUrl('cam-01'));
      t.comment(`ffprobe -show_streams: ${r.ms} ms (mostly ffprobe's own frame-rate probing)`);
      t.equal(r.code, 0, r.stderr);
      t.match(videoStream(r), { codec_name: 'h264', width: WIDTH, height: HEIGHT });
    },
  );

  t.test('a viewer gets its first decoded frame within a bound', async (t) => {
    // No stream analysis on the client side: what remains is the RTSP handshake,
    // the pipeline start (first viewer) or the wait for the next 1 s keyframe.
    const r = await run('ffmpeg', [
      ...['-nostdin', '-v', 'error', '-rtsp_transport', 'tcp', '-analyzeduration', '0'],
      ...[
        '-probesize',
        '32',
        '-i',
        sim.credentialedUrl('cam-02'),
        '-frames:v',
        '1',
        '-f',
        'null',
        '-',
      ],
    ]);
    t.comment(`ffmpeg to first frame: ${r.ms} ms`);
    t.equal(r.code, 0, r.stderr);
    t.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  t.test('a wrong password is refused with 401', async (t) => {
    const url = sim.credentialedUrl('cam-01').replace(encodeURIComponent(PASS_A), 'wrong-pass');
    const r = await ffprobe(url);
    t.not(r.code, 0);
    t.match(r.stderr, /401/);
  });

  t.test('no credentials at all are refused with 401', async (t) => {
    const r = await ffprobe(sim.url('cam-02'));
    t.not(r.code, 0);
    t.match(r.stderr, /401/);
  });

  t.test("camera A's credentials cannot read camera B", async (t) => {
    const aOnB = sim.credentialedUrl('cam-01').replace(/\/cam-01$/, '/cam-02');
    const r = await ffprobe(aOnB);
    t.not(r.code, 0, 'cam-01 user must not read cam-02');
    t.match(r.stderr, /40[134]/);
    const own = await ffprobe(sim.credentialedUrl('cam-02'));
    t.equal(own.code, 0, own.stderr);
  });

  t.test('the stream is live: ffmpeg reads one second of it in real time', async (t) => {
    const r = await run('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-rtsp_transport',
      'tcp',
      '-i',
      sim.credentialedUrl('cam-01'),
      '-t',
      '1',
      '-f',
      'null',
      '-',
    ]);
    t.comment(`ffmpeg read 1 s in ${r.ms} ms`);
    t.equal(r.code, 0, r.stderr);
    // A live source is paced by the clock: one second of video takes about a second.
    t.ok(r.ms >= 900, `took ${r.ms} ms`);
    t.ok(r.ms < PROBE_TIMEOUT_MS);
  });

  t.test("a second viewer does not reset the first viewer's timestamps", async (t) => {
    // The media is shared; a seek to the newcomer's Range (npt=0) would restart
    // the pipeline's clock under everyone already watching.
    const first = run('ffprobe', [
      ...['-rtsp_transport', 'tcp', '-v', 'error', '-select_streams', 'v'],
      ...['-show_entries', 'packet=pts_time', '-of', 'csv=p=0', '-read_intervals', '%+#75'],
      sim.credentialedUrl('cam-01'),
    ]);
    await new Promise((r) => setTimeout(r, 2500));
    const second = await ffprobe(sim.credentialedUrl('cam-01'));
    t.equal(second.code, 0, second.stderr);
    const r = await first;
    t.equal(r.code, 0, r.stderr);
    const pts = r.stdout
      .split('\n')
      .map((l) => Number.parseFloat(l))
      .filter((n) => Number.isFinite(n));
    t.ok(pts.length >= 60, `${pts.length} packets`);
    const backwards = pts.findIndex((p, i) => i > 0 && p < (pts[i - 1] ?? 0));
    t.equal(
      backwards,
      -1,
      backwards < 0
        ? 'pts never go backwards'
        : `pts went back at packet ${backwards}: ${pts.slice(backwards - 2, backwards + 2).join(', ')}`,
    );
  });

  t.test('the H.265-only camera serves HEVC', { skip: !x265 && 'x265enc missing' }, async (t) => {
    const r = await ffprobe(sim.credentialedUrl('cam-h265'));
    t.equal(r.code, 0, r.stderr);
    t.match(videoStream(r), { codec_name: 'hevc', width: WIDTH, height: HEIGHT });
  });

  t.test(
    'stop() ends the process, twice safely, and nothing logged holds a password',
    async (t) => {
      const pid = sim.pid;
      t.ok(pid);
      await sim.stop('test');
      await sim.stop('again');
      t.throws(() => process.kill(pid ?? 0, 0), { code: 'ESRCH' });
      const all = logged.join('');
      t.match(all, /rtsp simulator ready/);
      // serve.py handled SIGTERM itself and exited 0: no SIGKILL was needed.
      t.match(all, /"msg":"rtsp simulator stopped".*"forced":false,"code":0,"signal":null/);
      t.notMatch(all, /exited unexpectedly/);
      t.match(all, /serve\.py/); // the child's own stderr went through the logger too
      for (const secret of [PASS_A, PASS_B, 'Charlie-pass-5512']) t.notMatch(all, secret);
    },
  );
}

t.test('start() rejects with a clear error when the python cannot run', async (t) => {
  const sim = new RtspSimulator({
    python: '/nonexistent/python3',
    logger: new Logger('sim', { sink: { write: () => undefined } }),
    cameras: [{ id: 'cam-01', username: 'u', password: 'Nobody-pass-1' }],
  });
  const err: unknown = await sim.start().catch((e: unknown) => e);
  t.ok(isVigieError(err, 'sim-rtsp-unavailable'));
  t.match(String(err), /gir1\.2-gst-rtsp-server-1\.0/);
  await sim.stop();
});

t.test('stop() kills with SIGKILL a child that ignores SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-rtsp-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stubborn = join(dir, 'python3');
  writeFileSync(stubborn, "#!/bin/sh\ntrap '' TERM\necho READY 1\nexec sleep 30\n", {
    mode: 0o700,
  });
  const logged: string[] = [];
  const sim = new RtspSimulator({
    python: stubborn,
    stopTimeoutMs: 300,
    logger: new Logger('sim', { sink: { write: (l) => logged.push(l) } }),
    cameras: [{ id: 'c', username: 'u', password: 'Nobody-pass-3' }],
  });
  await sim.start();
  const pid = sim.pid;
  await sim.stop();
  t.throws(() => process.kill(pid ?? 0, 0), { code: 'ESRCH' });
  t.match(logged.join(''), /"forced":true,"code":null,"signal":"SIGKILL"/);
});

t.test('stop() before start() is safe and start() then refuses', async (t) => {
  const sim = new RtspSimulator({
    cameras: [{ id: 'c', username: 'u', password: 'Nobody-pass-2' }],
  });
  await sim.stop();
  await t.rejects(sim.start());
});
