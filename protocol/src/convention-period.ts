/**
 * Which period of the convention is in force (Article 8). A box refuses to
 * open a session past the end of the period in force.
 *
 * - The first period runs from `startsAt` (00:00 Europe/Paris) for
 *   `periodMonths`; later periods are the same length, counted from startsAt.
 * - tacit: renewed at each period end, unless a party gave notice
 *   (`terminationNoticeAt`): the convention then ends at the first period end at
 *   least `noticeMonths` after the notice (notice given less than six months
 *   before an anniversary takes effect at the following one).
 * - express: in force until the end of the first period or `renewedUntil`
 *   (exclusive), whichever is later; nothing renews by itself.
 */
import { addMonths, parisMidnight } from './paris-time.js';
import type { Convention } from './policy-schema.js';

// A bound on the loop, far beyond any real convention (1,000 years of monthly periods).
const MAX_PERIODS = 12_000;

/** Last period end (calendar date) under tacit renewal, or null if no notice was given. */
function tacitFinalEnd(
  c: Convention,
  noticeMonths: number,
  noticeAt: string | undefined,
): string | null {
  if (noticeAt === undefined) return null;
  const earliest = addMonths(noticeAt, noticeMonths);
  for (let k = 1; k <= MAX_PERIODS; k++) {
    const end = addMonths(c.startsAt, k * c.periodMonths);
    if (end >= earliest) return end;
  }
  return null;
}

/** The end (exclusive) of the period in force at `now`, or null if not in force (not started or lapsed). */
export function conventionPeriodInForce(
  policy: { readonly convention: Convention },
  now: Date,
): Date | null {
  const c = policy.convention;
  const t = now.getTime();
  if (t < parisMidnight(c.startsAt).getTime()) return null;
  switch (c.renewal.mode) {
    case 'express': {
      const firstEnd = addMonths(c.startsAt, c.periodMonths);
      const renewed = c.renewal.renewedUntil;
      const end = parisMidnight(renewed !== undefined && renewed > firstEnd ? renewed : firstEnd);
      return t < end.getTime() ? end : null;
    }
    case 'tacit': {
      const finalEnd = tacitFinalEnd(c, c.renewal.noticeMonths, c.renewal.terminationNoticeAt);
      for (let k = 1; k <= MAX_PERIODS; k++) {
        const endDate = addMonths(c.startsAt, k * c.periodMonths);
        if (finalEnd !== null && endDate > finalEnd) return null;
        const end = parisMidnight(endDate);
        if (t < end.getTime()) return end;
      }
      return null;
    }
  }
}
