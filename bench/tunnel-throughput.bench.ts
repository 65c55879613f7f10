/**
 * The live-view tunnel (issue 5), against a bare Node TLS 1.3 socket pipe and
 * a bare @grpc/grpc-js bidi stream (no Vigie code) carrying the same bytes,
 * side by side in one run: bare gRPC / bare TLS is what gRPC-in-Node itself
 * costs, the reason the tunnel is a framed TLS stream instead (design notes).
 * The box side (our TunnelLink / TunnelTransmitter, framed TLS 1.3 with the box
 * certificate)
 * runs in this process; the receiving side (the Relay with a counting viewer
 * on every camera, a bare TLS server and a bare gRPC server with the relay's
 * certificate) runs
 * in bench/tunnel-receiver.ts, a child process, so the CPU of each side is
 * measured apart (process.cpuUsage) and each may use one of the two cores, as
 * box and relay would on two machines. Loopback only.
 *
 * (1) Throughput: one tunnel pushes synthetic fMP4 fragments of 64 KiB
 *     (a keyframe every 25) as fast as it accepts them: after a write the
 *     tunnel's socket refuses (the media gate would start dropping), the next
 *     fragment waits for its 'drain', so nothing is dropped; measured as
 *     fragment bytes delivered to the relay's viewer per second. Baseline:
 *     tls.connect with the box certificate to the bare server, the same bytes
 *     in writes of the same size with write()/'drain'. Second baseline: a
 *     plain grpc.Client (createSsl with the box certificate) on a Session
 *     call (openSessionCall) to a plain grpc.Server whose handler only counts
 *     fragment bytes, writing {fragment} messages of the same size with
 *     write()/'drain'. Alternated, median of RUNS. Target: tunnel >= 80% of
 *     bare TLS.
 * (2) CPU per 4 Mbit/s stream: N sessions (each its own tunnel, through the
 *     TunnelTransmitter as the agent uses it) paced at 25 fragments of
 *     20,000 bytes a second (500 kB/s), WINDOW_MS measured after a warm-up;
 *     box and relay CPU in % of a core per stream, delivered rate, drops
 *     counted by the media gate and gaps seen by the viewers. Baselines: N
 *     bare TLS sockets and N bare gRPC calls (each its own client and
 *     connection, as the tunnels) paced the same. Streams per box core count the box's
 *     ffmpeg remux at 0.4% of a core per stream (issue 5); target >= 100.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Test } from 'tap';
import type { CameraDirectory, MediaFeeds, MediaSink } from '../agent/src/media/feed.js';
import { systemTimers } from '../agent/src/sessions/timers.js';
import type { SessionTicket } from '../agent/src/sessions/transmitter.js';
import { TunnelLink } from '../agent/src/tunnel/tunnel-link.js';
import { TunnelTransmitter } from '../agent/src/tunnel/tunnel-transmitter.js';
import { TLS_VERSION } from '../certs/src/tls-profile.js';
import type { Policy, Recipient } from '../protocol/src/policy-schema.js';
import { openSessionCall, type TunnelClientCall } from '../protocol/src/tunnel-grpc.js';
import { BORNY, makeRelayWorld, openCommand, sign } from '../test/csu/relay-fixtures.js';
import type { ReceiverFiles, ReceiverStats } from './tunnel-receiver.js';

const FRAGMENT_BYTES = 64 * 1024;
const FRAGMENTS_PER_RUN = 4096; // 256 MiB a run
const RUNS = 3;
const GOP = 25; // a keyframe every 25 fragments
const STREAM_FRAGMENT_BYTES = 20_000; // 25/s = 500 kB/s = 4 Mbit/s
const STREAM_FRAGMENT_EVERY_MS = 40;
const STREAM_LEVELS = [20, 50, 100];
const WARMUP_MS = 1_500;
const WINDOW_MS = 10_000;
const FFMPEG_REMUX_SHARE = 0.004; // of a core per 4 Mbit/s stream (issue 5, measured here)
const CAMERA = 'cam-01';
const MIME = 'video/mp4; codecs="avc1.4d0028"';

// --- a throwaway PKI (relay service certificate, a borny-hauts box), removed at the end ---
const cleanups: (() => unknown)[] = [];
const fakeTap = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
const world = await makeRelayWorld(fakeTap);
const files: ReceiverFiles = {
  caFile: world.pki.paths.caBundle,
  certFile: path.join(world.relayDir, 'chain.pem'),
  keyFile: path.join(world.relayDir, 'key.pem'),
  crlFile: world.pki.paths.crlBundle,
  boxesCaFile: world.pki.paths.caCert('boxes'),
};

// --- the receiving side, in its own process ---
class Receiver {
  readonly child: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, (m: Record<string, unknown>) => void>();
  #failed: Error | null = null;
  constructor() {
    this.child = fork(path.join(import.meta.dirname, 'tunnel-receiver.ts'), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: Record<string, unknown>) => {
      const id = m.id as number;
      const done = this.#pending.get(id);
      this.#pending.delete(id);
      if (typeof m.error === 'string') this.#failed = new Error(`tunnel-receiver: ${m.error}`);
      done?.(m);
    });
  }
  request(op: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver: no answer to ${op}`)), 60_000);
      this.#pending.set(id, (m) => {
        clearTimeout(timer);
        if (this.#failed) reject(this.#failed);
        else resolve(m);
      });
      this.child.send({ id, op, ...args });
    });
  }
  async stats(): Promise<ReceiverStats> {
    return (await this.request('stats')).stats as ReceiverStats;
  }
}

const receiver = new Receiver();
const received = (s: ReceiverStats): number => s.relayBytes + s.tlsBytes + s.grpcBytes;
const ports = (await receiver.request('start', { files })) as {
  relayPort: number;
  tlsPort: number;
  grpcPort: number;
};
const policy: Policy = world.policyFor(ports.relayPort);
await receiver.request('policy', { policy });
const recipient = policy.recipients.find((r) => r.id === 'csu-metz') as Recipient;

const clocks = { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() };
const directory: CameraDirectory = {
  liveStream: (cameraId) => ({
    cameraId,
    streamUri: 'rtsp://127.0.0.1/x',
    username: '',
    password: '',
  }),
};
const noCallbacks = { closeSession: () => undefined, viewerEvent: () => undefined };
const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
/** Each measurement starts from a clean heap (`--expose-gc`, as bench/run.sh runs us). */
const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.();

