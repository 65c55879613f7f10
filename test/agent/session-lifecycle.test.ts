/**
 * A session has one exit: close(reason), idempotent, closing first (the
 * tunnel) and journaling after. Every cause of an end from issue 3 is here:
 * close command, close-all, a policy revoking the operator, a camera or the
 * recipient, convention lapse, a journal that stops working, and shutdown.
 */
import t from 'tap';
import {
  closeAllCommand,
  closeCommand,
  KEYS,
  NOW_MS,
  openCommand,
  sign,
  startedHarness,
  testPolicy,
  type Harness,
} from './pipeline-fixtures.js';
import type { Policy } from '../../protocol/src/policy-schema.js';

async function openOne(h: Harness, overrides = {}) {
  const command = openCommand(h.clocks.wallMs, overrides);
  const event = await h.processor.process(sign(command), { retained: false });
  if (event.type !== 'command.ack') throw new Error(`open refused: ${event.reason}`);
  return command.sessionId;
}

const reasons = (h: Harness) => h.journal.ofType('session.closed').map((e) => e.data.reason);

t.test('a close command closes, journals once, and a second close changes nothing', async (t) => {
  const h = await startedHarness();
  const id = await openOne(h);
  const first = await h.processor.process(sign(closeCommand(NOW_MS, id)), { retained: false });
  t.equal(first.type, 'command.ack');
  const second = await h.processor.process(sign(closeCommand(NOW_MS, id)), { retained: false });
  t.equal(second.type, 'command.ack', 'second close acknowledged');
  t.same(reasons(h), ['close-command'], 'journaled once');
  t.equal(h.transmitter.closes.length, 1);
  t.equal(h.journal.ofType('session.closed')[0]?.data.commandId !== null, true);
  await h.manager.stop();
});

t.test('close with reason intervention-ended is journaled as such', async (t) => {
  const h = await startedHarness();
  const id = await openOne(h);
  const c = { ...closeCommand(NOW_MS, id), reason: 'intervention-ended' as const };
  await h.processor.process(sign(c), { retained: false });
  t.same(reasons(h), ['intervention-ended']);
  await h.manager.stop();
});

t.test('Session.close is idempotent and `closed` resolves with the first reason', async (t) => {
  const h = await startedHarness();
  await openOne(h);
  const session = h.manager.sessions[0]!;
  const [a, b] = await Promise.all([session.close('close-all'), session.close('shutdown')]);
  t.equal(a, 'close-all');
  t.equal(b, 'close-all');
  t.equal(await session.closed, 'close-all');
  t.same(reasons(h), ['close-all']);
  await h.manager.stop();
});

t.test('the tunnel is closed before the close is journaled', async (t) => {
  const h = await startedHarness();
  const id = await openOne(h);
  let journaledBefore = -1;
  h.transmitter.close = (sessionId) => {
    journaledBefore = h.journal.ofType('session.closed').length;
    h.transmitter.live.delete(sessionId);
    return Promise.resolve();
  };
  await h.processor.process(sign(closeCommand(NOW_MS, id)), { retained: false });
  t.equal(journaledBefore, 0);
  t.same(reasons(h), ['close-command']);
  await h.manager.stop();
});

t.test('close-all closes every session', async (t) => {
  const h = await startedHarness();
  await openOne(h);
  await openOne(h);
  const event = await h.processor.process(sign(closeAllCommand(NOW_MS), KEYS.chef), {
    retained: false,
  });
  t.equal(event.type, 'command.ack');
  t.same(reasons(h), ['close-all', 'close-all']);
  t.equal(h.transmitter.live.size, 0);
  await h.manager.stop();
});

const REVOCATIONS: [string, string, (p: Policy) => void][] = [
  [
    'operator removed',
    'operator-revoked',
    (p) => void (p.operators = p.operators.filter((o) => o.kid !== 'op-dupont')),
  ],
  [
    'operator loses the recipient',
    'operator-revoked',
    (p) => void (p.operators.find((o) => o.kid === 'op-dupont')!.recipients = ['dipn-57']),
  ],
  [
    'camera made non-transmissible',
    'camera-revoked',
    (p) => void (p.sites[0]!.cameras[1]!.transmissible = false),
  ],
  ['camera removed from the annex', 'camera-revoked', (p) => void p.sites[0]!.cameras.splice(0, 1)],
  [
    'recipient removed',
    'recipient-revoked',
    (p) => {
      p.recipients = p.recipients.filter((r) => r.id !== 'csu-metz');
      for (const op of p.operators) op.recipients = op.recipients.filter((r) => r !== 'csu-metz');
    },
  ],
  [
    'convention ended (express, not renewed)',
    'convention-lapsed',
    (p) => void (p.convention.renewal = { mode: 'express' }),
  ],
];

