/**
 * Rule 5 end to end on real failing storage: the agent's data directory on a
 * tiny tmpfs that we fill to ENOSPC. An open must be refused with
 * `journal-unwritable` and said so to the operator in words, the agent must
 * keep running and report the journal unwritable in its state, and once space
 * is back a new open must succeed. Needs root (mount); skipped where mounting
 * is not allowed.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { journalFileIn, verifyJournalFile } from '../../agent/src/journal/index.js';
import { openSession } from '../../central/src/console/op-actions.js';
import { refusalMessage } from '../../protocol/src/refusal-reasons.js';
import { evtTopic } from '../../protocol/src/topics.js';
import { connect, connected, tempDir } from '../central/helpers.js';
import {
  BORNY,
  eventWhere,
  makeWorld,
  startAgent,
  startEmbeddedCentral,
  onlineStateWhere,
} from './harness.js';
import { fillDisk } from '../helpers/disk.js';

function run(cmd: string, ...args: string[]): string | null {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  return result.status === 0
    ? null
    : `${cmd} ${args.join(' ')}: ${result.stderr.trim() || result.error?.message}`;
}

/**
 * A fresh tmpfs of `size`, or the reason it cannot be mounted. `beforeUnmount`
 * runs first in teardown: the agent must have stopped and closed its database.
 */
async function tinyTmpfs(
  t: Test,
  size: string,
  beforeUnmount: () => Promise<void>,
): Promise<{ dir: string } | { skip: string }> {
  const target = path.join(await tempDir(t, 'vigie-e2e-disk-'), 'data');
  mkdirSync(target);
  const failed = run('mount', '-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', target);
  if (failed)
    return { skip: `cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): ${failed}` };
  t.teardown(async () => {
    await beforeUnmount();
    const failedUnmount = run('umount', target);
    if (failedUnmount) {
      t.comment(failedUnmount);
      run('umount', '-l', target); // never leave a mount behind, even a busy one
    }
  });
  return { dir: target };
}

const OPEN = {
  siteId: BORNY.siteId,
  cameras: ['cam-01'],
  recipient: 'csu-metz',
  purpose: 'occupation-parties-communes' as const,
  trigger: { kind: 'occupation' as const },
  callRef: 'CSU-2026-0077',
  requestedTtlSec: 10 * 60,
};

void t.test(
  'disk full: an open is refused with journal-unwritable, no crash, then works again',
  async (t) => {
    let stopAgent = async (): Promise<void> => undefined;
    const mount = await tinyTmpfs(t, '1m', () => stopAgent());
    if ('skip' in mount) {
      void t.skip(mount.skip, (st) => st.end());
      return;
    }
    const world = await makeWorld(t);
    const port = await startEmbeddedCentral(t, world);
    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:watch');
    await connected(op);
    await op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const ready = onlineStateWhere(op, (s) => s.policyVersion === 12 && s.health.journalWritable);
    const agent = await startAgent(t, await world.agentConfigFile(port, mount.dir));
    stopAgent = () => agent.app.stop('test-teardown');
    await ready;
    const opFile = await world.opConfigFile(port);

    const filler = path.join(mount.dir, 'filler');
    fillDisk(filler);
    const unwritable = onlineStateWhere(op, (s) => !s.health.journalWritable);
    const alarm = eventWhere(op, (e) => e.type === 'alarm' && e.alarm === 'journal-unwritable');
    const words = refusalMessage('journal-unwritable', {}, 'fr');
    await t.rejects(
      openSession(opFile, OPEN),
      {
        code: 'command-refused',
        message: `${words} (journal-unwritable)`,
      },
      'the operator is told why, in words',
    );
    t.same(agent.app.sessions, [], 'nothing opened');
    t.ok(agent.app.connected, 'the agent is still running and connected');
    const state = await unwritable;
    t.equal(state.health.openSessions, 0, 'the retained state says the journal cannot be written');
    t.match(await alarm, { type: 'alarm', severity: 'critical' }, 'and an alarm is raised');

    unlinkSync(filler);
    const writable = onlineStateWhere(op, (s) => s.health.journalWritable);
    const opened = await openSession(opFile, OPEN);
    t.match(opened, /transmission ouverte : [0-9a-f-]{36}/, 'space back: a new open succeeds');
    t.equal(agent.app.sessions.length, 1);
    await writable;
    t.pass('the state says the journal is writable again');

    await agent.app.stop('shutdown');
    const boxKey = new X509Certificate(await fs.readFile(path.join(world.boxDir, 'cert.pem')))
      .publicKey;
    t.match(
      verifyJournalFile(journalFileIn(mount.dir), boxKey),
      { ok: true },
      'the full disk left no broken link in the chain',
    );
  },
);

void t.test(
  'an agent restarted on a full disk comes online fail closed: it says so and refuses opens',
  async (t) => {
    let stopAgent = async (): Promise<void> => undefined;
    const mount = await tinyTmpfs(t, '1m', () => stopAgent());
    if ('skip' in mount) {
      void t.skip(mount.skip, (st) => st.end());
      return;
    }
    const world = await makeWorld(t);
    const port = await startEmbeddedCentral(t, world);
    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:watch2');
    await connected(op);
    const configFile = await world.agentConfigFile(port, mount.dir);
    const first = await startAgent(t, configFile);
    const opFile = await world.opConfigFile(port);
    await openSession(opFile, OPEN); // left open: the next boot must close it (rule 4)
    await first.app.stop('shutdown');

    fillDisk(path.join(mount.dir, 'filler'));
    const degraded = onlineStateWhere(
      op,
      (s) => s.policyVersion === 12 && !s.health.journalWritable,
    );
    const second = await startAgent(t, configFile);
    stopAgent = () => second.app.stop('test-teardown');
    await degraded;
    t.pass('online, with journalWritable false in its retained state');
    await t.rejects(openSession(opFile, OPEN), {
      code: 'command-refused',
      message: /\(journal-unwritable\)$/,
    });
    t.same(second.app.sessions, [], 'nothing opened');
  },
);
