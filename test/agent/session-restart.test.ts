/**
 * Rule 4: a crash never resurrects a session. After a restart every session
 * the journal shows open (accepted, with or without "opened") is closed with
 * agent-restart, nothing reconnects, and a redelivered open acts never again.
 */
import t from 'tap';
import { recoverAfterRestart } from '../../agent/src/sessions/restart-recovery.js';
import {
  closeCommand,
  makeHarness,
  NOW_MS,
  openCommand,
  sign,
  testPolicy,
  type Harness,
} from './pipeline-fixtures.js';

/** A new boot sharing the durable state (journal, replay store) of `before`. */
async function reboot(before: Harness): Promise<Harness> {
  const after = makeHarness({}, before);
  const recovered = recoverAfterRestart([...before.journal.entries], after.journal);
  after.manager.rememberSessionIds(recovered.knownSessionIds);
  await after.processor.setPolicy(testPolicy());
  after.manager.start();
  return after;
}

async function booted(): Promise<Harness> {
  const h = makeHarness();
  await h.processor.setPolicy(testPolicy());
  h.manager.start();
  return h;
}

t.test('sessions open at a crash are closed with agent-restart and never reopen', async (t) => {
  const a = await booted();
  const kept = openCommand(NOW_MS);
  const closed = openCommand(NOW_MS);
  const keptBytes = sign(kept);
  await a.processor.process(keptBytes, { retained: false });
  await a.processor.process(sign(closed), { retained: false });
  await a.processor.process(sign(closeCommand(NOW_MS, closed.sessionId)), { retained: false });
  const opensBefore = a.transmitter.opens.length;
  // kill -9: no stop(), the old timers never fire again.
  const b = await reboot(a);
  const restartCloses = b.journal
    .ofType('session.closed')
    .filter((e) => e.data.reason === 'agent-restart');
  t.same(
    restartCloses.map((e) => e.data.sessionId),
    [kept.sessionId],
  );
  t.equal(b.manager.sessions.length, 0, 'nothing open after the restart');
  t.equal(b.transmitter.opens.length, opensBefore, 'nothing reconnected');
  const redelivered = await b.processor.process(keptBytes, { retained: false });
  t.equal(redelivered.type === 'command.reject' && redelivered.reason, 'replay');
  const reused = { ...openCommand(NOW_MS), sessionId: kept.sessionId };
  const again = await b.processor.process(sign(reused), { retained: false });
  t.equal(again.type === 'command.reject' && again.reason, 'session-exists');
  t.equal(b.transmitter.opens.length, opensBefore);
  await b.manager.stop();
});

t.test('a session accepted but not yet opened by the relay is closed too', async (t) => {
  const a = await booted();
  a.transmitter.mode = 'hang';
  const command = openCommand(NOW_MS);
  void a.processor.process(sign(command), { retained: false });
  await Promise.resolve();
  t.equal(a.journal.ofType('session.open-accepted').length, 1);
  t.equal(a.journal.ofType('session.opened').length, 0);
  const b = await reboot(a);
  t.same(
    b.journal.ofType('session.closed').map((e) => [e.data.sessionId, e.data.reason]),
    [[command.sessionId, 'agent-restart']],
  );
  await b.manager.stop();
});

t.test('recovery twice closes nothing the second time', async (t) => {
  const a = await booted();
  await a.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  const b = await reboot(a);
  const c = await reboot(b);
  t.equal(
    c.journal.ofType('session.closed').filter((e) => e.data.reason === 'agent-restart').length,
    1,
  );
  await c.manager.stop();
});

t.test('a clean shutdown leaves nothing for recovery', async (t) => {
  const a = await booted();
  await a.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  await a.manager.stop();
  const b = await reboot(a);
  t.same(
    b.journal.ofType('session.closed').map((e) => e.data.reason),
    ['shutdown'],
  );
  await b.manager.stop();
});
