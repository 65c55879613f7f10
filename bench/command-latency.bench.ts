/**
 * Publish-to-acknowledgement latency of a signed `session.open` (issue 3):
 * the console publishes QoS 1, the box verifies, journals durably (SQLite WAL,
 * synchronous FULL), opens, and its `command.ack` comes back on the site's evt
 * topic. Side by side on the same broker and with the same mTLS clients, the
 * baseline is a bare MQTT QoS 1 round trip: a client holding the box's
 * certificate echoes each command back on evt. Run through the embedded broker
 * (aedes, `CentralApp` in-process) and through Debian's Mosquitto with the
 * generated configuration and ACL (started here on a free loopback port,
 * killed by pid at the end; skipped if not installed). The agent runs
 * in-process (`AgentApp`). Target: p50 and p99 each under 2x bare + 5 ms.
 * Each open is closed right after (not timed), so sessions never pile up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify as toYaml } from 'yaml';
import { AgentApp } from '../agent/src/app.js';
import { loadAgentConfig } from '../agent/src/config/agent-config.js';
import { CentralApp } from '../central/src/app.js';
import { parseCentralConfig } from '../central/src/config.js';
import { writeMosquittoSetup } from '../central/src/mosquitto/mosquitto-setup.js';
import { initPki } from '../certs/src/pki-init.js';
import { issueCertificate } from '../certs/src/pki-issue.js';
import type { IssueRequest } from '../certs/src/leaf-request.js';
import { pkiPaths } from '../certs/src/pki-layout.js';
import { clientTlsOptions, disableNagle, loadTlsMaterial } from '../certs/src/tls-profile.js';
import { Logger } from '../lib/src/log.js';
import { AgentEventSchema } from '../protocol/src/events.js';
import { AgentStateSchema } from '../protocol/src/agent-state.js';
import { cmdTopic, evtTopic, stateTopic } from '../protocol/src/topics.js';
import { makeAdminKey, OPERATOR_CN } from '../test/central/helpers.js';
import { freePort } from '../test/certs/helpers.js';
import { closeCommand, openCommand, sign, testPolicy } from '../test/agent/pipeline-fixtures.js';
import { ALWAYS } from '../test/e2e/harness.js';

const SAMPLES = 500;
const WARMUP = 50;
const SITE = { siteId: 'borny-hauts', boxId: 'box-borny-01' };
const BOX_CLIENT_ID = `box:${SITE.siteId}:${SITE.boxId}`;
const quiet = new Logger('bench', { level: 'error', sink: { write: () => undefined } });

// --- a throwaway PKI, an administrator key, a signed policy open 24/7 ---
const base = await fs.mkdtemp(path.join(os.tmpdir(), 'vigie-bench-latency-'));
const pki = pkiPaths(path.join(base, 'pki'));
await initPki({ dir: pki.dir });
let leaves = 0;
async function leaf(request: IssueRequest): Promise<string> {
  const dir = path.join(base, `leaf-${++leaves}`);
  await issueCertificate({ dir: pki.dir, request, outDir: dir });
  return dir;
}
const tlsFiles = (dir: string) => ({
  caFile: pki.caBundle,
  certFile: path.join(dir, 'chain.pem'),
  keyFile: path.join(dir, 'key.pem'),
  crlFile: pki.crlBundle,
});
const brokerDir = await leaf({
  kind: 'service',
  name: 'broker',
  dns: ['localhost'],
  ips: ['127.0.0.1'],
});
const boxDir = await leaf({ kind: 'box', ...SITE });
const opDir = await leaf({ kind: 'person', displayName: OPERATOR_CN, role: 'operator' });
const boxTls = await loadTlsMaterial(tlsFiles(boxDir));
const opTls = await loadTlsMaterial(tlsFiles(opDir));

const admin = makeAdminKey();
const policy = testPolicy((p) => {
  p.version = 12;
  p.timeWindows = ALWAYS;
});
const bundleFile = path.join(base, 'policy.bundle.json');
await fs.writeFile(bundleFile, admin.sign(policy));
const adminKeyFile = path.join(base, 'admin.pub');
await fs.writeFile(adminKeyFile, admin.publicKeyPem);

// --- clients: the product's settings (MQTT 3.1.1, mTLS, no Nagle) ---
async function client(port: number, tls: typeof boxTls, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
    ...clientTlsOptions(tls, { servername: '127.0.0.1' }),
    protocolVersion: 4,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  disableNagle(c.stream); // as BrokerLink and OpClient do: ~40 ms of delayed ACK otherwise
  return c;
}

/** Times publish -> the first message on evt for which `answers` returns true. */
async function timedRoundTrip(
  op: MqttClient,
  bytes: Buffer,
  answers: (payload: Buffer) => boolean,
): Promise<number> {
  const start = process.hrtime.bigint();
  const arrived = new Promise<bigint>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
    const onMessage = (_topic: string, payload: Buffer): void => {
      if (!answers(payload)) return;
      const end = process.hrtime.bigint();
      clearTimeout(timer);
      op.off('message', onMessage);
      resolve(end);
    };
    op.on('message', onMessage);
  });
  await op.publishAsync(cmdTopic(SITE.siteId), bytes, { qos: 1 });
  return Number((await arrived) - start) / 1e6;
}

