/**
 * Rule 2 on a real process: a session's deadline runs on the monotonic clock,
 * so jumping the box's wall clock two hours forward, then two hours back, must
 * neither close the session nor move its end. The agent runs as a child
 * process under libfaketime (Debian package `faketime`) with
 * FAKETIME_DONT_FAKE_MONOTONIC=1: Date.now() follows the offset written in a
 * timestamp file (re-read on every call, FAKETIME_NO_CACHE=1), while
 * performance.now() and Node's timers keep real time. The broker (aedes) and
 * the console run in this process, on real time.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { CentralApp } from '../../central/src/app.js';
import { openSession } from '../../central/src/console/op-actions.js';
import { AgentEventSchema, type AgentEvent } from '../../protocol/src/events.js';
import type { AgentState } from '../../protocol/src/agent-state.js';
import { cmdTopic, evtTopic } from '../../protocol/src/topics.js';
import { captureLog, connect, connected } from '../central/helpers.js';
import { closeCommand, sign } from '../agent/pipeline-fixtures.js';
import { BORNY, makeWorld, stateWhere, type World, centralConfigFor } from './harness.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const ROOT = path.resolve(import.meta.dirname, '../..');
const HOUR_MS = 3600 * 1000;
const TTL_SEC = 30; // MIN_SESSION_TTL_SEC: the shortest session the protocol allows

async function startCentral(t: Test, world: World): Promise<number> {
  const config = centralConfigFor(world);
  const app = new CentralApp({ config, log: captureLog().logger, port: 0 });
  t.teardown(() => app.stop('test-teardown'));
  await app.start();
  return app.broker.address.port;
}

function fakeTimeEnv(timestampFile: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    FAKETIME_NO_CACHE: '1',
    FAKETIME_TIMESTAMP_FILE: timestampFile,
  };
}

/** libfaketime offsets relative to the real time: "+0", "+2h", "-2h". */
const setOffset = (file: string, offset: string): Promise<void> =>
  fs.writeFile(file, `${offset}\n`);

/** Spawns `vigie agent` from the sources under libfaketime; killed by pid in teardown. */
function spawnAgent(t: Test, configFile: string, timestampFile: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(ROOT, 'cli/src/main.ts'), 'agent', '--config', configFile],
    { cwd: ROOT, env: fakeTimeEnv(timestampFile), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(
        () => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
        5000,
      );
      await exited;
      clearTimeout(timer);
    }
    if (!t.passing() && stderr.length > 0) t.comment(`agent stderr:\n${stderr.join('')}`);
  });
  return child;
}

/** Every event the box publishes on its evt topic, in arrival order. */
function recordEvents(client: MqttClient): AgentEvent[] {
  const seen: AgentEvent[] = [];
  const topic = evtTopic(BORNY.siteId);
  client.on('message', (got, payload) => {
    if (got !== topic) return;
    const parsed = AgentEventSchema.safeParse(JSON.parse(payload.toString('utf8')));
    if (parsed.success) seen.push(parsed.data);
  });
  return seen;
}

