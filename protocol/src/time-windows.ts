/**
 * Time windows (Article 4: access "durant les plages horaires définies"), in
 * Europe/Paris local time. A window lists days and an HH:MM range; when `to`
 * is not after `from` the window runs past midnight into the next day. A
 * window without `sites` applies to every site. Outside every window, only an
 * `urgence` trigger may open a session (and is journaled as such).
 */
import { z } from 'zod';
import { IdSchema, uniqueArray } from './ids.js';
import { parisParts, WEEKDAYS, type Weekday } from './paris-time.js';

const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;
export const ClockTimeSchema = z.string().regex(HHMM, 'must be HH:MM (00:00 to 24:00)');

export const TimeWindowSchema = z.strictObject({
  sites: uniqueArray(IdSchema, 1, 1000).optional(),
  days: uniqueArray(z.enum(WEEKDAYS), 1, 7),
  from: ClockTimeSchema,
  to: ClockTimeSchema,
});
export type TimeWindow = z.infer<typeof TimeWindowSchema>;

export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] ?? 'sun';
}

function windowOpen(window: TimeWindow, day: Weekday, minute: number): boolean {
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  if (from < to) return window.days.includes(day) && minute >= from && minute < to;
  // Past midnight: the evening part on a listed day, the morning part on the day after.
  return (
    (window.days.includes(day) && minute >= from) ||
    (window.days.includes(previousDay(day)) && minute < to)
  );
}

/** True when `now` falls in a window that applies to `siteId`. */
export function inTimeWindow(windows: readonly TimeWindow[], siteId: string, now: Date): boolean {
  const { weekday, minuteOfDay } = parisParts(now);
  return windows.some(
    (window) =>
      (window.sites === undefined || window.sites.includes(siteId)) &&
      windowOpen(window, weekday, minuteOfDay),
  );
}
