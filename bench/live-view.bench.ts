/**
 * Live view, as a receiving centre's viewer sees it (issue #5, Benchmarks):
 *
 * 1. Time from the console's open (`vigie op open`: openSession, which signs,
 *    connects to the broker and waits for the box's acknowledgement) to the
 *    first frame Chromium presents (requestVideoFrameCallback), p50 of RUNS,
 *    cold (media.warmCache false) and warm (true). Side by side in the same
 *    run: a bare ffmpeg remux of the same camera started at the same moment,
 *    timed to its first `moof` on stdout, and the simulator's 1 s keyframe
 *    interval. Targets: cold < 1.2 s, warm < 400 ms.
 * 2. Close latency to the relay's stream end (LiveSessions `closed` event):
 *    from the console's close (closeSession, after each run of 1) and from
 *    the session's deadline (batches of sessions at the minimum TTL), p99.
 *    Target: < 250 ms.
 *
 * Everything runs on loopback in this process (broker, agent, relay, viewer)
 * except GStreamer, ffmpeg and Chromium. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Page } from 'playwright-core';
import { closeSession } from '../central/src/console/op-actions.js';
import type { LiveSessionsEvent } from '../csu/src/live-sessions.js';
import type { Relay } from '../csu/src/relay/relay.js';
import { MIN_SESSION_TTL_SEC } from '../protocol/src/commands.js';
import type { AgentEvent } from '../protocol/src/events.js';
import { evtTopic } from '../protocol/src/topics.js';
import { BORNY } from '../test/e2e/harness.js';
import {
  Teardowns,
  logIn,
  openLive,
  startLiveView,
  type LiveView,
} from '../test/e2e/live-view-fixture.js';

type SessionOpened = Extract<AgentEvent, { type: 'session.opened' }>;

const RUNS = 10;
const BATCH = 4; // sessions closed by their deadline per mode (a box allows 4 at once by default)
const GOP_MS = 1000; // the simulator's key-int-max = fps
const RUN_TIMEOUT_MS = 15_000;
const FFMPEG = '/usr/bin/ffmpeg';

/** What the page function touches (the project is type-checked without the DOM library). */
interface PageVideo {
  readonly readyState: number;
  readonly currentTime: number;
  requestVideoFrameCallback(callback: () => void): number;
}
declare const document: { querySelector(selector: string): PageVideo | null };

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The next relay event matching `check`, with the wall time it came at. */
function relayEvent(
  relay: Relay,
  check: (e: LiveSessionsEvent) => boolean,
  what: string,
  ms = RUN_TIMEOUT_MS,
): Promise<{ event: LiveSessionsEvent; atMs: number }> {
  let off: () => void = () => undefined;
  const got = new Promise<{ event: LiveSessionsEvent; atMs: number }>((resolve) => {
    off = relay.onChange((event) => {
      if (check(event)) resolve({ event, atMs: Date.now() });
    });
  });
  return bounded(got, ms, what).finally(() => off());
}

function spawnFfmpeg(url: string, out: string[]): ChildProcess {
  return spawn(
    FFMPEG,
    ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, ...out],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL'); // our own child, by its handle
  await bounded(exited, 5000, 'ffmpeg exit');
}

/**
 * The baseline: ffmpeg's default probing and fragmenting, to its first
 * top-level `moof` on stdout; resolves with that wall time and stops it.
 */
async function ffmpegFirstMoofAt(url: string): Promise<number> {
  const child = spawnFfmpeg(url, [
    ...['-c', 'copy', '-f', 'mp4'],
    ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1'],
  ]);
  try {
    const found = new Promise<number>((resolve, reject) => {
      let pending = Buffer.alloc(0);
      let skip = 0; // bytes of the current box still to pass over
      child.stdout?.on('data', (chunk: Buffer) => {
        const at = Date.now();
        pending = Buffer.concat([pending, chunk]);
        for (let boxes = 0; boxes < 1000; boxes++) {
          if (skip > 0) {
            const n = Math.min(skip, pending.length);
            pending = pending.subarray(n);
            skip -= n;
          }
          if (skip > 0 || pending.length < 8) return;
          if (pending.toString('latin1', 4, 8) === 'moof') return resolve(at);
          const size = pending.readUInt32BE(0);
          if (size < 8) return reject(new Error(`ffmpeg wrote a box of size ${size}`));
          skip = size;
        }
      });
      child.once('exit', (code) => reject(new Error(`ffmpeg exited (${code}) before a moof`)));
    });
    return await bounded(found, RUN_TIMEOUT_MS, 'ffmpeg first moof');
  } finally {
    await stopChild(child);
  }
}

