/**
 * Rule 4 with a real crash: `vigie agent` as a child process, killed with
 * SIGKILL while a session is open, then started again. The second boot must
 * close the session in the journal with `agent-restart` and never reopen it;
 * the chain must still verify with the box's certificate.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { closeSession, openSession } from '../../central/src/console/op-actions.js';
import { evtTopic } from '../../protocol/src/topics.js';
import { connect, connected } from '../central/helpers.js';
import {
  BORNY,
  makeWorld,
  onlineStateWhere,
  readJournal,
  startEmbeddedCentral,
  stateWhere,
} from './harness.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = ['--import=tsx', 'cli/src/main.ts'];

interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with [code, signal] once the process has exited (bounded). */
  exited(timeoutMs?: number): Promise<[number | null, NodeJS.Signals | null]>;
}

/** Runs `vigie ...` from the source tree; killed by pid in teardown if still running. */
function vigie(t: Test, args: string[]): Child {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start vigie ${args.join(' ')}`);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve([child.exitCode, child.signalCode]);
    } else child.once('exit', (code, signal) => resolve([code, signal]));
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGKILL');
      await exit;
    }
  });
  return {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited: (timeoutMs = 15_000) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`vigie ${args[0]} did not exit within ${timeoutMs} ms`)),
            timeoutMs,
          ).unref(),
        ),
      ]),
  };
}

/** Resolves once the agent printed its start line; rejects if it exits first or too late. */
function agentStarted(agent: Child, timeoutMs = 20_000): Promise<void> {
  const started = /vigie agent: box box-borny-01 of site borny-hauts started/;
  const { child } = agent;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const onData = (): void => {
      if (started.test(agent.stdout())) done();
    };
    const onExit = (): void => done(new Error(`agent exited before starting:\n${agent.stderr()}`));
    const timer = setTimeout(
      () => done(new Error(`agent not started within ${timeoutMs} ms:\n${agent.stderr()}`)),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
    onData(); // the line may already be there
  });
}

void t.test(
  'kill -9 during an open session: the restart closes it with agent-restart and reopens nothing',
  async (t) => {
    const world = await makeWorld(t);
    const port = await startEmbeddedCentral(t, world);
    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:watch');
    await connected(op);
    await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const dataDir = path.join(world.dir, 'agent-data');
    const config = await world.agentConfigFile(port, dataDir);
    const opFile = await world.opConfigFile(port);

    const firstReady = onlineStateWhere(op, (s) => s.policyVersion === 12, 20_000);
    const first = vigie(t, ['agent', '--config', config]);
    await agentStarted(first);
    const firstBoot = (await firstReady).bootId;

    const opened = await openSession(opFile, {
      siteId: BORNY.siteId,
      cameras: ['cam-01'],
      recipient: 'csu-metz',
      purpose: 'occupation-parties-communes',
      trigger: { kind: 'occupation' },
      callRef: 'CSU-2026-0099',
      requestedTtlSec: 20 * 60,
    });
    const sessionId = /transmission ouverte : ([0-9a-f-]{36})/.exec(opened)?.[1] ?? '';
    await onlineStateWhere(
      op,
      (s) => s.bootId === firstBoot && s.sessions.some((x) => x.sessionId === sessionId),
    );
    t.pass('the first agent reports the session live');

    // The last will says offline once the broker sees the connection gone.
    const offline = stateWhere(op, (s) => s.status === 'offline');
    process.kill(first.pid, 'SIGKILL');
    t.same(await first.exited(), [null, 'SIGKILL'], 'the first agent died of SIGKILL');
    await offline;

    const secondReady = onlineStateWhere(
      op,
      (s) => s.bootId !== firstBoot && s.policyVersion === 12,
      20_000,
    );
    const second = vigie(t, ['agent', '--config', config]);
    await agentStarted(second);
    const state = await secondReady;
    t.not(state.bootId, firstBoot, 'a new boot');
    t.same(state.sessions, [], 'the second agent reports no live session');
    t.equal(state.health.openSessions, 0, 'and counts none');

    t.match(
      await closeSession(opFile, sessionId, BORNY.siteId, undefined),
      /transmission fermée/,
      'a close of the crashed session is acknowledged (a no-op)',
    );
    // The state the agent publishes after handling that close.
    const after = await onlineStateWhere(
      op,
      (s) => s.bootId === state.bootId && Date.parse(s.time) > Date.parse(state.time),
    );
    t.same(after.sessions, [], 'and nothing was reopened');

    process.kill(second.pid, 'SIGTERM');
    t.same(await second.exited(10_000), [0, null], 'the second agent exits 0 on SIGTERM');
    t.notMatch(second.stderr(), /"stack"|\n\s+at /, 'and prints no stack trace');
    t.notMatch(second.stderr(), /"level":"error"/, 'and logs no error');

    const file = path.join(dataDir, 'journal.db');
    const entries = readJournal(file).filter((e) => e.data.sessionId === sessionId);
    t.same(
      entries.map((e) => [e.type, e.data.reason ?? null]),
      [
        ['session.open-accepted', null],
        ['session.opened', null],
        ['session.closed', 'agent-restart'],
      ],
      'accepted, opened, closed by the restart, and nothing after',
    );
    t.same(
      entries.map((e) => e.bootId === firstBoot),
      [true, true, false],
      'opened by the first boot, closed by the second',
    );
    t.equal(entries[2]?.bootId, state.bootId, 'the close is the second boot’s');

    const verify = vigie(t, [
      'journal',
      'verify',
      file,
      '--cert',
      path.join(world.boxDir, 'cert.pem'),
    ]);
    const [code] = await verify.exited();
    t.equal(code, 0, 'vigie journal verify --cert exits 0', {
      output: verify.stdout() + verify.stderr(),
    });
    t.match(verify.stdout(), /OK/, 'and says OK');
  },
);
