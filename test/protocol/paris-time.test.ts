import t from 'tap';
import fc from 'fast-check';
import { formatParis, parisOffsetMs, parisParts, WEEKDAYS } from '../../protocol/src/paris-time.js';

// The reference: ICU's tz data through Intl (the thing we stopped loading in
// the agent). If the law or ICU changes, these tests say so.
const ICU = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Paris',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  weekday: 'short',
});

function icuParts(instant: Date): { date: string; minuteOfDay: number; weekday: string } {
  const p: Record<string, string> = {};
  for (const part of ICU.formatToParts(instant)) p[part.type] = part.value;
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    minuteOfDay: Number(p.hour) * 60 + Number(p.minute),
    weekday: (p.weekday ?? '').toLowerCase().slice(0, 3),
  };
}

function same(instant: Date): boolean {
  const ours = parisParts(instant);
  const icu = icuParts(instant);
  return (
    ours.date === icu.date && ours.minuteOfDay === icu.minuteOfDay && ours.weekday === icu.weekday
  );
}

t.test('Paris local time agrees with ICU tz data from 1996 to 2037', async (t) => {
  const from = Date.UTC(1996, 0, 1);
  const to = Date.UTC(2037, 11, 31);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.integer({ min: from, max: to }), (ms) => same(new Date(ms))),
      { numRuns: 20_000 },
    ),
  );
});

t.test('the changes happen at 01:00 UTC on the last Sundays of March and October', async (t) => {
  for (let year = 2024; year <= 2032; year++) {
    for (const month of [2, 9]) {
      const last = new Date(Date.UTC(year, month + 1, 0));
      const change = Date.UTC(year, month, last.getUTCDate() - last.getUTCDay(), 1);
      for (const delta of [-60_001, -1, 0, 1, 60_000]) {
        t.ok(same(new Date(change + delta)), `${new Date(change + delta).toISOString()}`);
      }
      t.equal(parisOffsetMs(new Date(change - 1)), month === 2 ? 3_600_000 : 7_200_000);
      t.equal(parisOffsetMs(new Date(change)), month === 2 ? 7_200_000 : 3_600_000);
    }
  }
});

t.test('parts and display', async (t) => {
  const summer = new Date('2025-09-19T22:00:00Z');
  t.same(parisParts(summer), {
    date: '2025-09-20',
    weekday: 'sat',
    minuteOfDay: 0,
    wallMs: Date.UTC(2025, 8, 20),
  });
  t.equal(formatParis(summer), '2025-09-20 00:00 (UTC+02:00)');
  t.equal(formatParis(new Date('2026-01-15T12:30:00Z')), '2026-01-15 13:30 (UTC+01:00)');
  t.equal(WEEKDAYS.length, 7);
});