function newTicket(): SessionTicket {
  const command = openCommand(Date.now(), { cameras: [CAMERA] });
  const envelope = sign(command);
  return {
    sessionId: command.sessionId,
    recipient: 'csu-metz',
    cameras: [CAMERA],
    payloadBytes: envelope,
    envelopeBytes: envelope,
    ttlSec: 600,
  };
}

/** A feed double: the bench pushes into the sinks the tunnels open. */
class BenchFeeds implements MediaFeeds {
  readonly sinks = new Map<string, MediaSink>();
  open(sessionId: string, _cameras: unknown, sink: MediaSink) {
    this.sinks.set(sessionId, sink);
    sink.init({ camera: CAMERA, mime: MIME, data: Buffer.alloc(1024) });
    return { close: () => Promise.resolve(void this.sinks.delete(sessionId)) };
  }
}

interface Run {
  ms: number;
  boxCpuUs: number;
  recvCpuUs: number;
  bytes: number;
  drops: number;
}

async function measured(push: () => Promise<number>, bytes: number): Promise<Run> {
  collectGarbage();
  const before = await receiver.stats();
  const arrived = receiver.request('expect', { from: received(before), bytes });
  const cpu0 = cpuUs();
  const t0 = performance.now();
  const drops = await push();
  await arrived;
  const ms = performance.now() - t0;
  const boxCpuUs = cpuUs() - cpu0;
  const after = await receiver.stats();
  return { ms, boxCpuUs, recvCpuUs: after.cpuUs - before.cpuUs, bytes, drops };
}

