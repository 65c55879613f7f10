/**
 * Whether the wall clock may be believed (issue 3: "a box whose clock is not
 * trusted refuses to open and raises an alarm"). Untrusted when:
 * - it is not synchronised (NTP). On Linux the caller reads
 *   `timedatectl show -p NTPSynchronized` and caches it; here it is a function;
 * - it is earlier than the build date (an RTC without battery boots in 1970 or 2000);
 * - it is earlier than the last trusted time persisted (a clock set back would
 *   make expired commands fresh again and revive a revoked key).
 * Each change to untrusted raises one alarm value, which the caller journals.
 */
import type { ClockTrust } from '../ports.js';

/** Where the last trusted wall time survives restarts (a small file under the data directory). */
export interface TrustedTimeStore {
  get(): number | null;
  set(wallMs: number): void;
}

export interface ClockAlarm {
  readonly alarm: 'clock-untrusted';
  readonly severity: 'warning' | 'critical';
  readonly detail: string;
}

export interface ClockTrustOptions {
  readonly isSynced: () => boolean;
  /** The build date, ms since the epoch: no real "now" can be earlier. */
  readonly buildTimeMs: number;
  readonly lastTrusted: TrustedTimeStore;
  readonly onAlarm?: (alarm: ClockAlarm) => void;
  /** Persist the last trusted time at most this often; default 60 000 ms (one write a minute). */
  readonly persistEveryMs?: number;
}

export type TrustVerdict = { trusted: true } | { trusted: false; why: string };

export class ClockTrustChecker implements ClockTrust {
  readonly #opts: ClockTrustOptions;
  readonly #persistEveryMs: number;
  #lastPersistedMs: number | null;
  #wasTrusted: boolean | null = null;

  constructor(options: ClockTrustOptions) {
    this.#opts = options;
    this.#persistEveryMs = options.persistEveryMs ?? 60_000;
    this.#lastPersistedMs = options.lastTrusted.get();
  }

  check(wallNowMs: number): TrustVerdict {
    const verdict = this.#judge(wallNowMs);
    if (verdict.trusted) this.#persist(wallNowMs);
    else if (this.#wasTrusted !== false) this.#opts.onAlarm?.(alarmFor(verdict.why));
    this.#wasTrusted = verdict.trusted;
    return verdict;
  }

  #judge(wallNowMs: number): TrustVerdict {
    let synced: boolean;
    try {
      synced = this.#opts.isSynced();
    } catch (err) {
      // Not knowing is not being synchronised.
      return { trusted: false, why: `synchronisation state unknown (${String(err)})` };
    }
    if (!synced) return { trusted: false, why: 'not synchronised (NTP)' };
    const now = new Date(wallNowMs).toISOString();
    if (wallNowMs < this.#opts.buildTimeMs) {
      const build = new Date(this.#opts.buildTimeMs).toISOString();
      return { trusted: false, why: `time ${now} is earlier than the build date ${build}` };
    }
    const last = this.#lastPersistedMs;
    if (last !== null && wallNowMs < last) {
      const seen = new Date(last).toISOString();
      return { trusted: false, why: `time ${now} is earlier than the last trusted time ${seen}` };
    }
    return { trusted: true };
  }

  #persist(wallNowMs: number): void {
    const last = this.#lastPersistedMs;
    if (last !== null && wallNowMs - last < this.#persistEveryMs) return;
    this.#lastPersistedMs = wallNowMs;
    try {
      this.#opts.lastTrusted.set(wallNowMs);
    } catch (err) {
      // Trust does not depend on the write (the in-memory value still guards
      // this boot), but a person must know that the guard will not survive a restart.
      this.#opts.onAlarm?.(alarmFor(`last trusted time not persisted: ${String(err)}`, 'warning'));
    }
  }
}

function alarmFor(why: string, severity: ClockAlarm['severity'] = 'critical'): ClockAlarm {
  return { alarm: 'clock-untrusted', severity, detail: why.slice(0, 500) };
}
