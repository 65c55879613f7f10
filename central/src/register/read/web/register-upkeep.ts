/**
 * What the register's web service does on its own: re-verify every chain and
 * checkpoint periodically (and on demand, one run at a time), and purge the
 * access log past its three-year retention once a day, with the store's
 * purge record. Both run first at start. Timers are injected (tests fire
 * them by hand).
 */
import type { Logger } from '../../../../../lib/src/log.js';
import {
  ACCESS_LOG_RETENTION_MS,
  type PurgeRecord,
  type RegisterStore,
  type RegisterVerifyReport,
} from '../../register-port.js';

const DAY_MS = 86_400_000;
/** Who the daily purge is recorded as. */
export const PURGE_ACTOR = 'vigie-register-web (purge quotidienne)';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface LastVerification {
  readonly report: RegisterVerifyReport;
  readonly atMs: number;
  /** 'vérification périodique' or the login that asked. */
  readonly by: string;
}

export class RegisterUpkeep {
  readonly #handles = new Set<unknown>();
  #stopped = false;
  #last: LastVerification | null = null;
  #verifying: Promise<LastVerification> | null = null;

  constructor(
    readonly store: RegisterStore,
    readonly clocks: { wallMs(): number },
    readonly log: Logger,
    readonly timers: Timers,
    readonly verifyEveryMs: number,
  ) {}

  start(): void {
    this.#every(0, this.verifyEveryMs, () => this.verifyNow('vérification périodique'));
    this.#every(0, DAY_MS, async () => {
      const purge = await this.purgeNow();
      this.log.info('access log purged past its retention', {
        removed: purge.removed,
        id: purge.id,
      });
    });
  }

  /** Cancels what is scheduled and waits for a verification under way; safe twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const handle of this.#handles) this.timers.clearTimeout(handle);
    this.#handles.clear();
    await this.#verifying?.catch(() => undefined);
  }

  /** The last verification, or null before the first one ends. */
  get last(): LastVerification | null {
    return this.#last;
  }

  /** Re-checks every chain and checkpoint now (one run at a time). */
  verifyNow(by: string): Promise<LastVerification> {
    this.#verifying ??= (async () => {
      try {
        const report = await this.store.verifyAll();
        const last = { report, atMs: this.clocks.wallMs(), by };
        this.#last = last;
        if (!report.ok) {
          this.log.error('register verification found problems', undefined, {
            problems: report.problems.length,
            first: report.problems[0],
          });
        }
        return last;
      } finally {
        this.#verifying = null;
      }
    })();
    return this.#verifying;
  }

  /** Removes access-log entries past three years, with the store's purge record. */
  purgeNow(): Promise<PurgeRecord> {
    return this.store.purgeAccessLog(this.clocks.wallMs() - ACCESS_LOG_RETENTION_MS, PURGE_ACTOR);
  }

  /** Runs `task` after `firstMs`, then every `everyMs`, until stop; failures are logged. */
  #every(firstMs: number, everyMs: number, task: () => Promise<unknown>): void {
    if (this.#stopped) return;
    const handle = this.timers.setTimeout(() => {
      this.#handles.delete(handle);
      task()
        .catch((err: unknown) => this.log.error('register upkeep task failed', err))
        .finally(() => this.#every(everyMs, everyMs, task));
    }, firstMs);
    this.#handles.add(handle);
  }
}
