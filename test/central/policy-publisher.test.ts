/**
 * The central service publishes only a policy bundle that verifies against
 * the configured administrator key, and on reload moves only to a strictly
 * newer one.
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { isVigieError } from '../../lib/src/errors.js';
import { CentralApp } from '../../central/src/app.js';
import { POLICY_TOPIC } from '../../protocol/src/topics.js';
import {
  BORNY,
  boxClientId,
  captureLog,
  connect,
  connected,
  examplePolicy,
  makeAdminKey,
  makeFixture,
  nextMessage,
  startCentral,
} from './helpers.js';

void t.test('an invalid policy bundle is refused at start with a clear error', async (t) => {
  const fx = await makeFixture(t);
  const cases: [string, Buffer][] = [
    ['signed by another key', makeAdminKey(fx.admin.kid).sign(fx.policy)],
    [
      'tampered',
      Buffer.from((await fs.readFile(fx.bundleFile, 'utf8')).replace(/"sig":"./, '"sig":"A')),
    ],
    ['not JSON', Buffer.from('not a bundle')],
  ];
  for (const [name, bytes] of cases) {
    const bundleFile = path.join(fx.dir, `bad-${name.replace(/ /g, '-')}.json`);
    await fs.writeFile(bundleFile, bytes);
    const config = { ...fx.config, policy: { ...fx.config.policy, bundleFile } };
    const app = new CentralApp({ config, log: captureLog().logger, port: 0 });
    t.teardown(() => app.stop('test-teardown'));
    const err = await app.start().then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(isVigieError(err, 'central-policy-refused'), `${name}: central-policy-refused`);
    t.match((err as Error).message, /policy bundle .*bad-.*refused, not published: .+\[/, name);
    t.throws(() => app.broker.address, `${name}: the broker never listened`);
  }
});

void t.test('reload publishes a newer bundle and keeps the one in force otherwise', async (t) => {
  const fx = await makeFixture(t);
  const { app, port } = await startCentral(t, fx);
  const box = connect(t, port, fx.borny, boxClientId(BORNY));
  await connected(box);
  const first = nextMessage(box, POLICY_TOPIC);
  await box.subscribeAsync(POLICY_TOPIC, { qos: 1 });
  await first;

  t.same(await app.reload(), { status: 'unchanged', version: 12 }, 'same bytes: nothing to do');

  await fs.writeFile(fx.bundleFile, fx.admin.sign(await examplePolicy(11)));
  const older = await app.reload();
  t.equal(older.status, 'refused', 'an older version is refused');
  t.match(older.status === 'refused' ? older.reason : '', /not newer than version 12/);

  await fs.writeFile(fx.bundleFile, makeAdminKey(fx.admin.kid).sign(await examplePolicy(13)));
  t.equal((await app.reload()).status, 'refused', 'a bundle signed by another key is refused');
  t.equal(app.policyVersion, 12, 'version 12 stays in force');

  const v13 = fx.admin.sign(await examplePolicy(13));
  await fs.writeFile(fx.bundleFile, v13);
  const next = nextMessage(box, POLICY_TOPIC);
  t.same(await app.reload(), { status: 'published', version: 13, previous: 12 });
  t.ok((await next).payload.equals(v13), 'subscribers receive the new bundle');
});

void t.test('stop is idempotent and safe before start', async (t) => {
  const fx = await makeFixture(t);
  const never = new CentralApp({ config: fx.config, log: captureLog().logger, port: 0 });
  await never.stop('test');
  await never.stop('test');
  t.pass('stop before start');
  const { app, port } = await startCentral(t, fx);
  await Promise.all([app.stop('a'), app.stop('b')]);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  t.ok(refused, 'the port is closed after stop');
});
