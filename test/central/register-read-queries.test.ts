import fc from 'fast-check';
import t from 'tap';
import {
  LOOKBACK_MS,
  findSession,
  findTransmissions,
  parsePeriod,
  parsePeriodBound,
} from '../../central/src/register/read/queries.js';
import { isVigieError } from '../../lib/src/errors.js';
import { FakeBox, MemoryRegisterStore } from './register-read-fixture.js';

void t.test('period bounds read as Paris days, Paris wall times or ISO instants', (t) => {
  t.equal(parsePeriodBound('2026-11-29', 'from').toISOString(), '2026-11-28T23:00:00.000Z');
  t.equal(parsePeriodBound('2026-11-29', 'to').toISOString(), '2026-11-29T23:00:00.000Z');
  t.equal(parsePeriodBound('2026-07-14', 'from').toISOString(), '2026-07-13T22:00:00.000Z');
  t.equal(
    parsePeriodBound('2026-03-29', 'to').toISOString(),
    '2026-03-29T22:00:00.000Z',
    'the day summer time starts has 23 hours',
  );
  t.equal(parsePeriodBound('2026-11-29T14:30', 'from').toISOString(), '2026-11-29T13:30:00.000Z');
  t.equal(
    parsePeriodBound('2026-11-29T14:30:00+01:00', 'from').toISOString(),
    '2026-11-29T13:30:00.000Z',
  );
  t.equal(parsePeriodBound('2026-11-29T13:30:00Z', 'to').toISOString(), '2026-11-29T13:30:00.000Z');
  for (const bad of ['29/11/2026', '2026-13-01', 'yesterday', '2026-11-29T25:00']) {
    t.throws(() => parsePeriodBound(bad, 'from'), { code: 'config-invalid' }, bad);
  }
  try {
    parsePeriod('2026-11-30', '2026-11-29');
    t.fail('an empty period is refused');
  } catch (err) {
    t.ok(isVigieError(err, 'config-invalid'));
    t.match((err as Error).message, /--from 2026-11-30 .* is not before --to 2026-11-29/);
  }
  t.end();
});

function register() {
  const a = new FakeBox('box-borny-01', 'borny-hauts');
  const b = new FakeBox('box-patrotte-01', 'patrotte-barres');
  const ids = {
    // Opened before the period and closed inside it.
    early: a.session({ start: '2026-11-28T22:50:00.000Z', closeAfterSec: 1200 }),
    // Opened before, still open at the start, nothing inside, closed after the period.
    spanning: b.session({
      start: '2026-11-28T21:00:00.000Z',
      closeAfterSec: 3 * 3600 + 3000,
      cameras: ['cam-07'],
    }),
    // Closed before the period: not listed.
    before: a.session({ start: '2026-11-28T20:00:00.000Z', closeAfterSec: 600 }),
    // Inside.
    inside: b.session({
      start: '2026-11-29T10:00:00.000Z',
      recipient: 'dipn-57',
      operator: 'op-durand',
      cameras: ['cam-02', 'cam-03'],
    }),
    // Opened inside, closed the next day (after the period).
    late: a.session({
      start: '2026-11-29T22:50:00.000Z',
      closeAfterSec: 1800,
      viewers: [{ id: 'v1', name: 'Agent Un', from: 60, to: 1700 }],
    }),
    // After.
    after: b.session({ start: '2026-11-30T10:00:00.000Z' }),
    // Long before the look-back, closed by a restart inside the period.
    crashed: a.session({ start: '2026-11-20T10:00:00.000Z', closeAfterSec: null }),
  };
  a.append(
    'session.closed',
    { sessionId: ids.crashed, reason: 'agent-restart', commandId: null, durationSec: 0 },
    '2026-11-29T08:00:00.000Z',
  );
  const store = new MemoryRegisterStore();
  store.load(a);
  store.load(b);
  return { store, ids };
}

