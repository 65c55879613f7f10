/**
 * The agent's footprint on the box (issue 3): resident memory once online and
 * idle (target: under 80 MB), and the time from process start to `online` (its
 * retained state as an operator client sees it). The agent runs as a child
 * process, `node dist/cli/src/main.js agent --config F` (built first when
 * dist/ is missing or older than the sources), against the embedded broker
 * running in this process. Side by side in the same run, two baselines:
 *   - a bare `node -e` that only connects mqtt.js with the box's mTLS
 *     certificate to the same broker (ANCHORS: Node with mqtt and friends
 *     loaded and connected, 76 MB);
 *   - a bare `node -e` that does nothing (ANCHORS: Node 20 bare, 40 MB).
 * RSS is VmRSS from /proc/<pid>/status after IDLE_MS online. Medians of RUNS.
 * A third agent variant has a `register:` section: its journal is forwarded over
 * gRPC (grpc-js and the proto loader, loaded only then) to a RegisterServer
 * started in this process on loopback (a fresh one a run, port 0: each run's
 * journal starts again at seq 1); it is measured once the register holds the
 * journal's last seq (bounded wait), then IDLE_MS idle like the others.
 * VIGIE_BENCH_AGENT_ENTRY=<file.js> runs another built entry with the same
 * arguments instead (to measure a change side by side, e.g. a leaner import graph).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Test } from 'tap';
import mqtt, { type MqttClient } from 'mqtt';
import { CentralApp } from '../central/src/app.js';
import { clientTlsOptions, disableNagle } from '../certs/src/tls-profile.js';
import { Logger } from '../lib/src/log.js';
import { AgentStateSchema, type AgentState } from '../protocol/src/agent-state.js';
import { stateTopic } from '../protocol/src/topics.js';
import { BORNY, makeWorld, centralConfigFor } from '../test/e2e/harness.js';
import { SimulatedBuilding } from '../sim/src/building.js';
import { simAnnex } from '../sim/src/annex.js';
import { journalFileIn } from '../agent/src/journal/journal-database.js';
import { readJournal } from '../test/e2e/harness.js';
import {
  makeRegisterWorld,
  REGISTER_KID,
  startRegister,
  type RunningRegister,
} from '../test/central/register-ingest-fixtures.js';

const RUNS = 5;
const CAMERAS = 128;
const IDLE_MS = 3000; // online and quiet this long before RSS is read
const START_TIMEOUT_MS = 20_000;
const CAUGHT_UP_TIMEOUT_MS = 20_000; // the register holds the journal's last seq within this
const ROOT = path.resolve(import.meta.dirname, '..');
const DIST_MAIN = path.join(ROOT, 'dist/cli/src/main.js');
/** Another built entry with the same arguments, to compare a change (e.g. a leaner import graph). */
const ENTRY = process.env.VIGIE_BENCH_AGENT_ENTRY;
/** The node flags of the box's unit file: the agent is measured as it runs there. */
const UNIT_NODE_FLAGS =
  /^ExecStart=\/usr\/bin\/node (.*?) \/opt\/vigie\//m.exec(
    readFileSync(path.join(ROOT, 'os-image/systemd/vigie-agent.service'), 'utf8'),
  )?.[1] ?? '';
const quiet = new Logger('bench', { level: 'error', sink: { write: () => undefined } });

/** True when dist/ is missing or any source it is built from is newer. */
function distIsStale(): boolean {
  if (!existsSync(DIST_MAIN) || !existsSync(path.join(ROOT, 'dist/agent/src/app.js'))) return true;
  const builtMs = statSync(DIST_MAIN).mtimeMs;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return newer(p);
      return e.name.endsWith('.ts') && statSync(p).mtimeMs > builtMs;
    });
  // tsconfig.build.json compiles */src/**/*.ts
  return readdirSync(ROOT, { withFileTypes: true }).some(
    (e) =>
      e.isDirectory() &&
      existsSync(path.join(ROOT, e.name, 'src')) &&
      newer(path.join(ROOT, e.name, 'src')),
  );
}