/** In the page: the wall time of the first presented frame (or now, if one already was). */
function firstFrameInPage(): Promise<{ atMs: number; alreadyShown: boolean }> {
  return new Promise((resolve) => {
    const video = document.querySelector('video');
    if (video === null) throw new Error('no video on the page');
    if (video.readyState >= 2) resolve({ atMs: Date.now(), alreadyShown: true });
    else video.requestVideoFrameCallback(() => resolve({ atMs: Date.now(), alreadyShown: false }));
  });
}

/**
 * A random pause samples the phase of the GOP at which an open lands, as a
 * viewer's would; it is a measurement design, not a wait for an event.
 */
function randomGopPhase(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * GOP_MS));
}

interface Run {
  firstFrameMs: number;
  ffmpegMs: number;
  alreadyShown: boolean;
  closeMs: number; // closeSession called → relay's `closed`
  closeReturnMs: number; // closeSession called → it returned (box acknowledged)
}

async function oneRun(live: LiveView, page: Page): Promise<Run> {
  const relay = live.world.relay;
  const opened = relayEvent(relay, (e) => e.kind === 'opened', 'relay opened');
  const t0 = Date.now();
  const ffmpeg = ffmpegFirstMoofAt(live.rtsp.credentialedUrl(live.cameraIds[0] ?? ''));
  const sessionId = await bounded(openLive(live, 10 * 60), RUN_TIMEOUT_MS, 'open');
  const { event } = await opened;
  if (event.kind !== 'opened' || event.session.sessionId !== sessionId)
    throw new Error('the relay opened another session');
  await page.goto(new URL(`sessions/${sessionId}`, live.viewerUrl).href, {
    waitUntil: 'domcontentloaded',
    timeout: RUN_TIMEOUT_MS,
  });
  const frame = await bounded(page.evaluate(firstFrameInPage), RUN_TIMEOUT_MS, 'first frame');
  const ffmpegAt = await ffmpeg;

  const closed = relayEvent(
    relay,
    (e) => e.kind === 'closed' && e.sessionId === sessionId,
    'relay closed',
  );
  const c0 = Date.now();
  await bounded(closeSession(live.opFile, sessionId, BORNY.siteId, undefined), 15_000, 'close');
  const closeReturnMs = Date.now() - c0;
  const { atMs: closedAt } = await closed;
  return {
    firstFrameMs: frame.atMs - t0,
    ffmpegMs: ffmpegAt - t0,
    alreadyShown: frame.alreadyShown,
    closeMs: closedAt - c0,
    closeReturnMs,
  };
}

interface DeadlineCloses {
  ms: number[]; // the box's deadline (expiresAt of its session.opened event) → relay's `closed`
  relayMs: number[]; // the relay's own deadline (ticket) → its `closed`
  reasons: string[];
}

/** BATCH sessions at the minimum TTL at once: ms from each deadline to the relay's `closed`. */
async function deadlineCloses(live: LiveView): Promise<DeadlineCloses> {
  const relay = live.world.relay;
  const topic = evtTopic(BORNY.siteId);
  const boxDeadlines = new Map<string, number>();
  const relayDeadlines = new Map<string, number>();
  const out: DeadlineCloses = { ms: [], relayMs: [], reasons: [] };
  const onMessage = (got: string, payload: Buffer): void => {
    if (got !== topic || payload.length === 0) return;
    const e = JSON.parse(payload.toString('utf8')) as Partial<SessionOpened>;
    if (e.type === 'session.opened' && e.sessionId && e.expiresAt)
      boxDeadlines.set(e.sessionId, Date.parse(e.expiresAt));
  };
  live.op.on('message', onMessage);
  await live.op.subscribeAsync(topic, { qos: 1 });
  let off: () => void = () => undefined;
  const allClosed = new Promise<void>((resolve, reject) => {
    off = relay.onChange((e) => {
      if (e.kind === 'opened') relayDeadlines.set(e.session.sessionId, e.session.expiresAtMs);
      if (e.kind !== 'closed') return;
      const relayDeadline = relayDeadlines.get(e.sessionId);
      if (relayDeadline === undefined) return;
      const boxDeadline = boxDeadlines.get(e.sessionId);
      if (boxDeadline === undefined)
        return reject(new Error('no session.opened seen from the box'));
      const now = Date.now();
      out.ms.push(now - boxDeadline);
      out.relayMs.push(now - relayDeadline);
      out.reasons.push(e.reason);
      if (out.ms.length === BATCH) resolve();
    });
  });
  try {
    await Promise.all(Array.from({ length: BATCH }, () => openLive(live, MIN_SESSION_TTL_SEC)));
    await bounded(allClosed, (MIN_SESSION_TTL_SEC + 20) * 1000, 'deadline closes');
  } finally {
    off();
    live.op.off('message', onMessage);
  }
  return out;
}

