/**
 * Reconnection delays with "full jitter" (a random delay between zero and an
 * exponentially growing cap): after a central outage, a thousand boxes must
 * not all reconnect in the same second.
 */
export interface BackoffOptions {
  minMs: number; // first cap, e.g. 1 s
  maxMs: number; // cap of the cap, e.g. 60 s
  random?: () => number; // [0, 1), injected in tests
}

export class JitteredBackoff {
  #attempt = 0;
  constructor(readonly options: BackoffOptions) {}

  /** Delay before the next attempt; grows until `reset()`. Never below minMs / 2. */
  next(): number {
    const { minMs, maxMs } = this.options;
    const random = this.options.random ?? Math.random;
    const cap = Math.min(maxMs, minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.round(minMs / 2 + random() * (cap - minMs / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