for (const [name, reason, edit] of REVOCATIONS) {
  t.test(`a policy update closes the session: ${name}`, async (t) => {
    const h = await startedHarness();
    await openOne(h);
    await h.processor.setPolicy(
      testPolicy((p) => {
        p.version = 2;
        edit(p);
      }),
    );
    t.same(reasons(h), [reason]);
    t.equal(h.manager.sessions.length, 0);
    await h.manager.stop();
  });
}

t.test('a policy update that changes nothing relevant keeps the session', async (t) => {
  const h = await startedHarness();
  await openOne(h);
  await h.processor.setPolicy(
    testPolicy((p) => {
      p.version = 2;
      p.sites[0]!.cameras[2]!.label = 'Rampe';
    }),
  );
  t.equal(h.manager.sessions.length, 1);
  await h.manager.stop();
});

t.test('the periodic check closes sessions when the convention lapses', async (t) => {
  // Notice given 2026-01-10 (six months): the convention ends on 2026-09-20 00:00 Paris.
  const policy = testPolicy((p) => {
    p.convention.renewal = { mode: 'tacit', noticeMonths: 6, terminationNoticeAt: '2026-01-10' };
  });
  const lastDay = Date.parse('2026-09-19T21:00:00Z'); // 23:00 Paris, Saturday
  const h = await startedHarness({ policy, wallMs: lastDay, sweepEveryMs: 60_000 });
  await openOne(h, { trigger: { kind: 'urgence', officer: 'Lt Moreau' } });
  h.clocks.wallMs = Date.parse('2026-09-19T22:00:30Z'); // just past the end
  await h.clock.tickAsync(60_000);
  t.same(reasons(h), ['convention-lapsed']);
  await h.manager.stop();
});

t.test('a journal that stops working closes every session (fail closed)', async (t) => {
  const h = await startedHarness();
  await openOne(h);
  h.journal.failing = true;
  const event = await h.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  t.equal(event.type === 'command.reject' && event.reason, 'journal-unwritable');
  await h.clock.tickAsync(0);
  t.equal(h.manager.sessions.length, 0);
  t.equal(h.transmitter.live.size, 0, 'the tunnel is down even though the close is not journaled');
  t.ok(h.sink.events.some((e) => e.type === 'alarm' && e.alarm === 'journal-unwritable'));
  await h.manager.stop();
});

t.test('stop() closes everything with shutdown and is safe to call twice', async (t) => {
  const h = await startedHarness();
  await openOne(h);
  await openOne(h);
  await Promise.all([h.manager.stop(), h.manager.stop()]);
  t.same(reasons(h), ['shutdown', 'shutdown']);
  const after = await h.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  t.equal(after.type, 'command.reject', 'no session opens after stop');
});

t.test('session.opened and session.closed events match the protocol schemas', async (t) => {
  const { AgentEventSchema } = await import('../../protocol/src/events.js');
  const h = await startedHarness();
  const id = await openOne(h);
  await h.processor.process(sign(closeCommand(NOW_MS, id)), { retained: false });
  t.same(
    h.sink.events.map((e) => AgentEventSchema.parse(e).type),
    ['session.opened', 'session.closed'],
  );
  await h.manager.stop();
});

t.test('a relay acceptance arriving after the session closed leaves no tunnel up', async (t) => {
  const h = await startedHarness();
  let accept: (() => void) | null = null;
  h.transmitter.open = (ticket) =>
    new Promise((resolve) => {
      accept = () => {
        h.transmitter.live.add(ticket.sessionId);
        resolve({ accepted: true });
      };
    });
  const pending = h.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  await h.clock.tickAsync(0);
  await h.manager.closeAll('close-all');
  t.ok(accept, 'the relay was asked');
  (accept as unknown as () => void)();
  await pending;
  t.equal(h.transmitter.live.size, 0, 'the late tunnel is torn down');
  t.equal(h.journal.ofType('session.opened').length, 0, 'never journaled as opened');
  t.same(reasons(h), ['close-all']);
  await h.manager.stop();
});

t.test('an older policy version is refused by the pipeline', async (t) => {
  const h = await startedHarness({ policy: testPolicy((p) => void (p.version = 5)) });
  t.throws(
    () =>
      h.verifier.setPolicy(
        testPolicy((p) => void (p.version = 4)),
        4,
      ),
    {
      code: 'policy-version-not-newer',
    },
  );
  t.equal(h.verifier.policyVersion, 5);
  await h.manager.stop();
});
