/**
 * The same command flow as flow-aedes, through Debian's Mosquitto with the
 * configuration and ACL of central/src/mosquitto, over mTLS on loopback: the
 * agent speaks plain MQTT, so any broker serves (issue 3). Mosquitto cannot
 * refuse a retained command, so here the box must: a retained signed open
 * waiting on its `cmd` topic when it connects is refused with `retained`.
 */
import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeSession, listSessions, openSession } from '../../central/src/console/op-actions.js';
import { writeMosquittoSetup } from '../../central/src/mosquitto/mosquitto-setup.js';
import { verifyJournalFile } from '../../agent/src/journal/index.js';
import { cmdTopic, evtTopic, POLICY_TOPIC } from '../../protocol/src/topics.js';
import {
  connect,
  connected,
  freePort,
  nextMessage,
  OPERATOR_CN,
  tempDir,
} from '../central/helpers.js';
import { mosquittoSkip, startMosquitto } from '../central/mosquitto-process.js';
import { closeCommand, openCommand, sign } from '../agent/pipeline-fixtures.js';
import {
  ask,
  eventWhere,
  BORNY,
  makeWorld,
  readJournal,
  startAgent,
  stateWhere,
  type World,
} from './harness.js';

/**
 * Mosquitto forces the client id to the certificate CN, so the test's own
 * watcher must not share the console operator's CN (it would be taken over at
 * each console connection): a second console user, listed in the ACL.
 */
const WATCHER_CN = 'Claire Veille';
const v5 = { protocolVersion: 5 } as const;

/** Mosquitto with the generated configuration and ACL, on a free loopback port. */
async function startBroker(t: Test, world: World): Promise<number> {
  const port = await freePort();
  const setup = await writeMosquittoSetup({
    outDir: await tempDir(t, 'vigie-e2e-mosquitto-'),
    policy: world.policy,
    consoleUsers: [OPERATOR_CN, WATCHER_CN],
    conf: {
      host: '127.0.0.1',
      port,
      caFile: world.pki.paths.caBundle,
      certFile: path.join(world.brokerDir, 'chain.pem'),
      keyFile: path.join(world.brokerDir, 'key.pem'),
      crlFile: world.pki.paths.crlBundle,
      user: os.userInfo().username, // so Mosquitto can read the 0600 key
    },
  });
  await startMosquitto(t, setup.confFile, port);
  return port;
}

