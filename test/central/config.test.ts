/**
 * `vigie central --config`: every error as `path: message`, defaults from the
 * schema, paths relative to the file, docs generated from the schema, and
 * runCentral's signals (SIGHUP reloads, SIGTERM stops).
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { isVigieError } from '../../lib/src/errors.js';
import {
  CentralConfigSchema,
  loadCentralConfig,
  parseCentralConfig,
} from '../../central/src/config.js';
import { configReference } from '../../lib/src/config-reference.js';
import { runCentral } from '../../central/src/main-central.js';
import type { CentralApp } from '../../central/src/app.js';
import type { ReloadResult } from '../../central/src/policy/policy-publisher.js';
import { examplePolicy, freePort, makeFixture, nextEvent, tempDir } from './helpers.js';

const minimal = {
  tls: { caFile: 'ca.pem', certFile: 'chain.pem', keyFile: 'key.pem', crlFile: 'crl.pem' },
  policy: { bundleFile: 'policy.json', adminPublicKeyFile: 'admin.pub', adminKid: 'admin-emh' },
};

void t.test('defaults come from the schema; paths are relative to the file', (t) => {
  const config = parseCentralConfig(minimal, '/etc/vigie/central.yaml');
  t.same(config.listen, { host: '127.0.0.1', port: 8883 });
  t.equal(config.logLevel, 'info');
  t.equal(config.tls.caFile, '/etc/vigie/ca.pem');
  t.equal(config.policy.bundleFile, '/etc/vigie/policy.json');
  t.equal(config.policy.adminKid, 'admin-emh');
  t.end();
});

void t.test('every error is printed as path: message', async (t) => {
  const dir = await tempDir(t, 'vigie-central-config-');
  const file = path.join(dir, 'central.yaml');
  await fs.writeFile(
    file,
    stringify({
      listen: { port: 70000 },
      tls: { ...minimal.tls, keyFile: '' },
      policy: { bundleFile: 'p.json', adminPublicKeyFile: 'a.pub', adminKid: 'Admin Key' },
      logLevel: 'loud',
      extra: true,
    }),
  );
  const err = await loadCentralConfig(file).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isVigieError(err, 'config-invalid'));
  const message = (err as Error).message;
  for (const line of [
    'listen.port: ',
    'tls.keyFile: must be a file path',
    'policy.adminKid: must be a key id',
    'logLevel: ',
    '(root): Unrecognized key: "extra"',
  ]) {
    t.match(message, `\n  ${line}`, line);
  }
  await fs.writeFile(file, 'listen: [unclosed\n');
  const yamlErr = await loadCentralConfig(file).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isVigieError(yamlErr, 'config-invalid'), 'bad YAML is a config error too');
});

void t.test(
  'docs/central.md holds the configuration reference generated from the schema',
  async (t) => {
    const doc = await fs.readFile(
      path.resolve(import.meta.dirname, '../../docs/central.md'),
      'utf8',
    );
    t.ok(
      doc.includes(configReference(CentralConfigSchema)),
      'regenerate with configReference(CentralConfigSchema) if this fails',
    );
  },
);

void t.test(
  'runCentral prints the listening line, reloads on SIGHUP, stops on SIGTERM',
  async (t) => {
    const fx = await makeFixture(t);
    const file = path.join(fx.dir, 'central.yaml');
    const port = await freePort();
    await fs.writeFile(file, stringify({ ...fx.config, listen: { host: '127.0.0.1', port } }));
    const signals = new EventEmitter();
    let output = '';
    let ready: (app: CentralApp) => void = () => undefined;
    const started = new Promise<CentralApp>((resolve) => (ready = resolve));
    const reloads = new EventEmitter();
    const running = runCentral(file, {
      signals,
      onReload: (result) => reloads.emit('reload', result),
      out: { write: (text: string) => (output += text) },
      onReady: ready,
    });
    const app = await Promise.race([
      started,
      running.then(() => Promise.reject(new Error('stopped early'))),
    ]);
    t.match(output, /MQTT broker listening on mqtts:\/\/127\.0\.0\.1:(\d+) .*policy version 12/);
    t.match(output, `:${port} `);
    await fs.writeFile(fx.bundleFile, fx.admin.sign(await examplePolicy(13)));
    signals.emit('SIGHUP');
    const [result] = (await nextEvent(reloads, 'reload')) as [ReloadResult];
    t.same(result, { status: 'published', version: 13, previous: 12 });
    t.equal(app.policyVersion, 13, 'SIGHUP published the newer policy');
    signals.emit('SIGTERM');
    await running;
    t.equal(signals.listenerCount('SIGTERM'), 0, 'signal handlers removed after stop');
  },
);
