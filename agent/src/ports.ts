/**
 * The seams between the agent's parts. The decision logic (pipeline, sessions)
 * depends on these interfaces only; app.ts wires the real implementations
 * (SQLite journal and replay store, system clocks, the tunnel) and tests wire
 * the same real implementations on a temp directory, or fakes for clocks.
 */
import type { JournalEntry } from '../../protocol/src/journal-entry.js';

/** Wall clock (for issuedAt/expiresAt and journal times) and monotonic clock (for deadlines). */
export interface Clocks {
  /** Wall-clock time, ms since the epoch. Only for comparing with signed times and for display. */
  wallNowMs(): number;
  /** Monotonic time in ms (performance.now / process.hrtime); deadlines run on this alone (rule 2). */
  monoNowMs(): number;
}

/**
 * The append-only, hash-chained, signed local journal (rule 5). `append` is
 * synchronous and durable (fsync'ed) when it returns; it throws a VigieError
 * with code `journal-unwritable` when the entry could not be made durable, and
 * from then on `writable` is false until a later append succeeds.
 */
export interface Journal {
  readonly writable: boolean;
  append(type: string, data: Record<string, unknown>): JournalEntry;
}

/**
 * Command ids already seen, persisted until their expiry plus the clock-skew
 * allowance, so that a duplicate is never acted on twice, even after a restart.
 */
export interface ReplayStore {
  /** Records `id` if new and returns true; returns false when it was already recorded. Durable. */
  remember(id: string, keepUntilWallMs: number): boolean;
  /** Forgets ids whose keep-until time has passed. */
  purge(wallNowMs: number): number;
}

/**
 * Whether the box's wall clock can be trusted: it has been synchronised, and it
 * is not earlier than the build date or than the last trusted time seen.
 */
export interface ClockTrust {
  check(wallNowMs: number): { trusted: true } | { trusted: false; why: string };
}
