/**
 * The broker goes away and comes back on the same port: the agent reconnects
 * by itself with its jittered backoff, says `online` again on the new broker
 * (which starts with no retained state, so whatever `online` state it holds
 * was published after the reconnection), and commands flow again. A session
 * does not depend on the broker link: one opened before the outage is still
 * live after it and closes normally.
 *
 * Not asserted: the `offline` last will during the outage. aedes publishes no
 * will when the broker itself is stopped, and nobody would be there to read it.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import { CentralApp } from '../../central/src/app.js';
import { closeSession, openSession } from '../../central/src/console/op-actions.js';
import { Logger } from '../../lib/src/log.js';
import { evtTopic } from '../../protocol/src/topics.js';
import { connect, connected, freePort } from '../central/helpers.js';
import {
  BORNY,
  eventWhere,
  makeWorld,
  onlineStateWhere,
  readJournal,
  startAgent,
  type World,
  centralConfigFor,
} from './harness.js';

/** The central service on a fixed port, so that a second one can take the first one's place. */
async function startCentralOn(t: Test, world: World, port: number): Promise<CentralApp> {
  const config = { ...centralConfigFor(world), listen: { host: '127.0.0.1', port } };
  const log = new Logger('central', { level: 'error', sink: { write: () => undefined } });
  const app = new CentralApp({ config, log });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return app;
}

/** Resolves once `check()` holds; checks every 20 ms and gives up after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // poll interval, not a wait for an outcome
  }
}

/** An operator's raw MQTT client on the broker at `port`, watching the site's events. */
async function watcher(t: Test, world: World, port: number, clientId: string) {
  const op = connect(t, port, await world.pki.material(world.operatorDir), clientId);
  await connected(op);
  await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
  return op;
}

const OPEN = {
  siteId: BORNY.siteId,
  recipient: 'csu-metz',
  purpose: 'occupation-parties-communes',
  trigger: { kind: 'occupation' },
  requestedTtlSec: 20 * 60,
} as const;

const sessionIdIn = (printed: string): string =>
  /transmission ouverte : ([0-9a-f-]{36})/.exec(printed)?.[1] ?? '';

void t.test(
  'after a broker outage the agent reconnects by itself, says online again, and its session lives on',
  async (t) => {
    const world = await makeWorld(t);
    const port = await freePort();
    const first = await startCentralOn(t, world, port);
    t.equal(first.broker.address.port, port, 'the first central listens on the chosen port');
    const before = await watcher(t, world, port, 'op:e2e:before');
    const ready = onlineStateWhere(before, (s) => s.policyVersion === 12);
    const agent = await startAgent(t, await world.agentConfigFile(port));
    const { bootId } = await ready;
    const opFile = await world.opConfigFile(port);

    const earlyId = sessionIdIn(
      await openSession(opFile, { ...OPEN, cameras: ['cam-01'], callRef: 'CSU-2026-0101' }),
    );
    t.ok(earlyId, 'a session is opened before the outage');
    await onlineStateWhere(before, (s) => s.sessions.some((x) => x.sessionId === earlyId));

    // The outage: the broker stops and every connection with it.
    await first.stop('outage');
    await until(() => !agent.app.connected, 'the agent sees the link down');
    t.match(agent.log.join('\n'), /broker link down/, 'the agent noticed the outage');
    t.same(
      agent.app.sessions.map((s) => s.id),
      [earlyId],
      'the session stays live while the broker is away',
    );
    // Let at least one reconnection attempt fail against the closed port.
    await until(
      () => agent.log.filter((l) => l.includes('reconnecting to the broker')).length >= 2,
      'the agent retries while the broker is away',
    );
    t.notOk(agent.app.connected, 'and stays disconnected while nothing listens');

    // A new central on the same port: a fresh broker, no retained state at all.
    const outageEndedMs = Date.now();
    const second = await startCentralOn(t, world, port);
    t.equal(second.broker.address.port, port, 'the new central listens on the same port');
    const after = await watcher(t, world, port, 'op:e2e:after');
    const back = await onlineStateWhere(after, (s) => s.bootId === bootId, 10_000);
    t.ok(Date.now() - outageEndedMs < 10_000, 'reconnected within the bounded time');
    t.ok(agent.app.connected, 'the agent is connected again');
    t.equal(back.bootId, bootId, 'the same boot: a reconnection, not a restart');
    t.equal(back.policyVersion, 12, 'with its policy');
    t.same(
      back.sessions.map((s) => s.sessionId),
      [earlyId],
      'its republished state lists the session opened before the outage',
    );

    // Commands flow again through the new broker.
    const laterId = sessionIdIn(
      await openSession(opFile, { ...OPEN, cameras: ['cam-02'], callRef: 'CSU-2026-0102' }),
    );
    t.ok(laterId, 'an open from the console is acknowledged after the reconnection');
    t.same(
      agent.app.sessions.map((s) => s.id).sort(),
      [earlyId, laterId].sort(),
      'both sessions are live',
    );

    // The session opened before the outage closes normally.
    const closedEvent = eventWhere(
      after,
      (e) => e.type === 'session.closed' && e.sessionId === earlyId,
    );
    t.match(await closeSession(opFile, earlyId, undefined, undefined), /transmission fermée/);
    t.match(await closedEvent, { type: 'session.closed', reason: 'intervention-ended' });
    t.same(
      agent.app.sessions.map((s) => s.id),
      [laterId],
      'only the session opened after the outage remains',
    );
    const final = await onlineStateWhere(
      after,
      (s) => s.bootId === bootId && !s.sessions.some((x) => x.sessionId === earlyId),
    );
    t.same(
      final.sessions.map((s) => s.sessionId),
      [laterId],
      'the retained state says so too',
    );
  },
);

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed. */
async function within<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

void t.test('the agent stops promptly when the broker goes away just as it stops', async (t) => {
  // Regression: the offline state was published with QoS 1 and awaited without
  // bound; mqtt.js never settles such a publish once its connection closes, so
  // stop() hung forever and the journal never got `agent.stopped`.
  const world = await makeWorld(t);
  const port = await freePort();
  const central = await startCentralOn(t, world, port);
  const op = await watcher(t, world, port, 'op:e2e:stop');
  const ready = onlineStateWhere(op, (s) => s.policyVersion === 12);
  const dataDir = path.join(world.dir, 'agent-data');
  const agent = await startAgent(t, await world.agentConfigFile(port, dataDir));
  await ready;
  await op.endAsync();

  await central.stop('outage');
  await within(agent.app.stop('shutdown'), 'the agent’s stop', 5_000);
  t.notOk(agent.app.connected, 'disconnected');
  const last = readJournal(path.join(dataDir, 'journal.db')).at(-1);
  t.match(last, { type: 'agent.stopped', data: { reason: 'shutdown' } }, 'the stop is journaled');
});
