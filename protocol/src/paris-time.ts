/**
 * Europe/Paris calendar arithmetic. Times are stored in UTC; the convention's
 * dates and the time windows are French local dates and hours, so they are
 * read in Europe/Paris (with its daylight-saving changes) through Intl.
 */
export const PARIS = 'Europe/Paris';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: PARIS,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  weekday: 'short',
});

export interface ParisParts {
  readonly date: string; // YYYY-MM-DD
  readonly weekday: Weekday;
  readonly minuteOfDay: number; // 0..1439
  readonly wallMs: number; // the wall-clock time read as if it were UTC
}

export function parisParts(instant: Date): ParisParts {
  const parts: Record<string, string> = {};
  for (const part of PARTS.formatToParts(instant)) parts[part.type] = part.value;
  const [y, mo, d, h, mi, s] = ['year', 'month', 'day', 'hour', 'minute', 'second'].map((k) =>
    Number(parts[k]),
  );
  const weekday = (parts.weekday ?? '').toLowerCase().slice(0, 3) as Weekday;
  const wallMs =
    Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0) + instant.getUTCMilliseconds();
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday,
    minuteOfDay: (h ?? 0) * 60 + (mi ?? 0),
    wallMs,
  };
}

/** Offset of Paris from UTC at `instant`, in milliseconds (+1h or +2h). */
export function parisOffsetMs(instant: Date): number {
  return parisParts(instant).wallMs - instant.getTime();
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