void t.test(
  'open, close, duplicate, wrong site and a retained command, through Mosquitto',
  { skip: mosquittoSkip },
  async (t) => {
    const world = await makeWorld(t);
    const port = await startBroker(t, world);

    // The central service identity is the only one the ACL lets publish the policy.
    const centralDir = await world.pki.issue({
      kind: 'service',
      name: 'central',
      dns: ['localhost'],
      ips: [],
    });
    const central = connect(t, port, await world.pki.material(centralDir), 'central', v5);
    await connected(central);
    const bundle = await fs.readFile(world.bundleFile);
    await central.publishAsync(POLICY_TOPIC, bundle, { qos: 1, retain: true });

    const watcherDir = await world.pki.issue({
      kind: 'person',
      displayName: WATCHER_CN,
      role: 'operator',
    });
    const watcher = connect(t, port, await world.pki.material(watcherDir), 'ignored', v5);
    await connected(watcher);
    await watcher.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });

    // A retained signed open waits on the box's cmd topic before the box connects.
    const retained = openCommand(Date.now(), { cameras: ['cam-01'] });
    const cmd = cmdTopic(BORNY.siteId);
    let retainedCleared = false;
    const clearRetained = async (): Promise<void> => {
      if (retainedCleared) return;
      retainedCleared = true;
      await watcher.publishAsync(cmd, '', { qos: 1, retain: true });
    };
    t.teardown(clearRetained);
    await watcher.publishAsync(cmd, sign(retained), { qos: 1, retain: true });

    // Refused before anything reads the payload (cheapest first), so without a commandId.
    const refusal = eventWhere(watcher, (e) => e.type === 'command.reject');
    const ready = stateWhere(watcher, (s) => s.status === 'online' && s.policyVersion === 12);
    const dataDir = path.join(world.dir, 'agent-data');
    const agent = await startAgent(t, await world.agentConfigFile(port, dataDir));
    t.match(
      await refusal,
      { type: 'command.reject', reason: 'retained', commandId: null },
      'a retained command is refused by the box itself',
    );
    await ready;
    t.same(agent.app.sessions, [], 'the retained open opened nothing');
    await clearRetained();

    const opFile = await world.opConfigFile(port);
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
    t.match(opened, /durée accordée 20 min/, 'the console got the acknowledgement and the TTL');
    t.same(
      agent.app.sessions.map((s) => s.id),
      [sessionId],
      'the box tracks the session',
    );
    t.match(await listSessions(opFile, false), sessionId, 'listed from the retained state');

    const dup = openCommand(Date.now(), { cameras: ['cam-01'] });
    const bytes = sign(dup);
    t.match(await ask(watcher, bytes, dup.id), { type: 'command.ack' }, 'first delivery opens');
    t.match(
      await ask(watcher, bytes, dup.id),
      { type: 'command.reject', reason: 'replay' },
      'the same bytes again are a replay',
    );
    t.equal(agent.app.sessions.length, 2, 'still two sessions, not three');

    const other = openCommand(Date.now(), { siteId: 'patrotte-barres' });
    t.match(
      await ask(watcher, sign(other), other.id),
      { type: 'command.reject', reason: 'site' },
      'a command for another site, on this site’s topic, is refused',
    );

    t.match(
      await closeSession(opFile, sessionId, undefined, undefined),
      /transmission fermée/,
      'the console closes it and gets the acknowledgement',
    );
    t.same(
      agent.app.sessions.map((s) => s.id),
      [dup.sessionId],
      'only the other session is left',
    );
    const again = closeCommand(Date.now(), sessionId);
    t.match(
      await ask(watcher, sign(again), again.id),
      { type: 'command.ack' },
      'a second close is acknowledged',
    );

    await agent.app.stop('shutdown');
    const file = path.join(dataDir, 'journal.db');
    const entries = readJournal(file);
    t.match(
      entries.filter((e) => e.type === 'command.refused' && e.data.reason === 'retained'),
      [{ data: { commandId: null, kid: null } }],
      'the retained refusal is journaled',
    );
    t.notOk(
      entries.some((e) => e.data.sessionId === retained.sessionId),
      'nothing about the retained command’s session reached the journal',
    );
    const boxKey = new X509Certificate(await fs.readFile(path.join(world.boxDir, 'cert.pem')))
      .publicKey;
    t.ok(verifyJournalFile(file, boxKey).ok, 'the journal chain and its signed heads verify');
  },
);

void t.test(
  'mosquitto gives one console connection per person: a takeover fails the waiting command at once',
  { skip: mosquittoSkip },
  async (t) => {
    const world = await makeWorld(t);
    const port = await startBroker(t, world);
    // No agent: a box identity reads the command, so we know it was published.
    const box = connect(t, port, await world.pki.material(world.boxDir), 'ignored', v5);
    await connected(box);
    await box.subscribeAsync(cmdTopic(BORNY.siteId), { qos: 1 });
    const delivered = nextMessage(box, cmdTopic(BORNY.siteId));
    const startedMs = Date.now();
    const waiting = openSession(await world.opConfigFile(port), {
      siteId: BORNY.siteId,
      cameras: ['cam-01'],
      recipient: 'csu-metz',
      purpose: 'occupation-parties-communes',
      trigger: { kind: 'occupation' },
      callRef: 'CSU-2026-0043',
      requestedTtlSec: 20 * 60,
    });
    const outcome = waiting.then(
      () => null,
      (err: unknown) => err,
    );
    await delivered;
    // The same person opens a second console (e.g. `vigie op sessions`): same CN, same client id.
    const second = connect(t, port, await world.pki.material(world.operatorDir), 'op:x:y', v5);
    await connected(second);
    t.match(
      await outcome,
      { code: 'broker-unreachable', message: /closed the connection before the box answered/ },
      'the waiting console says its connection was taken over and the command may have acted',
    );
    t.ok(
      Date.now() - startedMs < 5000,
      'at once, not after the reply timeout (10 s) as if the box were silent',
    );
  },
);
