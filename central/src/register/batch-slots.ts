/**
 * How many sources may have a batch in the register's memory at once. The
 * store writes one batch at a time anyway (one writer), so a thousand boxes
 * catching up after an outage gain nothing from a thousand half-received
 * batches held together: a stream takes a slot at the first entry of a batch
 * and gives it back once the batch is judged; without a slot it stays paused
 * and HTTP/2 flow control holds its box back. First come, first served.
 */
export class BatchSlots {
  readonly #waiting: (() => void)[] = [];
  #free: number;

  constructor(slots: number) {
    this.#free = slots;
  }

  /** Resolves with the function that gives the slot back (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
