/**
 * A whole little Vigie on loopback for end-to-end tests: a throwaway PKI, an
 * administrator key and a signed policy (operators with fresh keys, open 24/7
 * so the test does not depend on the hour), the broker's, a box's and an
 * operator's certificates, and the configuration files of the agent and the
 * console as a person would write them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { stringify as toYaml } from 'yaml';
import { AgentApp } from '../../agent/src/app.js';
import { loadAgentConfig } from '../../agent/src/config/agent-config.js';
import type { MqttClient } from 'mqtt';
import { CentralApp } from '../../central/src/app.js';
import { parseCentralConfig, type CentralConfig } from '../../central/src/config.js';
import { JournalReader } from '../../agent/src/journal/journal-reader.js';
import { openReadonlyDatabase } from '../../agent/src/journal/journal-database.js';
import { Logger } from '../../lib/src/log.js';
import { AgentStateSchema, type AgentState } from '../../protocol/src/agent-state.js';
import { AgentEventSchema, type AgentEvent } from '../../protocol/src/events.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import { cmdTopic, evtTopic, stateTopic } from '../../protocol/src/topics.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { BROKER, makePki, tempDir, type TestPki } from '../certs/helpers.js';
import { BORNY, makeAdminKey, OPERATOR_CN, type AdminKey } from '../central/helpers.js';
import { KEYS, testPolicy } from '../agent/pipeline-fixtures.js';
import { X509Certificate } from 'node:crypto';
import { Relay } from '../../csu/src/relay/relay.js';
import { RelayPolicy } from '../../csu/src/relay/ticket-checks.js';

export { BORNY, KEYS };

export interface World {
  dir: string;
  pki: TestPki;
  /** The receiving centre's relay for csu-metz, in this process; the policy points every recipient at it. */
  relay: Relay;
  admin: AdminKey;
  policy: Policy;
  bundleFile: string;
  adminKeyFile: string;
  brokerDir: string;
  boxDir: string;
  operatorDir: string;
  agentConfigFile(port: number, dataDir?: string, extra?: Record<string, unknown>): Promise<string>;
  opConfigFile(port: number): Promise<string>;
}

export const ALWAYS = [
  {
    days: [
      'mon',
      'tue',
      'wed',
      'thu',
      'fri',
      'sat',
      'sun',
    ] as Policy['timeWindows'][number]['days'],
    from: '00:00',
    to: '24:00',
  },
];