function agentCommand(): { args: string[]; how: string } {
  if (ENTRY !== undefined) return { args: [path.resolve(ENTRY)], how: `node ${ENTRY}` };
  if (distIsStale()) {
    console.log('dist/ missing or older than the sources: npm run build');
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) {
      return {
        args: ['--import=tsx', path.join(ROOT, 'cli/src/main.ts')],
        how: 'node --import=tsx cli/src/main.ts (build failed; tsx adds its load time and memory)',
      };
    }
  }
  return { args: [DIST_MAIN], how: 'node dist/cli/src/main.js (built)' };
}

// --- the world of the end-to-end tests: PKI, policy, configs (cleaned up at the end) ---
const cleanups: (() => unknown)[] = [];
const scope = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
// The annex holds the simulated building's 128 cameras (issue 4: "agent RSS with
// 128 cameras known"); the idle runs have no cameras section and ignore it.
const world = await makeWorld(scope, 12, (p) => {
  const site = p.sites.find((s) => s.id === BORNY.siteId);
  if (site) site.cameras = simAnnex('vigie', CAMERAS, []);
});
const building = new SimulatedBuilding({
  cameras: CAMERAS,
  credentialsFile: path.join(world.dir, 'cameras.json'),
  discovery: { port: 0 },
  log: quiet,
});
await building.start();
cleanups.push(() => building.stop());
const camerasSection = {
  cameras: {
    lanAddress: '127.0.0.1',
    lanCidrs: ['127.0.0.0/8'],
    multicast: false,
    probe: [`127.0.0.1:${building.discoveryPort}`],
    credentialsFile: path.join(world.dir, 'cameras.json'),
    answerWaitMs: 500,
  },
};

// The register's files in the same PKI (its service certificate, its signing key).
const registerFiles = await makeRegisterWorld(scope, world.pki);

const centralConfig = centralConfigFor(world);
const central = new CentralApp({ config: centralConfig, log: quiet, port: 0 });
await central.start();
const port = central.broker.address.port;

const op: MqttClient = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
  ...clientTlsOptions(await world.pki.material(world.operatorDir), { servername: '127.0.0.1' }),
  protocolVersion: 4,
  clientId: 'op:bench:idle',
  reconnectPeriod: 0,
});
disableNagle(op.stream);

/** Every state of the box, as the operator receives it. */
const states: { at: number; state: AgentState }[] = [];
op.on('message', (_topic, payload) => {
  const parsed = AgentStateSchema.safeParse(JSON.parse(payload.toString('utf8')));
  if (parsed.success) states.push({ at: performance.now(), state: parsed.data });
});
await op.subscribeAsync(stateTopic(BORNY.siteId), { qos: 1 });

/** Polls `probe` (a list filled by events) until it answers, `child` exits, or the time is up. */
async function until<T>(
  what: string,
  probe: () => T | undefined,
  child?: ChildProcess,
  timeoutMs = START_TIMEOUT_MS,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode})`);
    }
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // poll interval, not a wait for an outcome
  }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(
    () => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
    5000,
  );
  await exited;
  clearTimeout(timer);
}

/** A child's stderr, kept to be shown only if the run fails (its warnings are not figures). */
function collect(child: ChildProcess): string[] {
  const lines: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  return lines;
}

const idle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, IDLE_MS));

interface Sample {
  startMs: number; // spawn -> online (agent) or connected (baseline)
  readyMs?: number; // spawn -> online with the policy applied (agent)
  rssMb: number;
  heldSeq?: number; // the register's last seq of this box when caught up (register variant)
}

/** The register's last acknowledged seq of this box once it is the journal's last (bounded). */
async function caughtUp(
  register: RunningRegister,
  journalFile: string,
  child: ChildProcess,
): Promise<number> {
  const deadline = performance.now() + CAUGHT_UP_TIMEOUT_MS;
  for (;;) {
    const local = readJournal(journalFile).at(-1)?.seq ?? 0;
    const held = (await register.server.store.lastAcked(BORNY.boxId))?.seq ?? 0;
    if (local > 0 && held === local) return held;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `register caught up: the process exited (${child.exitCode ?? child.signalCode})`,
      );
    }
    if (performance.now() > deadline) {
      throw new Error(
        `register caught up: holds seq ${held} of ${local} after ${CAUGHT_UP_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // poll interval, not a wait for an outcome
  }
}