/** Both phases start from a clean heap (`--expose-gc`, as bench/run.sh runs us). */
const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Stats {
  p50: number;
  p99: number;
}
function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Bare QoS 1 round trip: a client with the box's certificate echoes each command on evt. */
async function bareRoundTrips(port: number, op: MqttClient): Promise<Stats> {
  const echo = await client(port, boxTls, BOX_CLIENT_ID);
  await echo.subscribeAsync(cmdTopic(SITE.siteId), { qos: 1 });
  echo.on('message', (_topic, payload) => echo.publish(evtTopic(SITE.siteId), payload, { qos: 1 }));
  const samples: number[] = [];
  collectGarbage();
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const bytes = sign(openCommand(Date.now(), { cameras: ['cam-01'] }));
    const ms = await timedRoundTrip(op, bytes, (p) => p.equals(bytes));
    if (i >= WARMUP) samples.push(ms);
  }
  await echo.endAsync();
  return stats(samples);
}

function replyTo(commandId: string): (payload: Buffer) => boolean {
  return (payload) => {
    const e = AgentEventSchema.safeParse(JSON.parse(payload.toString('utf8')));
    return (
      e.success &&
      (e.data.type === 'command.ack' || e.data.type === 'command.reject') &&
      e.data.commandId === commandId
    );
  };
}

/** The agent's retained state says online with the policy: it is ready. */
async function online(op: MqttClient): Promise<void> {
  const topic = stateTopic(SITE.siteId);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent not online within 15 s')), 15_000);
    const onMessage = (got: string, payload: Buffer): void => {
      if (got !== topic) return;
      const s = AgentStateSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (!s.success || s.data.status !== 'online' || s.data.policyVersion !== 12) return;
      clearTimeout(timer);
      op.off('message', onMessage);
      resolve();
    };
    op.on('message', onMessage);
    op.subscribe(topic, { qos: 1 });
  });
  await op.unsubscribeAsync(topic);
}

/** session.open through the agent, acknowledged; each one then closed (not timed). */
async function openLatencies(port: number, op: MqttClient, name: string): Promise<Stats> {
  const dataDir = path.join(base, `agent-${name}`);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  // The kept policy: Mosquitto has no policy publisher here.
  await fs.copyFile(bundleFile, path.join(dataDir, 'policy.json'));
  const configFile = path.join(base, `agent-${name}.yaml`);
  await fs.writeFile(
    configFile,
    toYaml({
      ...SITE,
      dataDir,
      broker: { url: `mqtts://127.0.0.1:${port}`, servername: '127.0.0.1' },
      tls: tlsFiles(boxDir),
      admin: { kid: admin.kid, publicKeyFile: adminKeyFile },
      clockSync: 'assume',
      log: { level: 'error' },
    }),
  );
  const agent = new AgentApp({
    config: await loadAgentConfig(configFile),
    log: quiet,
    version: 'bench',
  });
  const ready = online(op);
  await agent.start();
  await ready;
  const samples: number[] = [];
  collectGarbage();
  try {
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const open = openCommand(Date.now(), { cameras: ['cam-01'] });
      const ms = await timedRoundTrip(op, sign(open), replyTo(open.id));
      if (agent.sessions.length !== 1) throw new Error(`open ${i} was not accepted`);
      if (i >= WARMUP) samples.push(ms);
      const close = closeCommand(Date.now(), open.sessionId);
      await timedRoundTrip(op, sign(close), replyTo(close.id));
    }
  } finally {
    await agent.stop('bench');
  }
  return stats(samples);
}

