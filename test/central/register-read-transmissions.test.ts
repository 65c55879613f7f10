import fc from 'fast-check';
import t from 'tap';
import {
  assembleTransmissions,
  type Transmission,
} from '../../central/src/register/read/transmissions.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import { FakeBox } from './register-read-fixture.js';

const VIEWER = { id: 'agent-dupont', name: 'Brigadier Dupont' };

function only(rows: readonly Transmission[]): Transmission {
  t.equal(rows.length, 1, 'one row');
  const row = rows[0];
  if (!row) throw new Error('no row');
  return row;
}

void t.test('a closed transmission becomes one row with everything the register shows', (t) => {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const id = box.session({
    start: '2026-11-29T13:00:00.000Z',
    cameras: ['cam-01', 'cam-02'],
    trigger: { kind: 'urgence', officer: 'Cdt Leroy' },
    callRef: 'CSU-2026-0142',
    viewers: [{ ...VIEWER, from: 10, to: 300 }],
    closeAfterSec: 600,
    closeReason: 'intervention-ended',
  });
  const annotations = [
    { id: 1, timeMs: 1, sessionId: id, outcome: 'première version', author: 'emh' },
    { id: 2, timeMs: 2, sessionId: id, outcome: 'interpellation de deux personnes', author: 'emh' },
  ];
  const row = only(
    assembleTransmissions(box.entries, {
      siteOf: (s) => (s === 'box-borny-01' ? 'borny-hauts' : null),
      annotations,
    }).transmissions,
  );
  t.match(row, {
    key: id,
    sessionId: id,
    source: 'box-borny-01',
    site: 'borny-hauts',
    cameras: ['cam-01', 'cam-02'],
    recipient: 'csu-metz',
    purpose: 'occupation-parties-communes',
    trigger: { kind: 'urgence', officer: 'Cdt Leroy' },
    callRef: 'CSU-2026-0142',
    operator: 'op-martin',
    requestedAt: '2026-11-29T13:00:00.000Z',
    openedAt: '2026-11-29T13:00:01.000Z',
    closedAt: '2026-11-29T13:10:00.000Z',
    closeReason: 'intervention-ended',
    status: 'closed',
    viewers: [
      {
        viewerId: 'agent-dupont',
        name: 'Brigadier Dupont',
        from: '2026-11-29T13:00:10.000Z',
        to: '2026-11-29T13:05:00.000Z',
      },
    ],
  });
  t.equal(row.outcome?.outcome, 'interpellation de deux personnes', 'the latest annotation');
  t.equal(row.outcomes.length, 2, 'history kept');
  t.equal(row.timeline.length, box.entries.length);
  t.end();
});

void t.test('an open session, a failed open and a refused open each have their status', (t) => {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const open = box.session({
    start: '2026-11-29T13:00:00.000Z',
    closeAfterSec: null,
    viewers: [{ ...VIEWER, from: 5 }],
  });
  const failed = box.session({ start: '2026-11-29T14:00:00.000Z', failed: true });
  box.append(
    'command.refused',
    {
      commandId: 'c-refused',
      commandType: 'session.open',
      kid: 'op-b',
      reason: 'camera-not-in-annex',
      detail: 'cam-09',
    },
    '2026-11-29T15:00:00.000Z',
  );
  box.append(
    'command.refused',
    { commandId: 'c-x', commandType: 'session.close', kid: 'op-b', reason: 'session-unknown' },
    '2026-11-29T15:01:00.000Z',
  );
  const { transmissions, unassigned } = assembleTransmissions(box.entries);
  t.same(
    transmissions.map((r) => [r.key, r.status]),
    [
      [open, 'open'],
      [failed, 'failed'],
      ['refused:c-refused', 'refused'],
    ],
  );
  t.equal(transmissions[0]?.viewers[0]?.to, null, 'still watching');
  t.equal(transmissions[1]?.refusal?.reason, 'relay-rejected');
  t.equal(
    transmissions[1]?.timeline.at(-1)?.type,
    'command.refused',
    'the refusal joins its session',
  );
  t.equal(transmissions[2]?.operator, 'op-b');
  t.equal(transmissions[2]?.refusal?.reason, 'camera-not-in-annex');
  t.equal(unassigned.length, 1, 'a refused close is no transmission');
  t.end();
});

void t.test('odd data gives nulls, never an exception', (t) => {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const time = '2026-11-29T13:00:00.000Z';
  box.append('session.closed', { sessionId: 's-late', reason: 7 }, time);
  box.append('session.viewer-left', { sessionId: 's-late', viewerId: ['x'] }, time);
  box.append(
    'session.open-accepted',
    { sessionId: 's-odd', cameras: 'cam-01', trigger: 'urgence', kid: null },
    time,
  );
  box.append('session.opened', { nothing: true }, time);
  box.append('session.whatever', { sessionId: 's-odd', ttlSec: 'NaN' }, time);
  const { transmissions, unassigned } = assembleTransmissions(box.entries);
  t.equal(transmissions.length, 2);
  const late = transmissions.find((r) => r.key === 's-late');
  t.match(late, { status: 'closed', closeReason: null, requestedAt: null, cameras: [] });
  t.same(late?.viewers, [{ viewerId: '?', name: null, from: null, to: time }]);
  const odd = transmissions.find((r) => r.key === 's-odd');
  t.match(odd, { status: 'open', cameras: [], trigger: { kind: 'urgence', officer: null } });
  t.equal(unassigned.length, 1, 'an opened entry without a session id');
  t.end();
});

/** Several boxes with interleaved sessions: the material of the properties. */
function world(seed: number): JournalEntry[] {
  const boxes = [new FakeBox('box-a', 'site-a'), new FakeBox('box-b', 'site-b')];
  let s = seed;
  for (let i = 0; i < 6; i++) {
    const box = boxes[i % 2];
    if (!box) continue;
    s = (s * 1103515245 + 12345) % 2 ** 31;
    box.session({
      start: new Date(Date.UTC(2026, 10, 29, 12) + (s % 7200) * 1000).toISOString(),
      viewers: s % 3 === 0 ? [{ ...VIEWER, from: 3, to: 9 }] : [],
      closeAfterSec: s % 5 === 0 ? null : 60 + (s % 600),
      failed: s % 11 === 0,
    });
  }
  return boxes.flatMap((b) => b.entries);
}

void t.test('any interleaving of the sources gives the same rows', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer(), (seed, shuffleSeed) => {
      const entries = world(seed);
      const shuffled = fc.sample(fc.shuffledSubarray(entries, { minLength: entries.length }), {
        seed: shuffleSeed,
        numRuns: 1,
      })[0];
      const a = assembleTransmissions(entries);
      const b = assembleTransmissions(shuffled ?? []);
      t.same(b, a);
    }),
    { numRuns: 60 },
  );
  t.end();
});

void t.test('no entry is lost: each one is in exactly one row or unassigned', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (seed, drops) => {
        const all = world(seed);
        // Any subset of the entries (period boundaries, boxes not caught up).
        const dropped = new Set(drops.map((d) => d % Math.max(1, all.length)));
        const entries = all.filter((_, i) => !dropped.has(i));
        const { transmissions, unassigned } = assembleTransmissions(entries);
        const seen = [
          ...transmissions.flatMap((r) => r.timeline.map((e) => `${e.source}/${e.seq}`)),
          ...unassigned.map((e) => `${e.source}/${e.seq}`),
        ].sort();
        t.same(seen, entries.map((e) => `${e.source}/${e.seq}`).sort());
      },
    ),
    { numRuns: 80 },
  );
  t.end();
});