/** One tunnel, fragments as fast as the gRPC stream takes them (no drop). */
async function tunnelRun(): Promise<Run> {
  const feeds = new BenchFeeds();
  const link = new TunnelLink(newTicket(), recipient, {
    tls: world.boxTls,
    boxId: BORNY.boxId,
    policy: () => policy,
    feeds,
    cameras: directory,
    callbacks: noCallbacks,
    clocks,
    timers: systemTimers,
    graceMs: 10_000,
    redialDelayMs: 500,
  });
  // The gate unblocks on the stream's 'drain': the next fragment goes then.
  let resume: (() => void) | null = null;
  const gate = link.gate;
  const drained = gate.drained.bind(gate);
  gate.drained = () => {
    drained();
    const r = resume;
    resume = null;
    r?.();
  };
  const outcome = await link.open();
  if (!outcome.accepted) throw new Error(`tunnel refused: ${outcome.detail}`);
  const sink = feeds.sinks.get(link.ticket.sessionId) as MediaSink;
  const data = Buffer.alloc(FRAGMENT_BYTES, 7);
  const fragment = (seq: number): void =>
    sink.fragment({ camera: CAMERA, seq, keyframe: seq % GOP === 1, data });
  const before = await receiver.stats();
  fragment(1); // the viewer starts at a keyframe; not counted
  await receiver.request('expect', { from: received(before), bytes: FRAGMENT_BYTES });
  try {
    return await measured(async () => {
      for (let seq = 2; seq < FRAGMENTS_PER_RUN + 2; seq++) {
        fragment(seq);
        if (gate.blocked) await new Promise<void>((r) => (resume = r));
      }
      return gate.droppedTotal;
    }, FRAGMENT_BYTES * FRAGMENTS_PER_RUN);
  } finally {
    await link.close('close-command');
  }
}

function bareConnect(): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: ports.tlsPort,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ca: recipient.caPem,
    cert: world.boxTls.cert,
    key: world.boxTls.key,
    servername: recipient.serverName,
  });
  socket.setNoDelay(true);
  return once(socket, 'secureConnect').then(() => socket);
}

/** The bare pipe: the same bytes in writes of the same size, write()/'drain'. */
async function bareRun(): Promise<Run> {
  const socket = await bareConnect();
  const data = Buffer.alloc(FRAGMENT_BYTES, 7);
  try {
    return await measured(async () => {
      for (let i = 0; i < FRAGMENTS_PER_RUN; i++) {
        if (!socket.write(data)) await once(socket, 'drain');
      }
      return 0;
    }, FRAGMENT_BYTES * FRAGMENTS_PER_RUN);
  } finally {
    socket.end();
  }
}

/**
 * A plain grpc.Client to the bare gRPC server, its own connection (as each
 * tunnel has), and a Session call on it; nothing of ours but the .proto.
 */
function bareGrpcCall(): { client: grpc.Client; call: TunnelClientCall } {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(recipient.caPem),
    Buffer.from(world.boxTls.key),
    Buffer.from(world.boxTls.cert),
  );
  const client = new grpc.Client(`127.0.0.1:${ports.grpcPort}`, credentials, {
    'grpc.ssl_target_name_override': recipient.serverName,
    'grpc.default_authority': recipient.serverName,
    'grpc.use_local_subchannel_pool': 1,
  });
  const call = openSessionCall(client);
  call.on('data', () => undefined);
  call.on('error', () => undefined); // cancelled at the end of a run: no finding
  return { client, call };
}

function bareGrpcEnd({ client, call }: { client: grpc.Client; call: TunnelClientCall }): void {
  call.end();
  client.close();
}

/** The bare gRPC stream: {fragment} messages of the same size, write()/'drain'. */
async function bareGrpcRun(): Promise<Run> {
  const bare = bareGrpcCall();
  const data = Buffer.alloc(FRAGMENT_BYTES, 7);
  const write = (seq: number): boolean =>
    bare.call.write({ fragment: { camera: CAMERA, seq, keyframe: seq % GOP === 1, data } });
  const before = await receiver.stats();
  write(1); // connects; not counted
  await receiver.request('expect', { from: received(before), bytes: FRAGMENT_BYTES });
  try {
    return await measured(async () => {
      for (let seq = 2; seq < FRAGMENTS_PER_RUN + 2; seq++) {
        if (!write(seq)) await once(bare.call, 'drain');
      }
      return 0;
    }, FRAGMENT_BYTES * FRAGMENTS_PER_RUN);
  } finally {
    bareGrpcEnd(bare);
  }
}

interface Paced {
  streams: number;
  boxCpuUs: number;
  recvCpuUs: number;
  deliveredBytes: number;
  drops: number;
  gaps: number;
  pushLateMs: number;
  /** Event-loop delay of the box process over the window, p99 and max. */
  loopP99Ms: number;
  loopMaxMs: number;
}