async function agentRun(
  args: string[],
  run: number,
  variant: 'plain' | 'cameras' | 'register' = 'plain',
): Promise<Sample> {
  const withCameras = variant === 'cameras';
  const dataDir = path.join(
    world.dir,
    `agent-data-${variant === 'plain' ? '' : `${variant}-`}${run}`,
  );
  // A fresh register a run: each run's journal starts again at seq 1.
  const register =
    variant === 'register'
      ? await startRegister(
          scope,
          await registerFiles.configFile(path.join(registerFiles.dir, `register-data-${run}`)),
        )
      : null;
  const config = await world.agentConfigFile(
    port,
    dataDir,
    withCameras
      ? camerasSection
      : register
        ? {
            register: {
              address: `127.0.0.1:${register.port}`,
              serverName: '127.0.0.1',
              publicKeyFile: registerFiles.registerPubFile,
              kid: REGISTER_KID,
            },
          }
        : {},
  );
  const seenBefore = states.length;
  const t0 = performance.now();
  const flags = (process.env.VIGIE_BENCH_NODE_FLAGS ?? UNIT_NODE_FLAGS).split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...args, 'agent', '--config', config], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = collect(child);
  try {
    const fresh = (check: (s: AgentState) => boolean) => () =>
      states.slice(seenBefore).find((x) => check(x.state));
    const online = await until(
      'online',
      fresh((s) => s.status === 'online'),
      child,
    );
    const ready = await until(
      withCameras ? `${CAMERAS} cameras described and matched` : 'policy applied',
      fresh(
        (s) =>
          s.status === 'online' &&
          s.policyVersion === 12 &&
          (!withCameras ||
            s.inventory.filter((i) => i.status === 'annexed-present').length === CAMERAS),
      ),
      child,
    );
    const heldSeq = register ? await caughtUp(register, journalFileIn(dataDir), child) : undefined;
    await idle();
    return {
      startMs: online.at - t0,
      readyMs: ready.at - t0,
      rssMb: rssMb(child.pid ?? 0),
      ...(heldSeq === undefined ? {} : { heldSeq }),
    };
  } catch (err) {
    console.error(stderr.join(''));
    throw err;
  } finally {
    await stop(child);
    // Its orderly stop says offline (retained): the next run's `online` is then its own.
    await until('offline', () =>
      states.slice(seenBefore).find((x) => x.state.status === 'offline'),
    );
    await register?.server.stop('bench run over');
  }
}

/** The same connection with nothing of ours: mqtt.js, the box's mTLS certificate, no Nagle. */
const BARE_MQTT = `
const fs = require('node:fs');
const mqtt = require('mqtt');
const [ca, cert, key, url] = process.argv.slice(1);
const c = mqtt.connect(url, {
  ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key),
  servername: '127.0.0.1', minVersion: 'TLSv1.3', protocolVersion: 4,
  clientId: 'box:${BORNY.siteId}:${BORNY.boxId}', reconnectPeriod: 0,
});
c.on('connect', () => { c.stream.setNoDelay(true); process.stdout.write('connected\\n'); });
c.on('error', (e) => { console.error(e.message); process.exit(1); });
process.on('SIGTERM', () => c.end(true, () => process.exit(0)));
`;