async function measure(warmCache: boolean, page: Page, td: Teardowns) {
  const live = await startLiveView(td.asTest, { cameras: 1, warmCache });
  if (!warmCache) {
    // The simulated camera's pipeline is shared and runs while a client reads
    // it, as a real camera's encoder always does: without a reader, every cold
    // open would restart it on a key frame, which no real camera does.
    const keeper = spawnFfmpeg(live.rtsp.credentialedUrl(live.cameraIds[0] ?? ''), [
      ...['-c', 'copy', '-f', 'null', '-'],
    ]);
    keeper.stdout?.resume();
    td.teardown(() => stopChild(keeper));
  }
  await logIn(page, live.viewerUrl);
  await oneRun(live, page); // warm-up, untimed: first-use costs, and the warm cache filled
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    await randomGopPhase();
    runs.push(await oneRun(live, page));
  }
  const deadline = await deadlineCloses(live);
  return { runs, deadline };
}

const p = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--ignore-certificate-errors',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
/** One mode in its own world (the agent's warmCache is fixed at start), torn down after. */
async function phase(warmCache: boolean): Promise<Awaited<ReturnType<typeof measure>>> {
  const td = new Teardowns();
  try {
    const page = await browser.newPage();
    td.teardown(() => page.close());
    return await measure(warmCache, page, td);
  } finally {
    await td.run();
  }
}
let cold: Awaited<ReturnType<typeof measure>>;
let warm: Awaited<ReturnType<typeof measure>>;
try {
  cold = await phase(false);
  warm = await phase(true);
} finally {
  await browser.close();
}
const frames = (r: typeof cold) => r.runs.map((x) => x.firstFrameMs);
const ffmpegs = (r: typeof cold) => r.runs.map((x) => x.ffmpegMs);
const shown = (r: typeof cold) => r.runs.filter((x) => x.alreadyShown).length;
console.log(`open (vigie op open) → first frame presented in Chromium, ms, ${RUNS} runs each:`);
for (const [name, r] of [
  ['cold', cold],
  ['warm', warm],
] as const) {
  console.log(
    `  ${name}  p50 ${p(frames(r), 0.5).toFixed(0)}  [${fmt(frames(r))}]` +
      (shown(r) > 0 ? `  (${shown(r)} frame(s) already shown when asked: upper bound)` : ''),
  );
  console.log(
    `  bare ffmpeg first moof, same moments (${name} runs)  p50 ${p(ffmpegs(r), 0.5).toFixed(0)}  [${fmt(ffmpegs(r))}]`,
  );
}
const ratio = (a: number, b: number): string => (a / b).toFixed(2);
const c50 = p(frames(cold), 0.5);
const w50 = p(frames(warm), 0.5);
const f50 = p([...ffmpegs(cold), ...ffmpegs(warm)], 0.5);
console.log(
  `ratios: cold/GOP ${ratio(c50, GOP_MS)}, warm/GOP ${ratio(w50, GOP_MS)}, ` +
    `cold/bare ffmpeg ${ratio(c50, f50)}, warm/bare ffmpeg ${ratio(w50, f50)}, warm/cold ${ratio(w50, c50)}`,
);
console.log(
  `targets: cold < 1200 ms ${c50 < 1200 ? 'met' : 'MISSED'}, warm < 400 ms ${w50 < 400 ? 'met' : 'MISSED'}`,
);

const byCommand = [...cold.runs, ...warm.runs].map((x) => x.closeMs);
const commandReturn = [...cold.runs, ...warm.runs].map((x) => x.closeReturnMs);
const byDeadline = [...cold.deadline.ms, ...warm.deadline.ms];
const byRelayDeadline = [...cold.deadline.relayMs, ...warm.deadline.relayMs];
const all = [...byCommand, ...byDeadline];
console.log(`close → relay stream end, ms:`);
console.log(
  `  from closeSession (${byCommand.length})  p50 ${p(byCommand, 0.5).toFixed(0)} p99 ${p(byCommand, 0.99).toFixed(0)}  [${fmt(byCommand)}]`,
);
console.log(`    (closeSession itself returned after p50 ${p(commandReturn, 0.5).toFixed(0)} ms)`);
console.log(
  `  from the box's deadline (${byDeadline.length})  p50 ${p(byDeadline, 0.5).toFixed(0)} p99 ${p(byDeadline, 0.99).toFixed(0)}  [${fmt(byDeadline)}]` +
    `  reasons: ${[...new Set([...cold.deadline.reasons, ...warm.deadline.reasons])].join(', ')}`,
);
console.log(
  `    (against the relay's own deadline: p50 ${p(byRelayDeadline, 0.5).toFixed(0)} p99 ${p(byRelayDeadline, 0.99).toFixed(0)}  [${fmt(byRelayDeadline)}]; negative: the box closed first)`,
);
console.log(
  `  all (${all.length})  p99 ${p(all, 0.99).toFixed(0)}; target < 250 ms ${p(all, 0.99) < 250 ? 'met' : 'MISSED'}`,
);