/**
 * Calls `push(i, seq)` for each of n streams every 40 ms, staggered across the
 * period; returns a stop function and the worst lateness seen.
 */
function pace(n: number, push: (i: number, seq: number) => void) {
  const start = performance.now();
  const next = Array.from({ length: n }, (_, i) => start + (i * STREAM_FRAGMENT_EVERY_MS) / n);
  const seqs = new Array<number>(n).fill(1);
  let lateMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      while ((next[i] as number) <= now) {
        lateMs = Math.max(lateMs, now - (next[i] as number));
        push(i, seqs[i] as number);
        seqs[i] = (seqs[i] as number) + 1;
        next[i] = (next[i] as number) + STREAM_FRAGMENT_EVERY_MS;
      }
    }
  }, 5);
  return {
    stop: () => clearInterval(timer),
    resetLate: () => (lateMs = 0),
    late: () => lateMs,
  };
}

async function pacedWindow(
  n: number,
  push: (i: number, seq: number) => void,
  drops: () => number,
): Promise<Paced> {
  const pacer = pace(n, push);
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    collectGarbage();
    pacer.resetLate();
    const drops0 = drops();
    const before = await receiver.stats();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu0 = cpuUs();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const boxCpuUs = cpuUs() - cpu0;
    loop.disable();
    const after = await receiver.stats();
    return {
      streams: n,
      boxCpuUs,
      recvCpuUs: after.cpuUs - before.cpuUs,
      deliveredBytes: received(after) - received(before),
      drops: drops() - drops0,
      gaps: after.gaps - before.gaps,
      pushLateMs: pacer.late(),
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
  } finally {
    pacer.stop();
  }
}

/** n sessions through the TunnelTransmitter, each paced at 4 Mbit/s. */
async function tunnelStreams(n: number): Promise<Paced> {
  const feeds = new BenchFeeds();
  const transmitter = new TunnelTransmitter({
    tls: world.boxTls,
    boxId: BORNY.boxId,
    policy: () => policy,
    feeds,
    cameras: directory,
    callbacks: noCallbacks,
    clocks,
  });
  try {
    const tickets = Array.from({ length: n }, () => newTicket());
    for (let i = 0; i < n; i += 10) {
      const outcomes = await Promise.all(tickets.slice(i, i + 10).map((t) => transmitter.open(t)));
      for (const o of outcomes) if (!o.accepted) throw new Error(`tunnel refused: ${o.detail}`);
    }
    const sinks = tickets.map((t) => feeds.sinks.get(t.sessionId) as MediaSink);
    const data = Buffer.alloc(STREAM_FRAGMENT_BYTES, 7);
    const sum = (): number =>
      tickets.reduce((s, t) => s + (transmitter.drops(t.sessionId)[CAMERA] ?? 0), 0);
    return await pacedWindow(
      n,
      (i, seq) => sinks[i]?.fragment({ camera: CAMERA, seq, keyframe: seq % GOP === 1, data }),
      sum,
    );
  } finally {
    await transmitter.stop();
  }
}

/** n bare TLS sockets, each paced at 4 Mbit/s; no gate: nothing is ever dropped. */
async function bareStreams(n: number): Promise<Paced> {
  const sockets: tls.TLSSocket[] = [];
  try {
    for (let i = 0; i < n; i += 10) {
      const batch = Array.from({ length: Math.min(10, n - i) }, () => bareConnect());
      sockets.push(...(await Promise.all(batch)));
    }
    const data = Buffer.alloc(STREAM_FRAGMENT_BYTES, 7);
    return await pacedWindow(
      n,
      (i) => void sockets[i]?.write(data),
      () => 0,
    );
  } finally {
    for (const s of sockets) s.end();
  }
}

