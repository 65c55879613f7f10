/**
 * MQTT QoS 1 round trip (console publishes a command, the box answers on its
 * evt topic, the console receives the answer) over mTLS on loopback, side by
 * side in one run:
 *   - the embedded broker of `vigie central` (aedes + our authorisation),
 *   - bare aedes behind the same TLS listener, without authorisation hooks
 *     (the cost of our checks is the difference),
 *   - Debian's Mosquitto with the generated configuration and ACL (if installed).
 * Reports p50 and p99 in milliseconds. Clients speak MQTT 3.1.1 (aedes has no MQTT 5).
 */
import { spawn } from 'node:child_process';
import { once, type EventEmitter } from 'node:events';
import { existsSync, promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { initPki } from '../certs/src/pki-init.js';
import { issueCertificate } from '../certs/src/pki-issue.js';
import type { IssueRequest } from '../certs/src/leaf-request.js';
import { pkiPaths } from '../certs/src/pki-layout.js';
import {
  clientTlsOptions,
  loadTlsMaterial,
  serverTlsOptions,
  type TlsMaterial,
} from '../certs/src/tls-profile.js';
import { Logger } from '../lib/src/log.js';
import { MqttBroker } from '../central/src/broker/mqtt-broker.js';
import { writeMosquittoSetup } from '../central/src/mosquitto/mosquitto-setup.js';
import { loadPolicySource } from '../protocol/src/policy-source.js';
import { cmdTopic, evtTopic } from '../protocol/src/topics.js';

const ROUNDS = 500;
const NO_DELAY = process.env.VIGIE_BENCH_NAGLE !== '1';
const WARMUP = 50;
const SITE = { siteId: 'borny-hauts', boxId: 'box-borny-01' };
const quiet = new Logger('bench', { level: 'error', sink: { write: () => undefined } });

const base = await fs.mkdtemp(path.join(os.tmpdir(), 'vigie-bench-mqtt-'));
const paths = pkiPaths(path.join(base, 'pki'));
await initPki({ dir: paths.dir });
let leaves = 0;
async function leaf(request: IssueRequest): Promise<{ dir: string; material: TlsMaterial }> {
  const dir = path.join(base, `leaf-${++leaves}`);
  await issueCertificate({ dir: paths.dir, request, outDir: dir });
  const material = await loadTlsMaterial({
    caFile: paths.caBundle,
    certFile: path.join(dir, 'chain.pem'),
    keyFile: path.join(dir, 'key.pem'),
    crlFile: paths.crlBundle,
  });
  return { dir, material };
}
const broker = await leaf({
  kind: 'service',
  name: 'broker',
  dns: ['localhost'],
  ips: ['127.0.0.1'],
});
const box = await leaf({ kind: 'box', ...SITE });
const op = await leaf({ kind: 'person', displayName: 'Paul Martin', role: 'operator' });

function client(port: number, material: TlsMaterial, clientId: string): Promise<MqttClient> {
  const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    ...clientTlsOptions(material, { servername: '127.0.0.1' }),
    protocolVersion: 4,
    clientId,
    reconnectPeriod: 0,
  });
  return new Promise((resolve, reject) => {
    c.once('connect', () => {
      // Node 20's tls.connect ignores `noDelay`; without this every round trip
      // waits ~40 ms for a delayed ACK (Nagle on the client's small writes).
      if (NO_DELAY && c.stream instanceof tls.TLSSocket) c.stream.setNoDelay(true);
      resolve(c);
    });
    c.once('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function roundTrips(port: number): Promise<{ p50: number; p99: number }> {
  const b = await client(port, box.material, `box:${SITE.siteId}:${SITE.boxId}`);
  const o = await client(port, op.material, 'op:bench:1');
  await b.subscribeAsync(cmdTopic(SITE.siteId), { qos: 1 });
  await o.subscribeAsync(evtTopic(SITE.siteId), { qos: 1 });
  b.on('message', (_topic, payload) => b.publish(evtTopic(SITE.siteId), payload, { qos: 1 }));
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const start = process.hrtime.bigint();
    const answer = once(o as unknown as EventEmitter, 'message');
    await o.publishAsync(cmdTopic(SITE.siteId), Buffer.from(String(i)), { qos: 1 });
    const [, payload] = (await answer) as [string, Buffer];
    if (payload.toString() !== String(i)) throw new Error(`round ${i}: got ${payload.toString()}`);
    if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await Promise.all([b.endAsync(), o.endAsync()]);
  samples.sort((x, y) => x - y);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const results: [string, { p50: number; p99: number }][] = [];

const ours = new MqttBroker({ host: '127.0.0.1', port: 0, tls: broker.material, log: quiet });
await ours.start();
results.push(['vigie central (aedes + authorisation)', await roundTrips(ours.address.port)]);
await ours.stop('bench');

const bare = await Aedes.createBroker();
const server = tls.createServer(
  serverTlsOptions(broker.material, { requireClientCert: true }),
  (s) => {
    s.setNoDelay(true);
    bare.handle(s);
  },
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
results.push([
  'bare aedes, same TLS listener',
  await roundTrips((server.address() as AddressInfo).port),
]);
server.close();
await new Promise<void>((resolve) => bare.close(() => resolve()));

if (existsSync('/usr/sbin/mosquitto')) {
  const probe = tls.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  const setup = await writeMosquittoSetup({
    outDir: path.join(base, 'mosquitto'),
    policy: await loadPolicySource(
      'protocol/examples/policy.example.yaml',
      new Date('2025-03-01T09:00:00Z'),
    ),
    consoleUsers: ['Paul Martin'],
    conf: {
      host: '127.0.0.1',
      port,
      caFile: paths.caBundle,
      certFile: path.join(broker.dir, 'chain.pem'),
      keyFile: path.join(broker.dir, 'key.pem'),
      crlFile: paths.crlBundle,
      user: os.userInfo().username,
    },
  });
  const child = spawn('/usr/sbin/mosquitto', ['-c', setup.confFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let started = false;
  for (let attempt = 0; attempt < 100 && !started; attempt++) {
    started = await client(port, op.material, 'probe').then(
      async (c) => (await c.endAsync(), true),
      async () => (await new Promise((r) => setTimeout(r, 50)), false), // poll until it listens
    );
  }
  results.push(['mosquitto 2.0 + generated ACL', await roundTrips(port)]);
  child.kill('SIGTERM');
  await once(child, 'exit');
}
await fs.rm(base, { recursive: true, force: true });

for (const [name, r] of results) {
  console.log(`${name.padEnd(40)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
}
const [oursR, bareR] = [results[0]?.[1], results[1]?.[1]];
if (oursR && bareR) {
  console.log(
    `ratio ours/bare aedes: p50 ${(oursR.p50 / bareR.p50).toFixed(2)}, p99 ${(oursR.p99 / bareR.p99).toFixed(2)}`,
  );
}
