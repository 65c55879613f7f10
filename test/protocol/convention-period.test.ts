import t from 'tap';
import { conventionPeriodInForce } from '../../protocol/src/convention-period.js';
import { addMonths, formatParis, parisMidnight } from '../../protocol/src/paris-time.js';
import type { Convention } from '../../protocol/src/policy-schema.js';

const tacit = (terminationNoticeAt?: string): { convention: Convention } => ({
  convention: {
    id: 'emh-metz-2024-467',
    signedAt: '2024-09-09',
    startsAt: '2024-09-20',
    periodMonths: 12,
    renewal: {
      mode: 'tacit',
      noticeMonths: 6,
      ...(terminationNoticeAt ? { terminationNoticeAt } : {}),
    },
  },
});
const express = (renewedUntil?: string): { convention: Convention } => ({
  convention: {
    ...tacit().convention,
    renewal: { mode: 'express', ...(renewedUntil ? { renewedUntil } : {}) },
  },
});
const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

void t.test('Paris calendar helpers', (t) => {
  t.equal(parisMidnight('2025-09-20').toISOString(), '2025-09-19T22:00:00.000Z', 'summer: UTC+2');
  t.equal(parisMidnight('2025-01-15').toISOString(), '2025-01-14T23:00:00.000Z', 'winter: UTC+1');
  t.equal(parisMidnight('2025-03-30').toISOString(), '2025-03-29T23:00:00.000Z', 'DST change day');
  t.equal(parisMidnight('2025-10-26').toISOString(), '2025-10-25T22:00:00.000Z', 'DST end day');
  t.equal(addMonths('2024-08-31', 6), '2025-02-28');
  t.equal(addMonths('2023-08-31', 6), '2024-02-29');
  t.equal(addMonths('2024-09-20', 24), '2026-09-20');
  t.equal(formatParis(at('2025-09-19T22:00:00Z')), '2025-09-20 00:00 (UTC+02:00)');
  t.end();
});

void t.test('tacit renewal: in force period after period, from 00:00 Paris on startsAt', (t) => {
  t.equal(conventionPeriodInForce(tacit(), at('2024-09-19T21:59:59Z')), null, 'not started');
  t.equal(
    iso(conventionPeriodInForce(tacit(), at('2024-09-19T22:00:00Z'))),
    '2025-09-19T22:00:00.000Z',
    'first day',
  );
  t.equal(
    iso(conventionPeriodInForce(tacit(), at('2025-09-19T21:59:59Z'))),
    '2025-09-19T22:00:00.000Z',
    'last second',
  );
  t.equal(
    iso(conventionPeriodInForce(tacit(), at('2025-09-19T22:00:00Z'))),
    '2026-09-19T22:00:00.000Z',
    'renewed',
  );
  t.equal(
    iso(conventionPeriodInForce(tacit(), at('2034-01-01T00:00:00Z'))),
    '2034-09-19T22:00:00.000Z',
    'years later',
  );
  t.end();
});

void t.test(
  'tacit renewal with notice: ends at the first anniversary six months after the notice',
  (t) => {
    // Notice on 2025-02-01: 2025-08-01 is before 2025-09-20, so it ends at the first anniversary.
    const early = tacit('2025-02-01');
    t.equal(
      iso(conventionPeriodInForce(early, at('2025-09-19T21:00:00Z'))),
      '2025-09-19T22:00:00.000Z',
    );
    t.equal(
      conventionPeriodInForce(early, at('2025-09-19T22:00:00Z')),
      null,
      'lapsed at the anniversary',
    );
    // Notice on 2025-04-01: less than six months before 2025-09-20, so one more period runs.
    const late = tacit('2025-04-01');
    t.equal(
      iso(conventionPeriodInForce(late, at('2025-10-01T00:00:00Z'))),
      '2026-09-19T22:00:00.000Z',
    );
    t.equal(conventionPeriodInForce(late, at('2026-09-19T22:00:00Z')), null);
    // Exactly six months before: takes effect at that anniversary.
    t.equal(conventionPeriodInForce(tacit('2025-03-20'), at('2025-09-20T00:00:00Z')), null);
    t.end();
  },
);

void t.test('express renewal: the first period, then only an explicit renewedUntil', (t) => {
  t.equal(
    iso(conventionPeriodInForce(express(), at('2025-06-01T00:00:00Z'))),
    '2025-09-19T22:00:00.000Z',
  );
  t.equal(conventionPeriodInForce(express(), at('2025-09-19T22:00:00Z')), null, 'no tacit renewal');
  const renewed = express('2026-09-20');
  t.equal(
    iso(conventionPeriodInForce(renewed, at('2026-01-01T00:00:00Z'))),
    '2026-09-19T22:00:00.000Z',
  );
  t.equal(conventionPeriodInForce(renewed, at('2026-09-20T00:00:00Z')), null);
  t.equal(
    conventionPeriodInForce(express('2025-01-01'), at('2025-10-01T00:00:00Z')),
    null,
    'a renewal before the end changes nothing',
  );
  t.end();
});
