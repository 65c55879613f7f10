import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { stringify as toYaml } from 'yaml';
import { SqliteJournal, SqliteKeyValues } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { openIngest, type IngestConnection } from '../../agent/src/register/register-client.js';
import { Logger } from '../../lib/src/log.js';
import { loadRegisterConfig } from '../../central/src/register/register-config.js';
import { RegisterServer } from '../../central/src/register/register-server.js';
import { makePki, tempDir } from '../certs/helpers.js';

export const REGISTER_KID = 'register-test';

type Pki = Awaited<ReturnType<typeof makePki>>;
type Material = Awaited<ReturnType<Pki['material']>>;

export interface BoxFixture {
  readonly boxId: string;
  readonly leafDir: string;
  readonly material: Material;
  readonly key: KeyObject;
  readonly dataDir: string;
  journal(): SqliteJournal;
  kv(): SqliteKeyValues;
}

export async function makeRegisterWorld(t: Test) {
  const dir = await tempDir(t, 'vigie-register-');
  const pki = await makePki(t);
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
    async configFile(
      dataDir = path.join(dir, 'register-data'),
      extra: Record<string, unknown> = {},
    ): Promise<string> {
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
    async box(siteId: string, boxId: string): Promise<BoxFixture> {
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
              bootId: '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10',
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

export async function startRegister(t: Test, configFile: string) {
  const config = await loadRegisterConfig(configFile);
  const logLines: string[] = [];
  const log = new Logger('register', {
    level: 'warn',
    sink: { write: (l: string) => logLines.push(l) },
  });
  const alarms: unknown[] = [];
  const server = new RegisterServer({
    config,
    log,
    alarmPublisher: {
      publish: (_topic: string, payload: Buffer) => {
        alarms.push(JSON.parse(payload.toString('utf8')));
        return Promise.resolve();
      },
    },
  });
  t.teardown(() => server.stop('test-teardown'));
  const port = await server.start();
  return { server, port, alarms, logLines };
}

export function rawIngest(t: Test, material: Material, port: number): IngestConnection {
  const conn = openIngest({
    address: `127.0.0.1:${port}`,
    serverName: '127.0.0.1',
    tls: material,
  });
  t.teardown(() => conn.close());
  return conn;
}
