/**
 * A new policy reaches a running box through the central service, and the
 * box's memory of commands survives its restart:
 * - the administrator writes version 13 (an operator removed, a camera made
 *   non-transmissible) and the central reloads it; the box applies it, says so
 *   in its retained state and its journal, and at once closes the live sessions
 *   version 13 no longer allows, each with the reason that names the cause;
 * - a command the box acknowledged before a restart is refused as a replay
 *   after it, from the same data directory.
 * (An older bundle, validly signed, is refused by the policy keeper: only the
 * central service may publish the policy, so that case is in
 * test/agent/policy-keeper.test.ts.)
 */
import t, { type Test } from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CentralApp } from '../../central/src/app.js';
import { Logger } from '../../lib/src/log.js';
import type { AgentEvent } from '../../protocol/src/events.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { cmdTopic, evtTopic } from '../../protocol/src/topics.js';
import { connect, connected } from '../central/helpers.js';
import { openCommand, sign, type TestKey } from '../agent/pipeline-fixtures.js';
import {
  ask,
  BORNY,
  eventWhere,
  KEYS,
  makeWorld,
  onlineStateWhere,
  readJournal,
  startAgent,
  type World,
  centralConfigFor,
} from './harness.js';

/** The central service, with its handle kept: the test calls reload() on it. */
async function startCentral(t: Test, world: World): Promise<CentralApp> {
  const config = centralConfigFor(world);
  const log = new Logger('central', { level: 'error', sink: { write: () => undefined } });
  const app = new CentralApp({ config, log, port: 0 });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return app;
}

/** Version 13: op-martin removed, cam-02 no longer transmissible; everything else as in 12. */
function version13(v12: Policy): Policy {
  const p = structuredClone(v12);
  p.version = 13;
  p.operators = p.operators.filter((op) => op.kid !== KEYS.martin.kid);
  const site = p.sites.find((s) => s.id === BORNY.siteId);
  const cam = site?.cameras.find((c) => c.id === 'cam-02');
  if (!cam) throw new Error('the test policy has no cam-02 at borny-hauts');
  cam.transmissible = false;
  return p;
}

interface Opened {
  sessionId: string;
  commandId: string;
  bytes: Buffer;
}

const closedEvent = (e: AgentEvent, sessionId: string) =>
  e.type === 'session.closed' && e.sessionId === sessionId;

