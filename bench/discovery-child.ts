/**
 * The parts of bench/discovery.bench.ts that send WS-Discovery multicast, run
 * INSIDE the network namespace the bench creates (never from the root one:
 * both our probe and node-onvif's go to 239.255.255.250:3702). One JSON line
 * on stdout per mode:
 *   timing <cameras> <runs> <dir>: against the building of another process
 *     (its files in <dir>), each run times our CameraInventory (start +
 *     refresh, i.e. probe, answer wait, describe every camera) at
 *     describeConcurrency 8 and 16, node-onvif's startProbe, and startProbe +
 *     init() of every device found (after one untimed warm-up round).
 *   building <cameras> <dir>: a simulated building only (credentials and the
 *     annex written to <dir>) until stdin closes; prints {"ready":true}.
 *   rss <dir>: a CameraInventory as the agent holds it (no building in this
 *     process), one refresh, 1 s idle, then its VmRSS.
 *   found <cameras> <dir>: one refresh of ours and one node-onvif probe; how
 *     many cameras each found.
 * VIGIE_BENCH_RCVBUF=<bytes> gives every UDP socket of the process that
 * receive buffer (SO_RCVBUF; the kernel doubles it, up to net.core.rmem_max).
 * The simulated building answers a probe with all its ProbeMatches at once
 * (real cameras wait a random 0-500 ms, WS-Discovery 2005/04 APP_MAX_DELAY),
 * and the default 208 KiB buffer holds only about 92 of them.
 * Every mode ends by itself within WATCHDOG_MS.
 */
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CameraInventory } from '../agent/src/cameras/camera-inventory.js';
import { CredentialStore } from '../agent/src/cameras/credential-store.js';
import type { CamerasConfig } from '../agent/src/config/agent-config.js';
import { Logger } from '../lib/src/log.js';
import { Redactor } from '../lib/src/redact.js';
import type { Camera } from '../protocol/src/policy-schema.js';
import { simAnnex } from '../sim/src/annex.js';
import { SimulatedBuilding, type SimCredentialsFile } from '../sim/src/building.js';
import { describeWithNodeOnvif } from '../test/sim/onvif-clients.js';
import { probeWithNodeOnvif } from '../test/sim/fixtures/node-onvif-probe.js';

/** Our wait for ProbeMatches after the probe; set by the bench. */
const ANSWER_WAIT_MS = Number(process.env.VIGIE_BENCH_ANSWER_WAIT_MS ?? '500');
const WATCHDOG_MS = 150_000;
const quiet = new Logger('bench', { level: 'error', sink: { write: () => undefined } });

const RCVBUF = Number(process.env.VIGIE_BENCH_RCVBUF ?? '0');
if (RCVBUF > 0) {
  const create = dgram.createSocket.bind(dgram) as (
    options: dgram.SocketOptions,
    listener?: (msg: Buffer, rinfo: dgram.RemoteInfo) => void,
  ) => dgram.Socket;
  const patched = (
    type: dgram.SocketType | dgram.SocketOptions,
    listener?: (msg: Buffer, rinfo: dgram.RemoteInfo) => void,
  ): dgram.Socket =>
    create({ ...(typeof type === 'string' ? { type } : type), recvBufferSize: RCVBUF }, listener);
  dgram.createSocket = patched as typeof dgram.createSocket;
}

const watchdog = setTimeout(() => {
  process.stderr.write('discovery-child: watchdog expired\n');
  process.exit(3);
}, WATCHDOG_MS);
watchdog.unref();

function config(credentialsFile: string, describeConcurrency: number): CamerasConfig {
  return {
    lanAddress: '127.0.0.1',
    lanCidrs: ['127.0.0.0/8'],
    multicast: true,
    probe: [],
    credentialsFile,
    probeIntervalSec: 60,
    answerWaitMs: ANSWER_WAIT_MS,
    forgetAfterSec: 180,
    describeTimeoutMs: 5000,
    describeConcurrency,
    redescribeEverySec: 900,
  };
}

async function startBuilding(cameras: number, dir: string): Promise<SimulatedBuilding> {
  const building = new SimulatedBuilding({
    cameras,
    seed: 'bench-discovery',
    credentialsFile: path.join(dir, 'cameras.json'),
    discovery: { port: 3702, multicast: true },
    log: quiet,
  });
  await building.start();
  writeFileSync(
    path.join(dir, 'annex.json'),
    JSON.stringify(simAnnex('bench-discovery', cameras, [])),
  );
  return building;
}