export async function makeWorld(
  t: Test,
  version = 12,
  mutate: (p: Policy) => void = () => undefined,
): Promise<World> {
  const dir = await tempDir(t, 'vigie-e2e-');
  const pki = await makePki(t);
  const admin = makeAdminKey();
  const relayDir = await pki.issue({
    kind: 'service',
    name: 'relay-csu-metz',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const relay = new Relay({
    recipientId: 'csu-metz',
    tls: await pki.material(relayDir),
    boxesCa: [new X509Certificate(await fs.readFile(pki.paths.caCert('boxes')))],
    listen: { host: '127.0.0.1', port: 0 },
    limits: {
      gopMaxBytes: 4 * 1024 * 1024,
      subscriberMaxBytes: 1024 * 1024,
      redialGraceMs: 5_000,
      maxSessions: 16,
      closedIdsKept: 1000,
    },
    clocks: { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() },
  });
  t.teardown(() => relay.stop());
  const relayPort = await relay.start();
  const rootPem = await fs.readFile(pki.paths.caCert('root'), 'utf8');
  const policy = testPolicy((p) => {
    p.version = version;
    p.timeWindows = ALWAYS;
    for (const r of p.recipients) {
      r.relay = `127.0.0.1:${relayPort}`;
      r.caPem = rootPem;
      r.serverName = 'localhost';
    }
    mutate(p);
  });
  relay.setPolicy(new RelayPolicy(policy));
  const bundleFile = path.join(dir, 'policy.bundle.json');
  await fs.writeFile(bundleFile, admin.sign(policy));
  const adminKeyFile = path.join(dir, 'admin.pub');
  await fs.writeFile(adminKeyFile, admin.publicKeyPem);
  const brokerDir = await pki.issue(BROKER);
  const boxDir = await pki.issue({ kind: 'box', ...BORNY });
  const operatorDir = await pki.issue({
    kind: 'person',
    displayName: OPERATOR_CN,
    role: 'operator',
  });
  const opKeyFile = path.join(dir, 'op-dupont.key');
  await fs.writeFile(
    opKeyFile,
    KEYS.dupont.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    { mode: 0o600 },
  );
  const tls = (leaf: string) => ({
    caFile: pki.paths.caBundle,
    certFile: path.join(leaf, 'chain.pem'),
    keyFile: path.join(leaf, 'key.pem'),
    crlFile: pki.paths.crlBundle,
  });
  const broker = (port: number) => ({ url: `mqtts://127.0.0.1:${port}`, servername: '127.0.0.1' });
  return {
    dir,
    pki,
    relay,
    admin,
    policy,
    bundleFile,
    adminKeyFile,
    brokerDir,
    boxDir,
    operatorDir,
    async agentConfigFile(port, dataDir = path.join(dir, 'agent-data'), extra = {}) {
      const file = path.join(dir, `agent-${port}.yaml`);
      const config = {
        siteId: BORNY.siteId,
        boxId: BORNY.boxId,
        dataDir,
        broker: { ...broker(port), reconnectMinMs: 100, reconnectMaxMs: 1000 },
        tls: tls(boxDir),
        admin: { kid: admin.kid, publicKeyFile: adminKeyFile },
        clockSync: 'assume',
        log: { level: 'warn' },
        ...extra,
      };
      await fs.writeFile(file, toYaml(config));
      return file;
    },
    async opConfigFile(port) {
      const file = path.join(dir, `op-${port}.yaml`);
      const config = {
        operator: { kid: KEYS.dupont.kid, keyFile: opKeyFile },
        broker: broker(port),
        tls: tls(operatorDir),
        replyTimeoutSec: 10,
      };
      await fs.writeFile(file, toYaml(config));
      return file;
    },
  };
}

/** Starts the agent in this process, with its log kept for assertions. */
export async function startAgent(
  t: Test,
  configFile: string,
): Promise<{ app: AgentApp; log: string[] }> {
  const config = await loadAgentConfig(configFile);
  const log: string[] = [];
  const app = new AgentApp({
    config,
    log: new Logger('agent', { level: 'info', sink: { write: (l) => log.push(l) } }),
    version: '0.1.0-test',
  });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return { app, log };
}

/** Resolves with the first state of the box on `topic` that satisfies `check` (bounded). */
export async function stateWhere(
  client: MqttClient,
  check: (state: AgentState) => boolean,
  timeoutMs = 10_000,
): Promise<AgentState> {
  const topic = stateTopic(BORNY.siteId);
  return new Promise<AgentState>((resolve, reject) => {
    const onMessage = (got: string, payload: Buffer): void => {
      if (got !== topic) return;
      const parsed = AgentStateSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (!parsed.success || !check(parsed.data)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(parsed.data);
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no matching state on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('message', onMessage);
    client.subscribe(topic, { qos: 1 });
  });
}

export type OnlineState = Extract<AgentState, { status: 'online' }>;

/** Like stateWhere, for an `online` state only (typed: bootId, health, sessions). */
export async function onlineStateWhere(
  client: MqttClient,
  check: (state: OnlineState) => boolean,
  timeoutMs = 10_000,
): Promise<OnlineState> {
  const state = await stateWhere(client, (s) => s.status === 'online' && check(s), timeoutMs);
  if (state.status !== 'online') throw new Error('unreachable: the check only takes online states');
  return state;
}

/** The central configuration of a world, as `vigie central --config` would read it. */
export function centralConfigFor(world: World): CentralConfig {
  return parseCentralConfig(
    {
      listen: { host: '127.0.0.1' },
      tls: {
        caFile: world.pki.paths.caBundle,
        certFile: path.join(world.brokerDir, 'chain.pem'),
        keyFile: path.join(world.brokerDir, 'key.pem'),
        crlFile: world.pki.paths.crlBundle,
      },
      policy: {
        bundleFile: world.bundleFile,
        adminPublicKeyFile: world.adminKeyFile,
        adminKid: world.admin.kid,
      },
      dataDir: path.join(world.dir, 'central-data'),
    },
    path.join(world.dir, 'central.yaml'),
  );
}

/** The embedded broker (aedes) in this process, on a free loopback port; returns the port. */
export async function startEmbeddedCentral(t: Test, world: World): Promise<number> {
  const config = centralConfigFor(world);
  const log = new Logger('central', { level: 'error', sink: { write: () => undefined } });
  const app = new CentralApp({ config, log, port: 0 });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return app.broker.address.port;
}

/**
 * Resolves with the first event of the box on its `evt` topic that satisfies
 * `check` (bounded). The client must already be subscribed to that topic.
 */
export async function eventWhere(
  client: MqttClient,
  check: (event: AgentEvent, retained: boolean) => boolean,
  timeoutMs = 10_000,
): Promise<AgentEvent> {
  const topic = evtTopic(BORNY.siteId);
  return new Promise<AgentEvent>((resolve, reject) => {
    const onMessage = (got: string, payload: Buffer, packet: { retain: boolean }): void => {
      if (got !== topic || payload.length === 0) return;
      let parsed;
      try {
        parsed = AgentEventSchema.safeParse(JSON.parse(payload.toString('utf8')));
      } catch {
        return; // not JSON: not an event of the box
      }
      if (!parsed.success || !check(parsed.data, packet.retain)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(parsed.data);
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no matching event on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('message', onMessage);
  });
}

/** The box's acknowledgement or refusal of the command `commandId` (bounded). */
export function answerTo(
  client: MqttClient,
  commandId: string,
  timeoutMs = 10_000,
): Promise<AgentEvent> {
  return eventWhere(
    client,
    (e) => (e.type === 'command.ack' || e.type === 'command.reject') && e.commandId === commandId,
    timeoutMs,
  );
}

/**
 * Publishes signed bytes on the box's `cmd` topic and returns its answer. The
 * client must already be subscribed to the site's `evt` topic.
 */
export async function ask(
  client: MqttClient,
  bytes: Buffer,
  commandId: string,
): Promise<AgentEvent> {
  const answer = answerTo(client, commandId);
  await client.publishAsync(cmdTopic(BORNY.siteId), bytes, { qos: 1 });
  return answer;
}

/** Every entry of a journal file, read without writing to it (the agent must be stopped or idle). */
export function readJournal(file: string): JournalEntry[] {
  const db = openReadonlyDatabase(file);
  try {
    return [...new JournalReader(db).entries()];
  } finally {
    db.close();
  }
}
