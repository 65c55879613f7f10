/**
 * The whole command flow through the embedded broker (aedes) over mTLS:
 * console -> broker -> agent -> journal, and back. Each assertion names the
 * rule it checks; every wait ends on an event or a bounded timeout.
 */
import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CentralApp } from '../../central/src/app.js';
import {
  closeAll,
  closeSession,
  extendSession,
  listSessions,
  openSession,
} from '../../central/src/console/op-actions.js';
import { verifyJournalFile } from '../../agent/src/journal/index.js';
import { AgentEventSchema, type AgentEvent } from '../../protocol/src/events.js';
import { cmdTopic, evtTopic } from '../../protocol/src/topics.js';
import { captureLog, connect, connected } from '../central/helpers.js';
import {
  closeAllCommand,
  closeCommand,
  KEYS,
  openCommand,
  sign,
} from '../agent/pipeline-fixtures.js';
import {
  BORNY,
  makeWorld,
  startAgent,
  stateWhere,
  type World,
  centralConfigFor,
} from './harness.js';
import type { MqttClient } from 'mqtt';

async function startCentral(t: Test, world: World): Promise<number> {
  const config = centralConfigFor(world);
  const app = new CentralApp({ config, log: captureLog().logger, port: 0 });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return app.broker.address.port;
}

/** Publishes signed bytes as the operator and returns the box's answer to that command id. */
async function ask(client: MqttClient, bytes: Buffer, commandId: string): Promise<AgentEvent> {
  const answer = new Promise<AgentEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${commandId}`)), 10_000);
    const onMessage = (_topic: string, payload: Buffer): void => {
      const event = AgentEventSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (!event.success) return;
      const e = event.data;
      if (e.type !== 'command.ack' && e.type !== 'command.reject') return;
      if (e.commandId !== commandId) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(e);
    };
    client.on('message', onMessage);
  });
  await client.publishAsync(cmdTopic(BORNY.siteId), bytes, { qos: 1 });
  return answer;
}

t.test(
  'open, duplicate, wrong site, extend, close, a second close and close-all, end to end',
  async (t) => {
    const world = await makeWorld(t);
    const port = await startCentral(t, world);
    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:raw');
    await connected(op);
    await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const ready = stateWhere(op, (s) => s.status === 'online' && s.policyVersion === 12);
    const dataDir = path.join(world.dir, 'agent-data');
    const agent = await startAgent(t, await world.agentConfigFile(port, dataDir));
    await ready;
    const opFile = await world.opConfigFile(port);

    // The console: sign, publish, wait for the box's acknowledgement.
    const opened = await openSession(opFile, {
      siteId: BORNY.siteId,
      cameras: ['cam-01', 'cam-02'],
      recipient: 'csu-metz',
      purpose: 'occupation-parties-communes',
      trigger: { kind: 'occupation' },
      callRef: 'CSU-2026-0042',
      requestedTtlSec: 20 * 60,
    });
    const sessionId = /transmission ouverte : ([0-9a-f-]{36})/.exec(opened)?.[1] ?? '';
    t.match(opened, /durée accordée 20 min/, 'the effective TTL is printed');
    t.same(
      agent.app.sessions.map((s) => s.id),
      [sessionId],
      'the box tracks the session',
    );
    const listed = await listSessions(opFile, false);
    t.match(listed, sessionId, '`vigie op sessions` reads it from the retained state');

    // A QoS 1 redelivery or a replay of captured bytes is never acted on twice.
    const dup = openCommand(Date.now(), { cameras: ['cam-01'] });
    const bytes = sign(dup);
    t.match(await ask(op, bytes, dup.id), { type: 'command.ack' }, 'first delivery opens');
    t.match(await ask(op, bytes, dup.id), { type: 'command.reject', reason: 'replay' });
    t.equal(agent.app.sessions.length, 2, 'still two sessions, not three');

    // A command addressed to another site is refused by the box itself.
    const other = openCommand(Date.now(), { siteId: 'patrotte-barres' });
    t.match(await ask(op, sign(other), other.id), { type: 'command.reject', reason: 'site' });

    t.match(await extendSession(opFile, sessionId, 30 * 60, undefined), /durée totale 30 min/);

    t.match(await closeSession(opFile, sessionId, undefined, undefined), /transmission fermée/);
    t.same(
      agent.app.sessions.map((s) => s.id),
      [dup.sessionId],
      'closed',
    );
    // A second close is acknowledged and changes nothing.
    const again = closeCommand(Date.now(), sessionId);
    t.match(await ask(op, sign(again), again.id), { type: 'command.ack' });

    // close-all is the administrators' emergency stop: a watch-room operator is told so...
    await t.rejects(closeAll(opFile, BORNY.siteId, 'fin de test'), {
      code: 'command-refused',
      message: /ne permet pas la commande sessions\.close-all.*\(role\)/,
    });
    // ...and an administrator's close-all ends what is left (the duplicate's session).
    const all = closeAllCommand(Date.now());
    t.match(await ask(op, sign(all, KEYS.chef), all.id), { type: 'command.ack' });
    t.same(agent.app.sessions, [], 'close-all left nothing open');

    await agent.app.stop('shutdown');
    const boxKey = new X509Certificate(await fs.readFile(path.join(world.boxDir, 'cert.pem')))
      .publicKey;
    const report = verifyJournalFile(path.join(dataDir, 'journal.db'), boxKey);
    t.ok(report.ok, 'the journal chain and its signed heads verify');
    const journal = agent.log.join('\n');
    t.notMatch(journal, /PRIVATE KEY/, 'no key material in the log');
  },
);
