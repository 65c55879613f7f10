/**
 * A register on loopback for the ingest and outbox tests: a throwaway PKI (the
 * register's service certificate, boxes' and a relay's), a register key, a
 * RegisterServer on a free port with its SQLite store in a temp dir, and box
 * journals written with each box certificate's own key, as a box writes them.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { stringify as toYaml } from 'yaml';
import { SqliteJournal, SqliteKeyValues } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { openIngest, type IngestConnection } from '../../agent/src/register/register-client.js';
import type { TlsMaterial } from '../../certs/src/tls-profile.js';
import { Logger } from '../../lib/src/log.js';
import { loadRegisterConfig } from '../../central/src/register/register-config.js';
import { RegisterServer } from '../../central/src/register/register-server.js';
import type { RegisterAlarm } from '../../central/src/register/register-alarms.js';
import { makePki, tempDir, type TestPki } from '../certs/helpers.js';

export const REGISTER_KID = 'register-test';
export const TEST_BOOT_ID = '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10';

export interface RegisterWorld {
  dir: string;
  pki: TestPki;
  registerDir: string;
  registerKeyFile: string;
  registerPubFile: string;
  registerKey: KeyObject;
  /** Writes register.yaml (database file under `dataDir`) and returns its path. */
  configFile(dataDir?: string, extra?: Record<string, unknown>): Promise<string>;
  /** A box certificate and data directory for site/box. */
  box(siteId: string, boxId: string): Promise<BoxFixture>;
}

export interface BoxFixture {
  boxId: string;
  leafDir: string;
  material: TlsMaterial;
  key: KeyObject;
  dataDir: string;
  /** The box's journal (in dataDir), opened at first use; closed in teardown. */
  journal(): SqliteJournal;
  kv(): SqliteKeyValues;
}

/** A register's files; `pki` given: the register joins that PKI (e.g. the e2e harness's). */
export async function makeRegisterWorld(t: Test, existing?: TestPki): Promise<RegisterWorld> {
  const dir = await tempDir(t, 'vigie-register-');
  const pki = existing ?? (await makePki(t));
  const registerDir = await pki.issue({
    kind: 'service',
    name: 'register',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const registerKeyFile = path.join(dir, `${REGISTER_KID}.key`);
  const registerPubFile = path.join(dir, `${REGISTER_KID}.pub`);
  await fs.writeFile(registerKeyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
    mode: 0o600,
  });
  await fs.writeFile(registerPubFile, publicKey.export({ format: 'pem', type: 'spki' }));
  let boxes = 0;
  return {
    dir,
    pki,
    registerDir,
    registerKeyFile,
    registerPubFile,
    registerKey: privateKey,
    async configFile(dataDir = path.join(dir, 'register-data'), extra = {}) {
      const file = path.join(dir, `register-${path.basename(dataDir)}.yaml`);
      const config = {
        listen: { host: '127.0.0.1', port: 0 },
        tls: {
          caFile: pki.paths.caBundle,
          certFile: path.join(registerDir, 'chain.pem'),
          keyFile: path.join(registerDir, 'key.pem'),
          crlFile: pki.paths.crlBundle,
        },
        signing: { keyFile: registerKeyFile, kid: REGISTER_KID },
        checkpointEveryMs: 10,
        dataDir,
        logLevel: 'warn',
        ...extra,
      };
      await fs.writeFile(file, toYaml(config));
      return file;
    },
    async box(siteId, boxId) {
      const leafDir = await pki.issue({ kind: 'box', siteId, boxId });
      const material = await pki.material(leafDir);
      const dataDir = path.join(dir, `box-${++boxes}-${boxId}`);
      await fs.mkdir(dataDir, { recursive: true });
      let journal: SqliteJournal | null = null;
      let kv: SqliteKeyValues | null = null;
      const key = createPrivateKey(material.key);
      t.teardown(() => {
        journal?.close();
        kv?.close();
      });
      return {
        boxId,
        leafDir,
        material,
        key,
        dataDir,
        journal() {
          if (!journal) {
            journal = new SqliteJournal({
              file: journalFileIn(dataDir),
              source: boxId,
              bootId: TEST_BOOT_ID,
              signingKey: key,
              clocks: { wallNowMs: () => Date.now() },
            });
            journal.open();
          }
          return journal;
        },
        kv() {
          if (!kv) {
            kv = new SqliteKeyValues({ file: journalFileIn(dataDir) });
            kv.open();
          }
          return kv;
        },
      };
    },
  };
}

export interface RunningRegister {
  server: RegisterServer;
  port: number;
  alarms: RegisterAlarm[];
  logLines: string[];
}

/** Starts a register in this process from its register.yaml; stopped in teardown. */
export async function startRegister(
  t: Test,
  configFile: string,
  port?: number,
): Promise<RunningRegister> {
  const config = await loadRegisterConfig(configFile);
  const logLines: string[] = [];
  const log = new Logger('register', { level: 'warn', sink: { write: (l) => logLines.push(l) } });
  const alarms: RegisterAlarm[] = [];
  const server = new RegisterServer({
    config,
    log,
    ...(port === undefined ? {} : { port }),
    alarmPublisher: {
      publish: (_topic, payload) => {
        alarms.push(JSON.parse(payload.toString('utf8')) as RegisterAlarm);
        return Promise.resolve();
      },
    },
  });
  t.teardown(() => server.stop('test-teardown'));
  const bound = await server.start();
  return { server, port: bound, alarms, logLines };
}

/** A raw ingest stream as `material`'s owner; closed in teardown. */
export function rawIngest(t: Test, material: TlsMaterial, port: number): IngestConnection {
  const conn = openIngest({ address: `127.0.0.1:${port}`, serverName: '127.0.0.1', tls: material });
  t.teardown(() => conn.close());
  return conn;
}
