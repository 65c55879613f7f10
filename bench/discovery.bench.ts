/**
 * Camera discovery on the box (issue 4): time to discover AND describe 32 and
 * 128 simulated cameras with the agent's CameraInventory (multicast probe,
 * answer wait, ONVIF description of every camera, annex match), and the
 * agent's resident memory per camera known. Side by side in the same run, on
 * the same building:
 *   - node-onvif's own multicast probe (`startProbe`, until it resolves with
 *     its device list; it always waits a fixed 3 s for answers);
 *   - node-onvif's probe + `init()` of every device found (its description:
 *     GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri,
 *     GetSnapshotUri), 8 at a time like ours: the fairer baseline.
 * The building runs in a process of its own (the cameras are other machines),
 * the clients in another. Medians of RUNS, interleaved; ratios ours / node-onvif, and ms per camera
 * at 32 and 128 to show whether the growth is linear.
 *
 * RSS: VmRSS of a child running only a CameraInventory (the agent unit's node
 * flags from os-image/systemd/vigie-agent.service, plus tsx), after one
 * refresh and 1 s idle, with 128 cameras answering vs none (same annex of
 * 128, same credentials file); the building runs in another process.
 *
 * Network safety: every step that sends WS-Discovery multicast runs in
 * bench/discovery-child.ts INSIDE a network namespace created here (lo up,
 * 224.0.0.0/4 routed to lo) and deleted at the end, failure included. Never
 * from the root namespace. Needs root (`ip netns add`); says so otherwise.
 * No RTSP server: GetStreamUri only returns a URI.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ip, multicastOnLoopback } from '../test/helpers/netns.js';

const RUNS = 5;
/** Our wait for ProbeMatches after the probe (passed to the child). */
// Cameras answer within WS-Discovery's 500 ms (APP_MAX_DELAY); 1000 ms leaves a margin.
const ANSWER_WAIT_MS = 1000;
const RSS_RUNS = 3;
const SIZES = [32, 128] as const;
const CHILD_TIMEOUT_MS = 120_000;
const ROOT = path.resolve(import.meta.dirname, '..');
const CHILD = path.join(ROOT, 'bench/discovery-child.ts');
/** The node flags of the box's unit file: the agent's memory is measured as it runs there. */
const UNIT_NODE_FLAGS =
  /^ExecStart=\/usr\/bin\/node (.*?) \/opt\/vigie\//m.exec(
    readFileSync(path.join(ROOT, 'os-image/systemd/vigie-agent.service'), 'utf8'),
  )?.[1] ?? '';

/**
 * Receive buffer of every UDP socket in the children (see discovery-child.ts):
 * the sim answers with all its ProbeMatches at once, the default buffer keeps
 * about 92. Both clients get it alike; one check runs without it, as shipped.
 */
const RCVBUF = 1 << 20;
const CHILD_ENV = {
  ...process.env,
  VIGIE_BENCH_ANSWER_WAIT_MS: String(ANSWER_WAIT_MS),
  VIGIE_BENCH_RCVBUF: String(RCVBUF),
};
const run = promisify(execFile);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

interface Timing {
  cameras: number;
  ms: Record<'ours8' | 'ours16' | 'probe' | 'probeInit', number[]>;
  found: Record<'ours8' | 'ours16' | 'probe' | 'probeInit', number[]>;
}

const ns = `vigie-b-disc-${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-bench-disc-'));

/** `node [flags] --import=tsx bench/discovery-child.ts ...args` inside the namespace. */
function childArgs(flags: readonly string[], args: readonly string[]): string[] {
  return ['netns', 'exec', ns, process.execPath, ...flags, '--import=tsx', CHILD, ...args];
}

async function inNamespace<T>(
  flags: readonly string[],
  args: readonly string[],
  env: NodeJS.ProcessEnv = CHILD_ENV,
): Promise<T> {
  const { stdout } = await run('ip', childArgs(flags, args), {
    cwd: ROOT,
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 1 << 20,
    env,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as T;
}

/** A building of `cameras` in its own process, until the returned stop is called. */
async function building(cameras: number): Promise<() => Promise<void>> {
  const child: ChildProcess = spawn('ip', childArgs([], ['building', String(cameras), dir]), {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: CHILD_ENV,
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.stdin?.end();
      await exited;
    }
    clearTimeout(killer);
  };
  try {
    const [chunk] = (await once(child.stdout ?? child, 'data')) as [Buffer];
    if (!chunk.toString('utf8').includes('"ready"')) throw new Error('building did not start');
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

interface Found {
  ours: number;
  nodeOnvif: number;
}

interface Rss {
  rssMb: number;
  present: number;
  items: number;
}

async function rssRuns(): Promise<{ with128: Rss[]; none: Rss[] }> {
  const flags = UNIT_NODE_FLAGS.split(' ').filter(Boolean);
  const with128: Rss[] = [];
  const none: Rss[] = [];
  for (let i = 0; i < RSS_RUNS; i++) {
    const stop = await building(128);
    try {
      with128.push(await inNamespace<Rss>(flags, ['rss', dir]));
    } finally {
      await stop();
    }
    // Same annex and credentials file, nobody answering.
    none.push(await inNamespace<Rss>(flags, ['rss', dir]));
  }
  return { with128, none };
}

let created = false;
try {
  await ip('netns', 'add', ns);
  created = true;
} catch (err) {
  console.log(
    `discovery bench skipped: needs \`ip netns add\` (root) for multicast (${String(err).split('\n')[0]})`,
  );
}