void t.test('a period lists every transmission overlapping it, each complete', async (t) => {
  const { store, ids } = register();
  const rows = await findTransmissions(store, { period: parsePeriod('2026-11-29', '2026-11-29') });
  t.same(
    rows.map((r) => r.key),
    [ids.crashed, ids.spanning, ids.early, ids.inside, ids.late],
  );
  const byKey = new Map(rows.map((r) => [r.key, r]));
  t.match(byKey.get(ids.early), { status: 'closed', requestedAt: '2026-11-28T22:50:00.000Z' });
  t.match(byKey.get(ids.spanning), { status: 'closed', cameras: ['cam-07'] });
  t.match(byKey.get(ids.late), { status: 'closed', closedAt: '2026-11-29T23:20:00.000Z' });
  t.equal(byKey.get(ids.late)?.viewers[0]?.to, '2026-11-29T23:18:20.000Z');
  t.match(byKey.get(ids.crashed), {
    status: 'closed',
    closeReason: 'agent-restart',
    requestedAt: '2026-11-20T10:00:00.000Z',
    recipient: 'csu-metz',
  });
  for (const q of store.queries) {
    t.ok(q.fromTime !== undefined || q.toTime !== undefined, 'no unbounded read of the register');
  }
  t.end();
});

void t.test('filters by site, camera, recipient and operator', async (t) => {
  const { store, ids } = register();
  const period = parsePeriod('2026-11-29', '2026-11-29');
  const keys = async (f: object): Promise<string[]> =>
    (await findTransmissions(store, { period, ...f })).map((r) => r.key);
  t.same(await keys({ site: 'patrotte-barres' }), [ids.spanning, ids.inside]);
  t.same(await keys({ camera: 'cam-03' }), [ids.inside]);
  t.same(await keys({ recipient: 'dipn-57' }), [ids.inside]);
  t.same(await keys({ operator: 'op-durand' }), [ids.inside]);
  t.same(await keys({ site: 'nowhere' }), []);
  t.equal((await findTransmissions(store)).length, 7, 'no period: everything');
  t.end();
});

void t.test('one session, with its annotations', async (t) => {
  const { store, ids } = register();
  await store.annotate({ sessionId: ids.inside, outcome: 'rien à signaler', author: 'emh' });
  const row = await findSession(store, ids.inside);
  t.equal(row?.outcome?.outcome, 'rien à signaler');
  t.equal(row?.site, 'patrotte-barres');
  t.equal(await findSession(store, 'no-such-session'), null);
  const box = new FakeBox('box-bellecroix-01', 'bellecroix');
  box.append(
    'command.refused',
    { commandId: 'c-9', commandType: 'session.open', kid: 'op-b', reason: 'ttl', detail: 'x' },
    '2026-11-29T10:00:00.000Z',
  );
  store.load(box);
  for (const key of ['c-9', 'refused:c-9']) {
    t.match(await findSession(store, key), { key: 'refused:c-9', status: 'refused' }, key);
  }
  t.end();
});

void t.test(
  'property: a period gives exactly the overlapping transmissions, each whole',
  async (t) => {
    const day0 = Date.UTC(2026, 10, 28);
    const session = fc.record({
      box: fc.integer({ min: 0, max: 2 }),
      startMin: fc.integer({ min: 0, max: 3 * 1440 }),
      durationSec: fc.option(fc.integer({ min: 60, max: 4 * 3600 }), { nil: null }),
      viewer: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(session, { maxLength: 12 }),
        fc.integer({ min: 0, max: 3 * 1440 }),
        fc.integer({ min: 1, max: 1440 }),
        async (specs, fromMin, lengthMin) => {
          const boxes = [0, 1, 2].map((i) => new FakeBox(`box-${i}`, `site-${i}`));
          for (const s of [...specs].sort((a, b) => a.startMin - b.startMin)) {
            boxes[s.box]?.session({
              start: new Date(day0 + s.startMin * 60_000).toISOString(),
              closeAfterSec: s.durationSec,
              viewers: s.viewer ? [{ id: 'v', name: 'V', from: 30, to: 50 }] : [],
            });
          }
          const store = new MemoryRegisterStore();
          for (const b of boxes) store.load(b);
          const from = new Date(day0 + fromMin * 60_000);
          const to = new Date(from.getTime() + lengthMin * 60_000);
          const all = await findTransmissions(store);
          const expected = all.filter((r) => {
            const start = r.timeline[0]?.time ?? '';
            // A session the register holds no close of lasted at most the TTL cap.
            const end = r.closedAt ?? new Date(Date.parse(start) + LOOKBACK_MS).toISOString();
            return start < to.toISOString() && end >= from.toISOString();
          });
          const got = await findTransmissions(store, { period: { from, to } });
          t.same(got, expected);
        },
      ),
      { numRuns: 100 },
    );
    t.end();
  },
);