/** Resolves with the first recorded event (past or future) matching `check`, bounded. */
async function eventWhere(
  client: MqttClient,
  seen: AgentEvent[],
  check: (e: AgentEvent) => boolean,
  timeoutMs: number,
): Promise<AgentEvent> {
  const already = seen.find(check);
  if (already) return already;
  return new Promise<AgentEvent>((resolve, reject) => {
    const onMessage = (): void => {
      const found = seen.find(check);
      if (!found) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(found);
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    // Registered after recordEvents' listener, so `seen` already holds the message.
    client.on('message', onMessage);
  });
}

const liveIds = (state: AgentState): string[] =>
  state.status === 'online' ? state.sessions.map((s) => s.sessionId) : [];

/** Time left to a session as the box states it: its expiresAt minus its own `time`. */
function leftMs(state: AgentState, sessionId: string): number {
  const live = state.status === 'online' ? state.sessions : [];
  const session = live.find((s) => s.sessionId === sessionId);
  return session ? Date.parse(session.expiresAt) - Date.parse(state.time) : NaN;
}

/** How far the box's wall clock, as stamped on its state, is from ours. */
const agedMs = (state: AgentState): number => Date.parse(state.time) - Date.now();

/**
 * A close for a session that does not exist: harmless, answered with
 * `session-unknown`, and it makes the box publish its state. Its times follow
 * the box's (faked) wall clock so that freshness is not what answers.
 */
async function pokeBox(
  client: MqttClient,
  seen: AgentEvent[],
  offsetMs: number,
): Promise<{ reply: AgentEvent; state: AgentState }> {
  const command = closeCommand(Date.now() + offsetMs, '00000000-0000-4000-8000-000000000000');
  // Only a state stamped by the box's shifted clock will do: a subscription
  // replays the retained one, which is older.
  const stateAfter = stateWhere(
    client,
    (s) => s.status === 'online' && Math.abs(agedMs(s) - offsetMs) < 60_000,
  );
  const reply = eventWhere(
    client,
    seen,
    (e) => 'commandId' in e && e.commandId === command.id,
    10_000,
  );
  await client.publishAsync(cmdTopic(BORNY.siteId), sign(command), { qos: 1 });
  const got = await reply;
  return { reply: got, state: await stateAfter };
}

const skip = existsSync(LIBFAKETIME)
  ? false
  : `libfaketime missing (${LIBFAKETIME}): apt-get install faketime`;

t.test('a wall-clock jump does not move the TTL deadline', { skip }, async (t) => {
  const world = await makeWorld(t);
  const timestampFile = path.join(world.dir, 'faketime');

  // libfaketime must move Node's Date and leave performance.now() alone.
  await setOffset(timestampFile, '+2h');
  const probe = spawnSync(
    process.execPath,
    ['-e', 'process.stdout.write(JSON.stringify([Date.now(), performance.now()]))'],
    { env: fakeTimeEnv(timestampFile), encoding: 'utf8', timeout: 10_000 },
  );
  const [fakeNow, monoNow] = JSON.parse(probe.stdout) as [number, number];
  t.ok(Math.abs(fakeNow - Date.now() - 2 * HOUR_MS) < 60_000, 'libfaketime moves Date.now()');
  t.ok(monoNow < 10_000, 'and leaves the monotonic clock alone');
  await setOffset(timestampFile, '+0');

  const port = await startCentral(t, world);
  const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:clock');
  await connected(op);
  await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
  const seen = recordEvents(op);
  const ready = stateWhere(op, (s) => s.status === 'online' && s.policyVersion === 12, 30_000);
  spawnAgent(t, await world.agentConfigFile(port), timestampFile);
  await ready;

  const opened = await openSession(await world.opConfigFile(port), {
    siteId: BORNY.siteId,
    cameras: ['cam-01'],
    recipient: 'csu-metz',
    purpose: 'occupation-parties-communes',
    trigger: { kind: 'occupation' },
    callRef: 'CSU-2026-0077',
    requestedTtlSec: TTL_SEC,
  });
  const openedMono = performance.now();
  const sessionId = /transmission ouverte : ([0-9a-f-]{36})/.exec(opened)?.[1] ?? '';
  t.match(opened, /durée accordée 30 s/, `the box grants the ${TTL_SEC} s asked`);
  const isOurClose = (e: AgentEvent): boolean =>
    e.type === 'session.closed' && e.sessionId === sessionId;

  // Two hours forward: a wall-clock deadline would have passed long ago.
  await setOffset(timestampFile, '+2h');
  const ahead = await pokeBox(op, seen, 2 * HOUR_MS); // waits for a state stamped 2 h ahead
  t.match(
    ahead.reply,
    { type: 'command.reject', reason: 'session-unknown' },
    'the box, 2 h ahead, still answers commands',
  );
  t.ok(
    liveIds(ahead.state).includes(sessionId),
    'the session is still live after the jump forward',
  );
  const expectedLeftMs = (): number => TTL_SEC * 1000 - (performance.now() - openedMono);
  t.ok(
    Math.abs(leftMs(ahead.state, sessionId) - expectedLeftMs()) < 2000,
    `its time left is still counted from the open (${leftMs(ahead.state, sessionId)} ms)`,
  );
  t.notOk(seen.some(isOurClose), 'and no session.closed was published');

  // Two hours back, below the last trusted time: the clock is no longer
  // trusted (an alarm), which refuses opens but must close nothing.
  await setOffset(timestampFile, '-2h');
  const behind = await pokeBox(op, seen, -2 * HOUR_MS); // a state stamped 2 h behind
  t.match(
    behind.reply,
    { type: 'command.reject', reason: 'session-unknown' },
    'the box, 2 h behind, still answers a close',
  );
  t.ok(
    seen.some((e) => e.type === 'alarm' && e.alarm === 'clock-untrusted'),
    'a backwards jump raises clock-untrusted',
  );
  t.ok(liveIds(behind.state).includes(sessionId), 'the session is still live after the jump back');
  t.ok(
    Math.abs(leftMs(behind.state, sessionId) - expectedLeftMs()) < 2000,
    `its time left is still counted from the open (${leftMs(behind.state, sessionId)} ms)`,
  );
  t.notOk(seen.some(isOurClose), 'and no session.closed was published');

  // The deadline is where the monotonic clock put it: ~30 s after the open.
  const left = TTL_SEC * 1000 + 15_000 - (performance.now() - openedMono);
  const closed = await eventWhere(op, seen, isOurClose, left);
  const afterSec = (performance.now() - openedMono) / 1000;
  t.match(closed, { type: 'session.closed', reason: 'ttl-expired' }, 'closed by its TTL');
  t.ok(
    Math.abs(afterSec - TTL_SEC) <= 3,
    `closed ${afterSec.toFixed(1)} s after the open, at the monotonic deadline (${TTL_SEC} s ± 3 s)`,
  );
  if (closed.type === 'session.closed') {
    t.ok(Math.abs(closed.durationSec - TTL_SEC) <= 1, `the box reports ${closed.durationSec} s`);
  }
});
