/**
 * Fixtures for the central tests: a throwaway PKI (test/certs/helpers.ts), the
 * broker's certificate, boxes of the two example sites, an operator and a
 * viewer, an administrator key and the example policy signed with it, and
 * mqtt.js clients with the shared TLS profile. No sleeps: every wait ends on
 * an event or a bounded timeout.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Test } from 'tap';
import { clientTlsOptions, type TlsMaterial } from '../../certs/src/tls-profile.js';
import { Logger } from '../../lib/src/log.js';
import { signPolicy } from '../../protocol/src/policy.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { loadPolicySource } from '../../protocol/src/policy-source.js';
import { CentralApp } from '../../central/src/app.js';
import { parseCentralConfig, type CentralConfig } from '../../central/src/config.js';
import { BROKER, makePki, nextEvent, tempDir, type TestPki } from '../certs/helpers.js';

export { freePort, nextEvent, tempDir } from '../certs/helpers.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../protocol/examples/policy.example.yaml');
/** The example policy's own signing date: its recipient CA certificates are valid then. */
export const POLICY_NOW = new Date('2025-03-01T09:00:00Z');

export const BORNY = { siteId: 'borny-hauts', boxId: 'box-borny-01' } as const;
export const PATROTTE = { siteId: 'patrotte-barres', boxId: 'box-patrotte-01' } as const;

export interface AdminKey {
  readonly kid: string;
  readonly sign: (policy: Policy) => Buffer;
  readonly publicKeyPem: string;
}

export function makeAdminKey(kid = 'admin-emh'): AdminKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return { kid, publicKeyPem, sign: (policy) => signPolicy(policy, { kid, privateKey }) };
}

export async function examplePolicy(version = 12): Promise<Policy> {
  const policy = await loadPolicySource(EXAMPLE, POLICY_NOW);
  return { ...policy, version };
}

export interface CentralFixture {
  readonly pki: TestPki;
  readonly dir: string;
  readonly admin: AdminKey;
  readonly policy: Policy;
  readonly bundleFile: string;
  readonly config: CentralConfig;
  readonly brokerDir: string;
  readonly borny: TlsMaterial;
  readonly patrotte: TlsMaterial;
  readonly operator: TlsMaterial;
  readonly viewer: TlsMaterial;
}

export const OPERATOR_ID = 'person:operator:paul-martin';
export const OPERATOR_CN = 'Paul Martin';

export async function makeFixture(t: Test): Promise<CentralFixture> {
  const pki = await makePki(t);
  const dir = await tempDir(t, 'vigie-central-');
  const admin = makeAdminKey();
  const policy = await examplePolicy();
  const bundleFile = path.join(dir, 'policy.bundle.json');
  await fs.writeFile(bundleFile, admin.sign(policy));
  const adminKeyFile = path.join(dir, 'admin.pub');
  await fs.writeFile(adminKeyFile, admin.publicKeyPem);
  const brokerDir = await pki.issue(BROKER);
  const config = parseCentralConfig(
    {
      listen: { host: '127.0.0.1' },
      tls: {
        caFile: pki.paths.caBundle,
        certFile: path.join(brokerDir, 'chain.pem'),
        keyFile: path.join(brokerDir, 'key.pem'),
        crlFile: pki.paths.crlBundle,
      },
      policy: { bundleFile, adminPublicKeyFile: adminKeyFile, adminKid: admin.kid },
      dataDir: path.join(dir, 'data'),
    },
    path.join(dir, 'central.yaml'),
  );
  const issue = async (request: Parameters<TestPki['issue']>[0]) =>
    pki.material(await pki.issue(request));
  return {
    pki,
    dir,
    admin,
    policy,
    bundleFile,
    config,
    brokerDir,
    borny: await issue({ kind: 'box', ...BORNY }),
    patrotte: await issue({ kind: 'box', ...PATROTTE }),
    operator: await issue({ kind: 'person', displayName: OPERATOR_CN, role: 'operator' }),
    viewer: await issue({ kind: 'person', displayName: 'Jeanne Dupont', role: 'viewer' }),
  };
}

export interface LogCapture {
  readonly lines: string[];
  readonly logger: Logger;
}

export function captureLog(): LogCapture {
  const lines: string[] = [];
  return { lines, logger: new Logger('central', { sink: { write: (l) => lines.push(l) } }) };
}

export async function startCentral(
  t: Test,
  fixture: CentralFixture,
  config: CentralConfig = fixture.config,
): Promise<{ app: CentralApp; port: number; log: LogCapture }> {
  const log = captureLog();
  const app = new CentralApp({ config, log: log.logger, port: 0 });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return { app, port: app.broker.address.port, log };
}

/** mqtt.js clients are Node EventEmitters; its typings just do not say so. */
export function events(client: MqttClient): EventEmitter {
  return client as unknown as EventEmitter;
}

export const boxClientId = (box: { siteId: string; boxId: string }): string =>
  `box:${box.siteId}:${box.boxId}`;

/** An mqtt.js client with the TLS profile; never reconnects, so refusals surface. */
export function connect(
  t: Test,
  port: number,
  material: TlsMaterial,
  clientId: string,
  extra: IClientOptions = {},
): MqttClient {
  const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
    ...clientTlsOptions(material, { servername: '127.0.0.1', expect: { serviceName: 'broker' } }),
    protocolVersion: 4, // aedes 1.2 speaks MQTT 3.1.1 only
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
  t.teardown(() => client.endAsync(true));
  return client;
}

/** Resolves once connected; rejects with the client's error (e.g. a CONNACK refusal). */
export async function connected(client: MqttClient, timeoutMs = 5000): Promise<void> {
  const failed = nextEvent(events(client), 'error', timeoutMs).then(([err]) => {
    throw err as Error;
  });
  try {
    await Promise.race([nextEvent(events(client), 'connect', timeoutMs), failed]);
  } finally {
    failed.catch(() => undefined);
  }
}

/** The error that ends a refused connection (no connect first), within timeoutMs. */
export async function refusal(client: MqttClient, timeoutMs = 5000): Promise<Error> {
  const [err] = await nextEvent(events(client), 'error', timeoutMs);
  return err as Error;
}

export interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
}

/** Records every message a client receives, in order. */
export function inbox(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    received.push({ topic, payload, retain: packet.retain }),
  );
  return received;
}

/** Resolves with the next message on `topic`. */
export async function nextMessage(
  client: MqttClient,
  topic: string,
  timeoutMs = 5000,
): Promise<Received> {
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise<Received>((resolve, reject) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain: boolean }): void => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve({ topic: t, payload, retain: packet.retain });
    };
    client.on('message', onMessage);
    signal.addEventListener('abort', () => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    });
  });
}