if (created) {
  const timings: Timing[] = [];
  let rss: { with128: Rss[]; none: Rss[] };
  let shipped: Found;
  try {
    await multicastOnLoopback(ns);
    shipped = await inNamespace<Found>([], ['found', String(SIZES[1]), dir], {
      ...CHILD_ENV,
      VIGIE_BENCH_RCVBUF: '0',
    });
    for (const n of SIZES) {
      const stop = await building(n);
      try {
        timings.push(await inNamespace<Timing>([], ['timing', String(n), String(RUNS), dir]));
      } finally {
        await stop();
      }
    }
    rss = await rssRuns();
  } finally {
    await ip('netns', 'delete', ns);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `as shipped (default UDP receive buffer), ${SIZES[1]} cameras answering at once: ` +
      `ours found ${shipped.ours}, node-onvif ${shipped.nodeOnvif}; ` +
      `below, every UDP socket of both gets SO_RCVBUF ${RCVBUF} bytes`,
  );
  report(timings, rss);
}

function report(timings: readonly Timing[], rss: { with128: Rss[]; none: Rss[] }): void {
  const f = (ms: number): string => `${ms.toFixed(0)} ms`;
  console.log(
    `medians of ${RUNS} interleaved runs inside a network namespace; ours: CameraInventory ` +
      `start + refresh (answerWaitMs ${ANSWER_WAIT_MS}, describeTimeoutMs 5000)`,
  );
  for (const t of timings) {
    const m = {
      ours8: median(t.ms.ours8),
      ours16: median(t.ms.ours16),
      probe: median(t.ms.probe),
      probeInit: median(t.ms.probeInit),
    };
    const found = (k: keyof Timing['found']): string =>
      t.found[k].every((x) => x === t.cameras) ? 'all' : `NOT all: ${t.found[k].join(',')}`;
    console.log(`-- ${t.cameras} cameras`);
    console.log(
      `ours, describeConcurrency 8: ${f(m.ours8)} (${(m.ours8 / t.cameras).toFixed(1)} ms/camera; described ${found('ours8')}); ` +
        `runs ${t.ms.ours8.map((x) => x.toFixed(0)).join(', ')}`,
    );
    console.log(
      `ours, describeConcurrency 16: ${f(m.ours16)} (${(m.ours16 / t.cameras).toFixed(1)} ms/camera; described ${found('ours16')})`,
    );
    console.log(
      `node-onvif startProbe: ${f(m.probe)} (found ${found('probe')}); ` +
        `startProbe + init() of each, 8 at a time: ${f(m.probeInit)} (${found('probeInit')})`,
    );
    console.log(
      `ratio ours(8) / node-onvif probe ${(m.ours8 / m.probe).toFixed(2)}, ` +
        `ours(8) / node-onvif probe+init ${(m.ours8 / m.probeInit).toFixed(2)}, ` +
        `ours(16) / ours(8) ${(m.ours16 / m.ours8).toFixed(2)}; ` +
        `describe part (minus the fixed waits) ours(8) ${f(m.ours8 - ANSWER_WAIT_MS)}, ` +
        `node-onvif init ${f(m.probeInit - m.probe)}`,
    );
  }
  const [small, large] = timings;
  if (small && large) {
    const per = (t: Timing, k: keyof Timing['ms'], fixedMs: number): number =>
      (median(t.ms[k]) - fixedMs) / t.cameras;
    for (const [label, k, fixed] of [
      ['ours(8), minus the answer wait', 'ours8', ANSWER_WAIT_MS],
      ['ours(16), minus the answer wait', 'ours16', ANSWER_WAIT_MS],
      ['node-onvif init, minus its probe', 'probeInit', median(small.ms.probe)],
    ] as const) {
      const fixedLarge = k === 'probeInit' ? median(large.ms.probe) : fixed;
      const a = per(small, k, fixed);
      const b = per(large, k, fixedLarge);
      const marginal =
        (median(large.ms[k]) - fixedLarge - (median(small.ms[k]) - fixed)) /
        (large.cameras - small.cameras);
      console.log(
        `growth ${small.cameras}->${large.cameras}, ${label}: ${a.toFixed(2)} -> ${b.toFixed(2)} ms/camera ` +
          `(x${(b / a).toFixed(2)} per camera: ${b / a < 1.25 ? 'linear or better' : 'WORSE than linear'}); ` +
          `each camera beyond ${small.cameras}: ${marginal.toFixed(2)} ms`,
      );
    }
  }
  const [withMb, noneMb] = [
    median(rss.with128.map((r) => r.rssMb)),
    median(rss.none.map((r) => r.rssMb)),
  ];
  console.log(
    `agent RSS with 128 cameras known (node ${UNIT_NODE_FLAGS} --import=tsx; medians of ${RSS_RUNS}): ` +
      `${withMb.toFixed(1)} MB (present ${rss.with128.map((r) => r.present).join(',')}) vs ${noneMb.toFixed(1)} MB with none answering; ` +
      `${(withMb - noneMb).toFixed(1)} MB more, ${(((withMb - noneMb) * 1024) / 128).toFixed(0)} kB per camera`,
  );
}