/** n bare gRPC calls (each its own client), each paced at 4 Mbit/s; no gate. */
async function bareGrpcStreams(n: number): Promise<Paced> {
  const calls = Array.from({ length: n }, () => bareGrpcCall());
  try {
    const data = Buffer.alloc(STREAM_FRAGMENT_BYTES, 7);
    // One message each first, so that every connection is up before the warm-up.
    const before = await receiver.stats();
    for (const [i, c] of calls.entries()) {
      c.call.write({ fragment: { camera: CAMERA, seq: 0, keyframe: true, data } });
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    await receiver.request('expect', { from: received(before), bytes: n * STREAM_FRAGMENT_BYTES });
    return await pacedWindow(
      n,
      (i, seq) =>
        void calls[i]?.call.write({
          fragment: { camera: CAMERA, seq, keyframe: seq % GOP === 1, data },
        }),
      () => 0,
    );
  } finally {
    for (const c of calls) bareGrpcEnd(c);
  }
}

// --- run: throughput first (alternated), then the paced streams ---
const tunnelRuns: Run[] = [];
const bareRuns: Run[] = [];
const grpcRuns: Run[] = [];
const paced: { tunnel: Paced[]; bare: Paced | null; grpc: Paced | null } = {
  tunnel: [],
  bare: null,
  grpc: null,
};
try {
  await bareRun(); // warm-up of the three paths, not counted
  await bareGrpcRun();
  await tunnelRun();
  for (let r = 0; r < RUNS; r++) {
    bareRuns.push(await bareRun());
    grpcRuns.push(await bareGrpcRun());
    tunnelRuns.push(await tunnelRun());
  }
  for (const n of STREAM_LEVELS) paced.tunnel.push(await tunnelStreams(n));
  paced.bare = await bareStreams(Math.max(...STREAM_LEVELS));
  paced.grpc = await bareGrpcStreams(Math.max(...STREAM_LEVELS));
} finally {
  await receiver.request('stop').catch(() => undefined);
  if (receiver.child.exitCode === null && receiver.child.pid !== undefined) {
    const exited = once(receiver.child, 'exit');
    receiver.child.kill('SIGTERM');
    await exited;
  }
  for (const fn of cleanups.reverse()) await fn();
}

// --- report ---
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const mbps = (r: Run): number => r.bytes / 1e6 / (r.ms / 1000);
const usPerMb = (cpu: number, r: Run): number => cpu / (r.bytes / 1e6);
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const tunnelRate = median(tunnelRuns.map(mbps));
const bareRate = median(bareRuns.map(mbps));
const grpcRate = median(grpcRuns.map(mbps));
const ratio = tunnelRate / bareRate;
console.log(
  `throughput: ${RUNS} runs each of ${FRAGMENTS_PER_RUN} x ${FRAGMENT_BYTES / 1024} KiB ` +
    `(${(FRAGMENTS_PER_RUN * FRAGMENT_BYTES) / 2 ** 20} MiB), alternated; TLS 1.3 mTLS on loopback, medians; ` +
    `bare gRPC server's HTTP/2 receive window ${process.env.VIGIE_BENCH_RELAY_H2_WINDOW ?? '65535 (grpc-js default)'} B`,
);
for (const [name, runs] of [
  ['tunnel (framed TLS, TunnelLink -> Relay -> viewer)', tunnelRuns],
  ['bare gRPC (grpc-js Client -> Server, Session call, counting handler)', grpcRuns],
  ['bare Node TLS socket pipe', bareRuns],
] as const) {
  const rate = median(runs.map(mbps));
  const box = median(runs.map((r) => usPerMb(r.boxCpuUs, r)));
  const recv = median(runs.map((r) => usPerMb(r.recvCpuUs, r)));
  const drops = runs.reduce((s, r) => s + r.drops, 0);
  console.log(
    `  ${name}: ${rate.toFixed(0)} MB/s (runs ${runs.map((r) => mbps(r).toFixed(0)).join(', ')}); ` +
      `CPU per MB: sender ${box.toFixed(0)} us, receiver ${recv.toFixed(0)} us; drops ${drops}`,
  );
}
const cpuPerMb = (runs: Run[], side: 'boxCpuUs' | 'recvCpuUs'): number =>
  median(runs.map((r) => usPerMb(r[side], r)));
const cpuRatio = (a: Run[], b: Run[], side: 'boxCpuUs' | 'recvCpuUs'): string =>
  `${(cpuPerMb(a, side) / cpuPerMb(b, side)).toFixed(2)}x`;
console.log(
  `  ratio tunnel/bare TLS: throughput ${ratio.toFixed(2)} (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}); ` +
    `CPU per byte: box ${cpuRatio(tunnelRuns, bareRuns, 'boxCpuUs')}, relay ${cpuRatio(tunnelRuns, bareRuns, 'recvCpuUs')}`,
);
console.log(
  `  of which: tunnel/bare gRPC (our code on top of gRPC) throughput ${(tunnelRate / grpcRate).toFixed(2)}, ` +
    `CPU per byte box ${cpuRatio(tunnelRuns, grpcRuns, 'boxCpuUs')}, relay ${cpuRatio(tunnelRuns, grpcRuns, 'recvCpuUs')}; ` +
    `bare gRPC/bare TLS (gRPC-in-Node itself) throughput ${(grpcRate / bareRate).toFixed(2)}, ` +
    `CPU per byte sender ${cpuRatio(grpcRuns, bareRuns, 'boxCpuUs')}, receiver ${cpuRatio(grpcRuns, bareRuns, 'recvCpuUs')}`,
);

const share = (cpu: number, p: Paced): number => cpu / (WINDOW_MS * 1000) / p.streams;
console.log(
  `streams: each ${STREAM_FRAGMENT_BYTES} B x ${1000 / STREAM_FRAGMENT_EVERY_MS}/s ` +
    `(4 Mbit/s, keyframe every ${GOP}), ${WINDOW_MS / 1000} s window after ${WARMUP_MS / 1000} s warm-up; ` +
    `CPU in % of one core per stream`,
);
const expected = (p: Paced): number => p.streams * 500_000 * (WINDOW_MS / 1000);
const line = (name: string, p: Paced, dropWord: string): void => {
  console.log(
    `  ${name} x${p.streams}: box ${pct(share(p.boxCpuUs, p))}, receiver ${pct(share(p.recvCpuUs, p))} ` +
      `(process totals ${pct(p.boxCpuUs / (WINDOW_MS * 1000))} / ${pct(p.recvCpuUs / (WINDOW_MS * 1000))}); ` +
      `delivered ${((p.deliveredBytes / expected(p)) * 100).toFixed(1)}% of 4 Mbit/s each; ` +
      `${dropWord} ${p.drops}, gaps at viewers ${p.gaps}; pacer late by up to ${p.pushLateMs.toFixed(0)} ms, ` +
      `box event-loop delay p99 ${p.loopP99Ms.toFixed(0)} ms max ${p.loopMaxMs.toFixed(0)} ms`,
  );
};
for (const p of paced.tunnel) line('tunnel', p, 'media-gate drops');
if (paced.grpc) line('bare gRPC', paced.grpc, 'no gate, drops');
if (paced.bare) line('bare TLS', paced.bare, 'no gate, drops');
const top = paced.tunnel[paced.tunnel.length - 1];
if (top && paced.bare) {
  const box = share(top.boxCpuUs, top);
  const relay = share(top.recvCpuUs, top);
  const perBoxCore = 1 / (box + FFMPEG_REMUX_SHARE);
  const allInOne = 1 / (box + relay + FFMPEG_REMUX_SHARE);
  console.log(
    `  at x${top.streams}: tunnel/bare TLS CPU per stream: box ${(box / share(paced.bare.boxCpuUs, paced.bare)).toFixed(2)}x, ` +
      `relay ${(relay / share(paced.bare.recvCpuUs, paced.bare)).toFixed(2)}x`,
  );
  const g = paced.grpc;
  if (g && g.streams === top.streams) {
    const gBox = share(g.boxCpuUs, g);
    const gRecv = share(g.recvCpuUs, g);
    console.log(
      `  at x${top.streams}: tunnel/bare gRPC CPU per stream: box ${(box / gBox).toFixed(2)}x, relay ${(relay / gRecv).toFixed(2)}x; ` +
        `bare gRPC/bare TLS: sender ${(gBox / share(paced.bare.boxCpuUs, paced.bare)).toFixed(2)}x, ` +
        `receiver ${(gRecv / share(paced.bare.recvCpuUs, paced.bare)).toFixed(2)}x`,
    );
  }
  console.log(
    `  streams per core: box (tunnel ${pct(box)} + ffmpeg remux ${pct(FFMPEG_REMUX_SHARE)}) ${perBoxCore.toFixed(0)} ` +
      `(target >= 100: ${perBoxCore >= 100 ? 'met' : 'NOT met'}); relay alone ${(1 / relay).toFixed(0)}; ` +
      `box + relay + remux on one core ${allInOne.toFixed(0)}`,
  );
}
