/**
 * A token bucket: at most `ratePerSec` events a second on average, bursts up to
 * `ratePerSec`. Flood limits of the discovery sockets use it, on the monotonic
 * clock they are given.
 */
export class TokenBucket {
  #tokens: number;
  #lastRefillMs: number;

  constructor(
    readonly ratePerSec: number,
    readonly nowMs: () => number,
  ) {
    this.#tokens = ratePerSec;
    this.#lastRefillMs = nowMs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.nowMs();
    const refill = ((now - this.#lastRefillMs) * this.ratePerSec) / 1000;
    this.#tokens = Math.min(this.ratePerSec, this.#tokens + refill);
    this.#lastRefillMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