async function measure(port: number, name: string): Promise<{ bare: Stats; open: Stats }> {
  const op = await client(port, opTls, 'op:bench:latency');
  await op.subscribeAsync(evtTopic(SITE.siteId), { qos: 1 });
  try {
    const bare = await bareRoundTrips(port, op);
    const open = await openLatencies(port, op, name);
    return { bare, open };
  } finally {
    await op.endAsync();
  }
}

async function withCentral<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const config = parseCentralConfig(
    {
      listen: { host: '127.0.0.1' },
      tls: tlsFiles(brokerDir),
      policy: { bundleFile, adminPublicKeyFile: adminKeyFile, adminKid: admin.kid },
      dataDir: path.join(base, 'central-data'),
    },
    path.join(base, 'central.yaml'),
  );
  const app = new CentralApp({ config, log: quiet, port: 0 });
  await app.start();
  try {
    return await fn(app.broker.address.port);
  } finally {
    await app.stop('bench');
  }
}

async function withMosquitto<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const setup = await writeMosquittoSetup({
    outDir: path.join(base, 'mosquitto'),
    policy,
    consoleUsers: [OPERATOR_CN],
    conf: { host: '127.0.0.1', port, ...tlsFiles(brokerDir), user: os.userInfo().username },
  });
  const child: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', setup.confFile], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  try {
    for (let attempt = 0; ; attempt++) {
      const up = await client(port, opTls, 'probe').then(
        async (c) => (await c.endAsync(), true),
        () => false,
      );
      if (up) break;
      if (attempt >= 100) throw new Error(`mosquitto not listening on ${port} after 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // poll until it listens
    }
    return await fn(port);
  } finally {
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = once(child, 'exit');
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
  }
}

const results: [string, { bare: Stats; open: Stats }][] = [];
try {
  results.push(['aedes (vigie central)', await withCentral((port) => measure(port, 'aedes'))]);
  if (existsSync('/usr/sbin/mosquitto')) {
    results.push([
      'mosquitto + generated ACL',
      await withMosquitto((port) => measure(port, 'mosquitto')),
    ]);
  } else {
    console.log('mosquitto not installed (apt-get install mosquitto): skipped');
  }
} finally {
  await fs.rm(base, { recursive: true, force: true });
}

const f = (ms: number): string => `${ms.toFixed(2)} ms`;
console.log(`${SAMPLES} samples each after ${WARMUP} warm-up; mTLS on loopback, QoS 1, MQTT 3.1.1`);
for (const [name, { bare, open }] of results) {
  const met = (k: keyof Stats): boolean => open[k] < 2 * bare[k] + 5;
  console.log(`${name}: session.open -> ack   p50 ${f(open.p50)}  p99 ${f(open.p99)}`);
  console.log(`${name}: bare QoS 1 round trip p50 ${f(bare.p50)}  p99 ${f(bare.p99)}`);
  console.log(
    `${name}: ratio open/bare p50 ${(open.p50 / bare.p50).toFixed(2)}, p99 ${(open.p99 / bare.p99).toFixed(2)}; ` +
      `target open < 2x bare + 5 ms: p50 ${met('p50') ? 'met' : 'NOT met'} (limit ${f(2 * bare.p50 + 5)}), ` +
      `p99 ${met('p99') ? 'met' : 'NOT met'} (limit ${f(2 * bare.p99 + 5)})`,
  );
}
