/**
 * The embedded broker end to end: aedes behind the mTLS listener, real
 * mqtt.js clients on 127.0.0.1 with certificates from a throwaway PKI.
 * "Does not reach" is proven with a sentinel: a later message on the same
 * path arrives, and nothing forbidden arrived before it.
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cmdTopic, evtTopic, POLICY_TOPIC, stateTopic } from '../../protocol/src/topics.js';
import {
  BORNY,
  PATROTTE,
  OPERATOR_ID,
  boxClientId,
  connect,
  connected,
  events,
  inbox,
  makeFixture,
  nextEvent,
  nextMessage,
  refusal,
  startCentral,
} from './helpers.js';

const BORNY_ID = boxClientId(BORNY);
const PATROTTE_ID = boxClientId(PATROTTE);

void t.test('the embedded broker', async (t) => {
  const fx = await makeFixture(t);
  const { app, port, log } = await startCentral(t, fx);

  await t.test('a box subscribes to its own commands, the broadcast and the policy', async (t) => {
    const box = connect(t, port, fx.borny, BORNY_ID);
    await connected(box);
    const grants = await box.subscribeAsync(
      [cmdTopic(BORNY.siteId), 'vigie/v1/all/cmd', POLICY_TOPIC],
      { qos: 1 },
    );
    t.same(
      grants.map((g) => g.qos),
      [1, 1, 1],
    );
  });

  await t.test('a box may not subscribe to another site’s commands', async (t) => {
    const before = app.broker.refusals.subscribe;
    const box = connect(t, port, fx.borny, BORNY_ID);
    await connected(box);
    for (const filter of [cmdTopic(PATROTTE.siteId), 'vigie/v1/sites/+/cmd', '#']) {
      // mqtt.js rejects a SUBACK failure with the packet attached.
      const err = (await box.subscribeAsync(filter, { qos: 1 }).then(
        () => null,
        (e: unknown) => e,
      )) as { packet?: { granted?: number[] } } | null;
      t.same(err?.packet?.granted, [128], `SUBACK 0x80 for ${filter}`);
    }
    t.ok(box.connected, 'a refused subscription does not cut the connection');
    t.equal(app.broker.refusals.subscribe, before + 3, 'each refusal is counted');
    t.ok(
      log.lines.some((l) => l.includes('refused subscribe') && l.includes(BORNY_ID)),
      'the refusal is logged with the identity',
    );
  });

  await t.test('an operator’s command reaches the box, not retained', async (t) => {
    const box = connect(t, port, fx.borny, BORNY_ID);
    await connected(box);
    await box.subscribeAsync(cmdTopic(BORNY.siteId), { qos: 1 });
    const op = connect(t, port, fx.operator, OPERATOR_ID);
    await connected(op);
    const arrival = nextMessage(box, cmdTopic(BORNY.siteId));
    await op.publishAsync(cmdTopic(BORNY.siteId), 'signed-envelope', { qos: 1 });
    const message = await arrival;
    t.equal(message.payload.toString(), 'signed-envelope');
    t.equal(message.retain, false);
  });

  await t.test('a box publishing on another site’s evt is cut off; nothing arrives', async (t) => {
    const op = connect(t, port, fx.operator, OPERATOR_ID);
    await connected(op);
    await op.subscribeAsync('vigie/v1/sites/+/evt', { qos: 1 });
    const seen = inbox(op);
    const before = app.broker.refusals.publish;
    const rogue = connect(t, port, fx.borny, BORNY_ID);
    await connected(rogue);
    const closed = nextEvent(events(rogue), 'close');
    rogue.publish(evtTopic(PATROTTE.siteId), 'forged', { qos: 1 });
    await closed;
    t.equal(app.broker.refusals.publish, before + 1, 'refusal counted');
    const honest = connect(t, port, fx.patrotte, PATROTTE_ID);
    await connected(honest);
    const sentinel = nextMessage(op, evtTopic(PATROTTE.siteId));
    await honest.publishAsync(evtTopic(PATROTTE.siteId), 'sentinel', { qos: 1 });
    await sentinel;
    t.same(
      seen.map((m) => m.payload.toString()),
      ['sentinel'],
      'the forged event never reached the subscriber',
    );
  });

  await t.test('a retained command is refused and never retained', async (t) => {
    const op = connect(t, port, fx.operator, OPERATOR_ID);
    await connected(op);
    const closed = nextEvent(events(op), 'close');
    op.publish(cmdTopic(BORNY.siteId), 'retained-envelope', { qos: 1, retain: true });
    await closed;
    t.ok(
      log.lines.some((l) => l.includes('may never be retained')),
      'logged with the reason',
    );
    // One SUBSCRIBE: aedes streams retained messages in filter order, so the
    // policy arriving first proves there was nothing retained on the cmd topic.
    const late = connect(t, port, fx.borny, BORNY_ID);
    await connected(late);
    const seen = inbox(late);
    const policy = nextMessage(late, POLICY_TOPIC);
    await late.subscribeAsync([cmdTopic(BORNY.siteId), POLICY_TOPIC], { qos: 1 });
    await policy;
    t.same(
      seen.map((m) => m.topic),
      [POLICY_TOPIC],
      'the late subscriber received no command',
    );
  });

  await t.test('the policy bundle is retained and a box receives it on subscribe', async (t) => {
    const box = connect(t, port, fx.patrotte, PATROTTE_ID);
    await connected(box);
    const arrival = nextMessage(box, POLICY_TOPIC);
    await box.subscribeAsync(POLICY_TOPIC, { qos: 1 });
    const message = await arrival;
    t.equal(message.retain, true);
    t.ok(message.payload.equals(await fs.readFile(fx.bundleFile)), 'the exact signed bytes');
    t.equal(app.policyVersion, 12);
  });

  await t.test('a box may publish its retained state and its events', async (t) => {
    const op = connect(t, port, fx.operator, OPERATOR_ID);
    await connected(op);
    await op.subscribeAsync([stateTopic(BORNY.siteId), evtTopic(BORNY.siteId)], { qos: 1 });
    const box = connect(t, port, fx.borny, BORNY_ID);
    await connected(box);
    const state = nextMessage(op, stateTopic(BORNY.siteId));
    await box.publishAsync(stateTopic(BORNY.siteId), '{"status":"online"}', {
      qos: 1,
      retain: true,
    });
    await state;
    const evt = nextMessage(op, evtTopic(BORNY.siteId));
    await box.publishAsync(evtTopic(BORNY.siteId), '{"type":"command.ack"}', { qos: 1 });
    t.equal((await evt).payload.toString(), '{"type":"command.ack"}');
  });

  await t.test('a second connection of the same box takes over the first', async (t) => {
    const first = connect(t, port, fx.borny, BORNY_ID);
    await connected(first);
    const firstClosed = nextEvent(events(first), 'close');
    const second = connect(t, port, fx.borny, BORNY_ID);
    await connected(second);
    await firstClosed;
    t.ok(second.connected, 'the newer connection stays');
  });

  await t.test('the client id must be the certificate identity', async (t) => {
    const box = connect(t, port, fx.borny, PATROTTE_ID);
    const err = await refusal(box);
    t.match(err.message, /Identifier rejected/i, 'CONNACK 2');
    const op = connect(t, port, fx.operator, `${OPERATOR_ID}:console-2`);
    await connected(op);
    t.ok(op.connected, 'an operator may add a suffix to run several consoles');
  });

  await t.test('a viewer may not use the broker', async (t) => {
    const viewer = connect(t, port, fx.viewer, 'person:viewer:jeanne-dupont');
    const err = await refusal(viewer);
    t.match(err.message, /Not authorized/i, 'CONNACK 5');
  });

  await t.test('a client without a certificate cannot connect', async (t) => {
    const anonymous = connect(t, port, fx.borny, BORNY_ID, { cert: undefined, key: undefined });
    const err = (await refusal(anonymous)) as NodeJS.ErrnoException;
    t.equal(err.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', err.message);
  });

  await t.test('a client with a certificate from another PKI cannot connect', async (t) => {
    const { makePki } = await import('../certs/helpers.js');
    const foreign = await makePki(t);
    const dir = await foreign.issue({ kind: 'box', ...BORNY });
    const client = connect(t, port, fx.borny, BORNY_ID, {
      cert: await fs.readFile(path.join(dir, 'chain.pem'), 'utf8'),
      key: await fs.readFile(path.join(dir, 'key.pem'), 'utf8'),
    });
    const closedOrError = await Promise.race([
      refusal(client).then((e) => e.message),
      nextEvent(events(client), 'close').then(() => 'closed'),
    ]);
    t.notOk(client.connected, `refused (${closedOrError})`);
    t.ok(app.broker.refusals.tls > 0, 'the TLS refusal is counted');
  });

  await t.test('aedes refuses MQTT 5 clients (CONNACK 1): clients use MQTT 3.1.1', async (t) => {
    const v5 = connect(t, port, fx.borny, BORNY_ID, { protocolVersion: 5 });
    const err = await refusal(v5);
    t.match(err.message, /protocol/i, err.message);
  });
});
