/**
 * Login failures counted per viewer id and per client address over a sliding
 * window. Beyond the limit the login is refused before any password check, so
 * guessing costs the attacker time and costs the relay no scrypt. The tables
 * are bounded: beyond `maxKeys` the oldest entries go.
 */
import type { WebClock } from './web-clock.js';

export interface LoginLimiterOptions {
  maxFailuresPerViewer: number;
  maxFailuresPerIp: number;
  windowSec: number;
  clock: WebClock;
  maxKeys?: number; // default 10_000 per table
}

class FailureTable {
  readonly #failures = new Map<string, number[]>(); // monotonic ms of each failure

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxKeys: number,
  ) {}

  #recent(key: string, now: number): number[] {
    const times = (this.#failures.get(key) ?? []).filter((at) => now - at < this.windowMs);
    if (times.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, times);
    return times;
  }

  blocked(key: string, now: number): boolean {
    return this.#recent(key, now).length >= this.limit;
  }

  record(key: string, now: number): void {
    const times = this.#recent(key, now);
    this.#failures.delete(key); // re-insert: the map's order is the age of last failure
    this.#failures.set(key, [...times, now].slice(-this.limit));
    while (this.#failures.size > this.maxKeys) {
      const oldest = this.#failures.keys().next().value;
      if (oldest === undefined) break;
      this.#failures.delete(oldest);
    }
  }

  clear(key: string): void {
    this.#failures.delete(key);
  }
}

export class LoginLimiter {
  readonly #byViewer: FailureTable;
  readonly #byIp: FailureTable;

  constructor(readonly options: LoginLimiterOptions) {
    const windowMs = options.windowSec * 1000;
    const maxKeys = options.maxKeys ?? 10_000;
    this.#byViewer = new FailureTable(options.maxFailuresPerViewer, windowMs, maxKeys);
    this.#byIp = new FailureTable(options.maxFailuresPerIp, windowMs, maxKeys);
  }

  /** Whether a login attempt for this viewer id from this address may be checked at all. */
  allowed(viewerId: string, ip: string): boolean {
    const now = this.options.clock.monoMs();
    return !this.#byViewer.blocked(viewerId, now) && !this.#byIp.blocked(ip, now);
  }

  failed(viewerId: string, ip: string): void {
    const now = this.options.clock.monoMs();
    this.#byViewer.record(viewerId, now);
    this.#byIp.record(ip, now);
  }

  succeeded(viewerId: string): void {
    this.#byViewer.clear(viewerId);
  }
}
