/**
 * Europe/Paris calendar arithmetic. Times are stored in UTC; the convention's
 * dates and the time windows are French local dates and hours, so they are
 * read in Europe/Paris, with its daylight-saving changes.
 *
 * The rule is computed, not looked up through Intl: in force in France since
 * 1996 (EU Directive 2000/84/EC), summer time (UTC+2) runs from the last
 * Sunday of March, 01:00 UTC, to the last Sunday of October, 01:00 UTC;
 * otherwise UTC+1. Asking Intl for a time zone maps ICU's zone and locale
 * data into the process (measured: +8.5 MB RSS), which the edge box cannot
 * afford for two numbers. test/protocol/paris-time.test.ts compares this rule
 * with ICU's tz data, so a change of the law (or of ICU) shows up as a failure.
 */
export const PARIS = 'Europe/Paris';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HOUR_MS = 3_600_000;

/** 01:00 UTC on the last Sunday of `month` (0-based) of `year`. */
function lastSundayAt1Utc(year: number, month: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  const day = lastDay.getUTCDate() - lastDay.getUTCDay();
  return Date.UTC(year, month, day, 1);
}

export interface ParisParts {
  readonly date: string; // YYYY-MM-DD
  readonly weekday: Weekday;
  readonly minuteOfDay: number; // 0..1439
  readonly wallMs: number; // the wall-clock time read as if it were UTC
}

export function parisParts(instant: Date): ParisParts {
  const wallMs = instant.getTime() + parisOffsetMs(instant);
  const wall = new Date(wallMs);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return {
    date: `${String(wall.getUTCFullYear()).padStart(4, '0')}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`,
    weekday: WEEKDAYS[(wall.getUTCDay() + 6) % 7] as Weekday,
    minuteOfDay: wall.getUTCHours() * 60 + wall.getUTCMinutes(),
    wallMs,
  };
}

/** Offset of Paris from UTC at `instant`, in milliseconds (+1h or +2h). */
export function parisOffsetMs(instant: Date): number {
  const t = instant.getTime();
  const year = instant.getUTCFullYear();
  const summer = t >= lastSundayAt1Utc(year, 2) && t < lastSundayAt1Utc(year, 9);
  return (summer ? 2 : 1) * HOUR_MS;
}

/** The UTC instant of 00:00 Europe/Paris on `date` (YYYY-MM-DD). DST never changes at midnight in France. */
export function parisMidnight(date: string): Date {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 1);
  const first = wall - parisOffsetMs(new Date(wall));
  return new Date(wall - parisOffsetMs(new Date(first)));
}

/** Adds calendar months to a YYYY-MM-DD date, clamping the day (31 Aug + 6 months = 28/29 Feb). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const total = (y ?? 0) * 12 + ((m ?? 1) - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(d ?? 1, lastDay);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** "2025-09-20 00:00 (UTC+02:00)": Paris wall time with its offset, for people. */
export function formatParis(instant: Date): string {
  const parts = parisParts(instant);
  const offsetMin = Math.round(parisOffsetMs(instant) / 60000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(parts.minuteOfDay / 60)).padStart(2, '0');
  const mm = String(parts.minuteOfDay % 60).padStart(2, '0');
  const offset = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.date} ${hh}:${mm} (UTC${sign}${offset})`;
}
