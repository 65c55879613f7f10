/**
 * Durations as operators type them: "20m", "90s", "1h30m", "1h". A bare
 * number is refused: seconds or minutes would be a guess, and a guess here is a
 * transmission that lasts sixty times too long.
 */
import { VigieError } from '../../../lib/src/errors.js';

const PART = /(\d+)(h|m|s)/g;
const WHOLE = /^(\d+(h|m|s))+$/;
const UNIT_SEC = { h: 3600, m: 60, s: 1 } as const;

export function parseDurationSec(text: string, what = 'duration'): number {
  const t = text.trim().toLowerCase();
  if (!WHOLE.test(t)) {
    throw new VigieError(
      'config-invalid',
      `${what} ${JSON.stringify(text)} is not a duration: write e.g. 20m, 90s or 1h30m`,
    );
  }
  let total = 0;
  for (const [, n, unit] of t.matchAll(PART))
    total += Number(n) * UNIT_SEC[unit as 'h' | 'm' | 's'];
  return total;
}

/** 1830 -> "30 min 30 s"; for people. */
export function formatDuration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''];
  return parts.filter(Boolean).join(' ');
}