/** A CameraInventory as `vigie agent` builds it, over the files in `dir`. */
async function inventoryFor(dir: string, concurrency: number): Promise<CameraInventory> {
  const redactor = new Redactor();
  const credentialsFile = path.join(dir, 'cameras.json');
  const annex = JSON.parse(readFileSync(path.join(dir, 'annex.json'), 'utf8')) as Camera[];
  return new CameraInventory({
    config: config(credentialsFile, concurrency),
    credentials: await CredentialStore.load(credentialsFile, redactor),
    annex: () => annex,
    log: quiet,
    periodic: false,
    redact: (text) => redactor.redact(text),
  });
}

/** Ms to discover and describe with ours; the cameras described. */
async function timeOurs(dir: string, concurrency: number): Promise<[number, number]> {
  const inventory = await inventoryFor(dir, concurrency);
  try {
    const t0 = performance.now();
    await inventory.start();
    const items = await inventory.refresh();
    const ms = performance.now() - t0;
    return [ms, items.filter((i) => i.status === 'annexed-present').length];
  } finally {
    await inventory.stop();
  }
}

/** Ms until node-onvif's probe resolves (and, with `init`, every device is initialised). */
async function timeNodeOnvif(dir: string, init: boolean): Promise<[number, number]> {
  const file = JSON.parse(
    readFileSync(path.join(dir, 'cameras.json'), 'utf8'),
  ) as SimCredentialsFile;
  const byXaddr = new Map(file.cameras.map((c) => [c.xaddr, c]));
  const t0 = performance.now();
  const found = await probeWithNodeOnvif();
  if (!init) return [performance.now() - t0, found.length];
  // The same bound as ours (describeConcurrency 8), so both describe alike.
  let next = 0;
  let described = 0;
  const worker = async (): Promise<void> => {
    while (next < found.length) {
      const xaddr = found[next++]?.xaddrs[0] ?? '';
      const creds = byXaddr.get(xaddr);
      if (!creds) continue;
      await describeWithNodeOnvif({ xaddr, username: creds.username, password: creds.password });
      described++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, found.length) }, worker));
  return [performance.now() - t0, described];
}

function rssMb(): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kb) / 1024;
}

const [mode, a, b, c] = process.argv.slice(2);
const out = (o: unknown): boolean => process.stdout.write(JSON.stringify(o) + '\n');

if (mode === 'timing') {
  const cameras = Number(a);
  const runs = Number(b);
  const dir = c ?? '';
  const ways = {
    ours8: () => timeOurs(dir, 8),
    ours16: () => timeOurs(dir, 16),
    probe: () => timeNodeOnvif(dir, false),
    probeInit: () => timeNodeOnvif(dir, true),
  };
  type Way = keyof typeof ways;
  const ms: Record<Way, number[]> = { ours8: [], ours16: [], probe: [], probeInit: [] };
  const found: Record<Way, number[]> = { ours8: [], ours16: [], probe: [], probeInit: [] };
  // One untimed round of both describers first: the timed runs compare warm code.
  await ways.ours8();
  await ways.probeInit();
  // Interleaved, so a noisy moment of the machine touches every way alike.
  for (let i = 0; i < runs; i++) {
    for (const way of Object.keys(ways) as Way[]) {
      const [took, count] = await ways[way]();
      ms[way].push(took);
      found[way].push(count);
    }
  }
  out({ cameras, ms, found });
} else if (mode === 'building') {
  const building = await startBuilding(Number(a), b ?? '');
  out({ ready: true });
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await building.stop('bench');
  // What it refused (stderr: the parent shows it, stdout is closed by now).
  process.stderr.write(
    `building of ${a} cameras refused (its own Hellos; node-onvif's probes for types it does not offer): ` +
      `${JSON.stringify(building.counter.snapshot())}\n`,
  );
} else if (mode === 'rss') {
  const inventory = await inventoryFor(a ?? '', 8);
  await inventory.start();
  const items = await inventory.refresh();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  out({
    rssMb: rssMb(),
    present: items.filter((i) => i.status === 'annexed-present').length,
    items: items.length,
  });
  await inventory.stop();
} else if (mode === 'found') {
  const building = await startBuilding(Number(a), b ?? '');
  try {
    const [, ours] = await timeOurs(b ?? '', 8);
    const [, nodeOnvif] = await timeNodeOnvif(b ?? '', false);
    out({ ours, nodeOnvif });
  } finally {
    await building.stop('bench');
  }
} else {
  process.stderr.write(`discovery-child: unknown mode ${mode}\n`);
  process.exitCode = 2;
}
