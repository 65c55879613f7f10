/**
 * The box's MQTT link (agent/src/link/broker-link.ts) on its own TLS socket.
 *
 * It builds its own TLS socket instead of mqtt.connect(),
 * which loads every transport mqtt.js has (WebSocket, SOCKS) on its first
 * connection: ~1.7 MB of the agent's 80 MB budget (docs/design-notes.md).
 * A child process imports the link, lets it try a connection (a closed port on
 * loopback: the stream builder runs, the connection is refused, the link goes
 * down) and lists the modules it loaded.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import nodeTls from 'node:tls';
import path from 'node:path';
import t, { type Test } from 'tap';
import { BrokerLink } from '../../agent/src/link/broker-link.js';
import type { TlsMaterial } from '../../certs/src/tls-profile.js';
import { Logger } from '../../lib/src/log.js';
import { BOX, BROKER, makePki } from '../certs/helpers.js';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

void t.test(
  'the broker link connects without loading the WebSocket or SOCKS transports',
  async (t) => {
    const root = path.resolve(import.meta.dirname, '../..');
    const pki = await makePki(t);
    const leaf = await pki.issue(BOX);
    const files = {
      caFile: pki.paths.caBundle,
      certFile: path.join(leaf, 'chain.pem'),
      keyFile: path.join(leaf, 'key.pem'),
      crlFile: pki.paths.crlBundle,
    };
    const script = `
    import { createRequire } from 'node:module';
    const { BrokerLink } = await import(${JSON.stringify(path.join(root, 'agent/src/link/broker-link.ts'))});
    const { loadTlsMaterial } = await import(${JSON.stringify(path.join(root, 'certs/src/tls-profile.ts'))});
    const { Logger } = await import(${JSON.stringify(path.join(root, 'lib/src/log.ts'))});
    const tls = await loadTlsMaterial(${JSON.stringify(files)});
    const down = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 10000);
      const link = new BrokerLink(
        {
          url: 'mqtts://127.0.0.1:${await closedPort()}',
          servername: 'localhost',
          tls,
          clientId: 'box',
          keepaliveSec: 30,
          reconnectMinMs: 60000,
          reconnectMaxMs: 60000,
          subscriptions: ['a/b'],
          stateTopic: 'a/state',
          offlineState: Buffer.from('{}'),
          logger: new Logger('test', { level: 'error', sink: { write: () => undefined } }),
        },
        {
          onMessage: () => undefined,
          onReady: () => undefined,
          onDown: (reason) => { clearTimeout(timer); void link.stop(); resolve(reason); },
        },
      );
      link.start();
    });
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      down,
      mqtt: loaded.some((f) => f.includes('/node_modules/mqtt/')),
      transports: loaded.filter((f) => /[/]node_modules[/](ws|socks|ip-address|smart-buffer)[/]/.test(f)),
    }));
    process.exit(0);
  `;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    t.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null') as {
      down: string;
      mqtt: boolean;
      transports: string[];
    };
    t.equal(result.down, 'connection closed', 'the link tried and went down');
    t.ok(result.mqtt, 'mqtt.js was loaded');
    t.same(result.transports, [], 'no WebSocket or SOCKS module');
  },
);

/**
 * A TLS server with `served`'s certificate where the broker should be: the link
 * must go down without ever being ready, log why, and send it no byte (an MQTT
 * CONNECT carries the box's client id and its last will).
 */
async function refusedBroker(
  t: Test,
  box: TlsMaterial,
  served: TlsMaterial,
  why: RegExp,
): Promise<void> {
  let received = 0;
  const server = nodeTls.createServer({ cert: served.cert, key: served.key }, (socket) => {
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const lines: string[] = [];
  let ready = false;
  let wentDown: (reason: string) => void = () => undefined;
  const timer = setTimeout(() => wentDown('timeout: the link never went down'), 10_000);
  const down = new Promise<string>((resolve) => (wentDown = resolve));
  const link = new BrokerLink(
    {
      url: `mqtts://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      servername: 'localhost',
      tls: box,
      clientId: 'box',
      keepaliveSec: 30,
      reconnectMinMs: 60_000,
      reconnectMaxMs: 60_000,
      subscriptions: ['a/b'],
      stateTopic: 'a/state',
      offlineState: Buffer.from('{}'),
      logger: new Logger('test', { level: 'warn', sink: { write: (l: string) => lines.push(l) } }),
    },
    {
      onMessage: () => undefined,
      onReady: () => (ready = true),
      onDown: (reason) => {
        clearTimeout(timer);
        wentDown(reason);
      },
    },
  );
  link.start();
  t.teardown(() => link.stop());
  t.equal(await down, 'connection closed');
  t.notOk(ready, 'never ready');
  t.notOk(link.connected);
  t.match(lines.join(''), why, 'the refusal is logged');
  t.equal(received, 0, 'not a byte sent to it');
}

void t.test('a broker whose certificate is not from the box CA is refused', async (t) => {
  const pki = await makePki(t);
  const impostorPki = await makePki(t);
  await refusedBroker(
    t,
    await pki.material(await pki.issue(BOX)),
    await impostorPki.material(await impostorPki.issue(BROKER)),
    /broker error.*(certificate|self.signed|issuer)/i,
  );
});

void t.test(
  'another service of the same CA with the broker host name (a relay) is refused as the broker',
  async (t) => {
    const pki = await makePki(t);
    const relay = await pki.issue({
      kind: 'service',
      name: 'relay-csu-metz',
      dns: ['localhost'],
      ips: ['127.0.0.1'],
    });
    await refusedBroker(
      t,
      await pki.material(await pki.issue(BOX)),
      await pki.material(relay),
      /broker error.*relay-csu-metz/i,
    );
  },
);