async function bareRun(script: string, args: string[]): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(child);
  try {
    let ready = 0;
    child.stdout?.on('data', () => (ready ||= performance.now()));
    const at = await until('bare client connected', () => (ready > 0 ? ready : undefined), child);
    await idle();
    return { startMs: at - t0, rssMb: rssMb(child.pid ?? 0) };
  } catch (err) {
    console.error(stderr.join(''));
    throw err;
  } finally {
    await stop(child);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const { args, how } = agentCommand();
const agent: Sample[] = [];
const agentCams: Sample[] = [];
const agentReg: Sample[] = [];
const bareMqtt: Sample[] = [];
const bareNode: Sample[] = [];
const box = world.boxDir;
try {
  for (let run = 0; run < RUNS; run++) {
    agent.push(await agentRun(args, run));
    agentCams.push(await agentRun(args, run, 'cameras'));
    agentReg.push(await agentRun(args, run, 'register'));
    bareMqtt.push(
      await bareRun(BARE_MQTT, [
        world.pki.paths.caBundle,
        path.join(box, 'chain.pem'),
        path.join(box, 'key.pem'),
        `mqtts://127.0.0.1:${port}`,
      ]),
    );
    bareNode.push(
      await bareRun("process.stdout.write('up\\n'); setInterval(() => {}, 1 << 30);", []),
    );
  }
} finally {
  await op.endAsync();
  await central.stop('bench');
  for (const fn of cleanups.reverse()) await fn();
}

const mb = (xs: Sample[]): number => median(xs.map((x) => x.rssMb));
const ms = (xs: number[]): string => `${median(xs).toFixed(0)} ms`;
const [agentMb, mqttMb, nodeMb] = [mb(agent), mb(bareMqtt), mb(bareNode)];
console.log(
  `agent process: node ${process.env.VIGIE_BENCH_NODE_FLAGS ?? UNIT_NODE_FLAGS} ${how}; medians of ${RUNS} runs, RSS after ${IDLE_MS / 1000} s online and idle`,
);
console.log(
  `agent idle RSS ${agentMb.toFixed(1)} MB (target < 80 MB: ${agentMb < 80 ? 'met' : 'NOT met'}); ` +
    `runs ${agent.map((x) => x.rssMb.toFixed(1)).join(', ')}`,
);
console.log(
  `bare node + mqtt.js mTLS connected: ${mqttMb.toFixed(1)} MB (ANCHORS: 76 MB with mqtt, grpc-js, ...)`,
);
console.log(`bare node, nothing loaded: ${nodeMb.toFixed(1)} MB (ANCHORS: 40 MB)`);
console.log(
  `ratio agent/bare mqtt ${(agentMb / mqttMb).toFixed(2)}, agent/bare node ${(agentMb / nodeMb).toFixed(2)}; ` +
    `agent above bare mqtt: ${(agentMb - mqttMb).toFixed(1)} MB`,
);
const agentStart = agent.map((x) => x.startMs);
const camsMb = mb(agentCams);
console.log(
  `agent RSS with ${CAMERAS} cameras known (discovered, described, matched, on its state): ` +
    `${camsMb.toFixed(1)} MB, ${(camsMb - agentMb).toFixed(1)} MB above the agent without cameras ` +
    `(${(((camsMb - agentMb) * 1024) / CAMERAS).toFixed(0)} kB a camera); runs ${agentCams
      .map((x) => x.rssMb.toFixed(1))
      .join(
        ', ',
      )}; start -> ${CAMERAS} cameras on its state ${ms(agentCams.map((x) => x.readyMs ?? NaN))}`,
);
const bareStart = bareMqtt.map((x) => x.startMs);
console.log(
  `start -> online (retained state seen by an operator): ${ms(agentStart)}; ` +
    `-> online with the policy applied: ${ms(agent.map((x) => x.readyMs ?? NaN))}`,
);
console.log(
  `bare node + mqtt.js start -> connected: ${ms(bareStart)}; bare node start -> first output: ${ms(bareNode.map((x) => x.startMs))}`,
);
console.log(
  `ratio agent online / bare mqtt connected: ${(median(agentStart) / median(bareStart)).toFixed(2)}`,
);
const regMb = mb(agentReg);
console.log(
  `agent idle RSS with a register section (journal forwarded over gRPC to a register on loopback, caught up at seq ${median(agentReg.map((x) => x.heldSeq ?? NaN))}): ` +
    `${regMb.toFixed(1)} MB (target < 80 MB: ${regMb < 80 ? 'met' : 'NOT met'}); ` +
    `without it ${agentMb.toFixed(1)} MB; difference ${(regMb - agentMb).toFixed(1)} MB; ` +
    `runs ${agentReg.map((x) => x.rssMb.toFixed(1)).join(', ')}`,
);