void t.test(
  'a reloaded policy closes what it no longer allows; a replay after a restart is refused',
  async (t) => {
    const world = await makeWorld(t, 12);
    const central = await startCentral(t, world);
    const port = central.broker.address.port;
    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:policy');
    await connected(op);
    await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const dataDir = path.join(world.dir, 'agent-data');
    const configFile = await world.agentConfigFile(port, dataDir);
    const ready = onlineStateWhere(op, (s) => s.policyVersion === 12);
    const first = await startAgent(t, configFile);
    const { bootId } = await ready;

    const open = async (key: TestKey, cameras: string[]): Promise<Opened> => {
      const command = openCommand(Date.now(), { cameras });
      const bytes = sign(command, key);
      t.match(await ask(op, bytes, command.id), { type: 'command.ack' }, `${key.kid} opens`);
      return { sessionId: command.sessionId, commandId: command.id, bytes };
    };
    const byMartin = await open(KEYS.martin, ['cam-01']); // operator removed by v13
    const onCam02 = await open(KEYS.dupont, ['cam-01', 'cam-02']); // camera withdrawn by v13
    const allowed = await open(KEYS.dupont, ['cam-01']); // still allowed by v13
    t.equal(first.app.sessions.length, 3, 'three live sessions under version 12');

    // The administrator signs version 13 and the central service reloads it (SIGHUP).
    await fs.writeFile(world.bundleFile, world.admin.sign(version13(world.policy)));
    const revoked = eventWhere(op, (e) => closedEvent(e, byMartin.sessionId));
    const withdrawn = eventWhere(op, (e) => closedEvent(e, onCam02.sessionId));
    const inForce = onlineStateWhere(op, (s) => s.bootId === bootId && s.policyVersion === 13);
    t.same(await central.reload(), { status: 'published', version: 13, previous: 12 });

    t.match(
      await revoked,
      { type: 'session.closed', reason: 'operator-revoked' },
      'the session of the removed operator is closed with operator-revoked',
    );
    t.match(
      await withdrawn,
      { type: 'session.closed', reason: 'camera-revoked' },
      'the session on the withdrawn camera is closed with camera-revoked',
    );
    const state = await onlineStateWhere(
      op,
      (s) => s.policyVersion === 13 && s.sessions.length === 1,
    );
    await inForce;
    t.same(
      state.sessions.map((s) => s.sessionId),
      [allowed.sessionId],
      'the retained state shows version 13 and only the session it still allows',
    );
    t.same(
      first.app.sessions.map((s) => s.id),
      [allowed.sessionId],
      'the box tracks only that one',
    );

    // Version 13 is also what new commands are checked against.
    // Its payload is not read before its signature verifies: the refusal cannot name the command.
    const late = openCommand(Date.now(), { cameras: ['cam-01'] });
    const unknownKey = eventWhere(op, (e) => e.type === 'command.reject' && e.commandId === null);
    await op.publishAsync(cmdTopic(BORNY.siteId), sign(late, KEYS.martin), { qos: 1 });
    t.match(
      await unknownKey,
      { type: 'command.reject', reason: 'unknown-key' },
      'the removed operator can no longer open',
    );
    const cam02 = openCommand(Date.now(), { cameras: ['cam-02'] });
    t.match(
      await ask(op, sign(cam02), cam02.id),
      { type: 'command.reject', reason: 'camera-not-transmissible' },
      'the withdrawn camera can no longer be opened',
    );

    // Restart: the same data directory, a new boot.
    await first.app.stop('shutdown');
    const journal = readJournal(path.join(dataDir, 'journal.db'));
    const applied = journal.filter((e) => e.type === 'policy.applied');
    t.same(
      applied.map((e) => [e.data.version, e.data.from]),
      [
        [12, 'broker'],
        [13, 'broker'],
      ],
      'the journal records version 12 then version 13, both from the broker',
    );
    const closes = journal.filter((e) => e.type === 'session.closed');
    const closeOf = (sessionId: string) => closes.find((e) => e.data.sessionId === sessionId);
    t.match(
      closeOf(byMartin.sessionId),
      { data: { reason: 'operator-revoked' } },
      'journaled: operator-revoked',
    );
    t.match(
      closeOf(onCam02.sessionId),
      { data: { reason: 'camera-revoked' } },
      'journaled: camera-revoked',
    );
    t.match(closeOf(allowed.sessionId), { data: { reason: 'shutdown' } }, 'the last one at stop');

    const again = onlineStateWhere(op, (s) => s.bootId !== bootId, 10_000);
    const second = await startAgent(t, configFile);
    const rebooted = await again;
    t.equal(rebooted.policyVersion, 13, 'the new boot starts with the kept version 13');
    t.same(rebooted.sessions, [], 'and with no live session');

    // Still allowed by version 13 and still fresh: only the replay store can refuse it.
    t.match(
      await ask(op, allowed.bytes, allowed.commandId),
      { type: 'command.reject', reason: 'replay' },
      'the exact bytes of a command acknowledged before the restart are refused as a replay',
    );
    t.same(second.app.sessions, [], 'and nothing was reopened');

    await second.app.stop('shutdown');
    const afterRestart = readJournal(path.join(dataDir, 'journal.db')).filter(
      (e) => e.bootId === second.app.bootId,
    );
    t.same(
      afterRestart
        .filter((e) => e.type === 'policy.applied')
        .map((e) => [e.data.version, e.data.from]),
      [[13, 'kept']],
      'the second boot applied its kept version 13 and took the retained copy as unchanged',
    );
    t.notOk(
      afterRestart.some((e) => e.type === 'session.open-accepted'),
      'no open was accepted by the second boot',
    );
  },
);
