/**
 * Rule 2: TTL = min(requested, recipient max, policy max, certificates'
 * remaining life), and the deadline runs on the monotonic clock: the session
 * closes at the deadline exactly, and a wall-clock jump does not move it.
 */
import t from 'tap';
import {
  DAY_MS,
  extendCommand,
  NOW_MS,
  openCommand,
  sign,
  startedHarness,
  testPolicy,
  type Harness,
} from './pipeline-fixtures.js';

async function openOne(h: Harness, requestedTtlSec: number, recipient = 'csu-metz') {
  const command = openCommand(h.clocks.wallMs, { requestedTtlSec, recipient });
  const event = await h.processor.process(sign(command), { retained: false });
  if (event.type !== 'command.ack') throw new Error(`open refused: ${event.reason}`);
  return { sessionId: command.sessionId, grantedTtlSec: event.grantedTtlSec };
}

t.test('closes with ttl-expired at the deadline exactly', async (t) => {
  const h = await startedHarness();
  const { sessionId, grantedTtlSec } = await openOne(h, 600);
  t.equal(grantedTtlSec, 600);
  await h.clock.tickAsync(600_000 - 1);
  t.equal(h.manager.sessions.length, 1, 'still open 1 ms before the deadline');
  await h.clock.tickAsync(1);
  t.equal(h.manager.sessions.length, 0, 'closed at the deadline');
  const closed = h.journal.ofType('session.closed');
  t.same(
    closed.map((e) => [e.data.sessionId, e.data.reason, e.data.durationSec]),
    [[sessionId, 'ttl-expired', 600]],
  );
  t.same(h.transmitter.closes, [{ sessionId, reason: 'ttl-expired' }]);
  await h.manager.stop();
});

for (const jumpMs of [+2 * DAY_MS, -2 * DAY_MS, +3600_000]) {
  t.test(`a wall-clock jump of ${jumpMs / 3600_000} h does not move the deadline`, async (t) => {
    const h = await startedHarness();
    await openOne(h, 600);
    await h.clock.tickAsync(100_000);
    h.clocks.wallMs += jumpMs; // the wall clock only: NTP step, `date -s`, RTC reset
    await h.clock.tickAsync(500_000 - 1);
    t.equal(h.manager.sessions.length, 1, 'not closed early');
    await h.clock.tickAsync(1);
    t.equal(h.manager.sessions.length, 0, 'closed at the monotonic deadline');
    t.equal(h.journal.ofType('session.closed')[0]?.data.reason, 'ttl-expired');
    await h.manager.stop();
  });
}

t.test('a timer that fires early re-arms instead of closing early', async (t) => {
  const h = await startedHarness();
  // From now on the monotonic clock lags the timers by 5 s (a coarse or drifting timer source).
  let lagMs = 0;
  const mono = h.clocks.monoNowMs.bind(h.clocks);
  h.clocks.monoNowMs = () => mono() - lagMs;
  await openOne(h, 60);
  lagMs = 5_000;
  await h.clock.tickAsync(60_000);
  t.equal(h.manager.sessions.length, 1, 'monotonic deadline not reached yet');
  await h.clock.tickAsync(4_999);
  t.equal(h.manager.sessions.length, 1);
  await h.clock.tickAsync(1);
  t.equal(h.manager.sessions.length, 0, 'closed when the monotonic clock reaches the deadline');
  await h.manager.stop();
});

t.test('TTL is capped by the recipient maximum', async (t) => {
  const h = await startedHarness();
  t.equal((await openOne(h, 3000, 'dipn-57')).grantedTtlSec, 1800);
  await h.manager.stop();
});

t.test('TTL is capped by the policy maximum', async (t) => {
  const h = await startedHarness({ policy: testPolicy((p) => void (p.maxTtlSec = 900)) });
  t.equal((await openOne(h, 3000)).grantedTtlSec, 900);
  await h.manager.stop();
});

t.test("TTL is capped by the box certificate's remaining life", async (t) => {
  const h = await startedHarness({ boxNotAfterMs: NOW_MS + 700_500 });
  t.equal((await openOne(h, 3000)).grantedTtlSec, 700);
  await h.manager.stop();
});

t.test("TTL is capped by the relay certificate's remaining life", async (t) => {
  const h = await startedHarness({ relayNotAfterMs: NOW_MS + 400_000 });
  t.equal((await openOne(h, 3000)).grantedTtlSec, 400);
  await h.manager.stop();
});

t.test('extend sets a new total lifetime from the opening, capped the same way', async (t) => {
  const h = await startedHarness();
  const { sessionId } = await openOne(h, 600, 'dipn-57');
  await h.clock.tickAsync(300_000);
  const event = await h.processor.process(sign(extendCommand(h.clocks.wallMs, sessionId, 3600)), {
    retained: false,
  });
  t.equal(event.type === 'command.ack' && event.grantedTtlSec, 1800, 'capped by dipn-57 max');
  t.equal(h.journal.ofType('session.extended')[0]?.data.ttlSec, 1800);
  await h.clock.tickAsync(1_500_000 - 1);
  t.equal(h.manager.sessions.length, 1);
  await h.clock.tickAsync(1);
  t.equal(h.manager.sessions.length, 0, 'closed 1800 s after the opening');
  await h.manager.stop();
});

t.test('the same extend twice changes nothing the second time', async (t) => {
  const h = await startedHarness();
  const { sessionId } = await openOne(h, 600);
  const first = await h.processor.process(sign(extendCommand(NOW_MS, sessionId, 1200)), {
    retained: false,
  });
  const second = await h.processor.process(sign(extendCommand(NOW_MS, sessionId, 1200)), {
    retained: false,
  });
  t.equal(first.type, 'command.ack');
  t.equal(second.type === 'command.reject' && second.reason, 'ttl');
  t.equal(h.manager.sessions[0]?.ttlSec, 1200);
  await h.manager.stop();
});

t.test('a policy lowering the cap shortens a live session', async (t) => {
  const h = await startedHarness();
  await openOne(h, 3000);
  await h.clock.tickAsync(100_000);
  await h.processor.setPolicy(
    testPolicy((p) => {
      p.version = 2;
      p.maxTtlSec = 600;
    }),
  );
  t.equal(h.manager.sessions[0]?.ttlSec, 600);
  await h.clock.tickAsync(500_000);
  t.equal(h.manager.sessions.length, 0);
  t.equal(h.journal.ofType('session.closed')[0]?.data.reason, 'ttl-expired');
  await h.manager.stop();
});
