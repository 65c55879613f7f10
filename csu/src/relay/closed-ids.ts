/**
 * Session ids closed on this relay, kept at least until their ticket can no
 * longer pass the freshness check (expiresAt + skew): past that, a replayed
 * ticket is refused as stale anyway. Bounded: beyond `maxIds` the oldest goes
 * first (the freshness check still covers it once expired).
 */
export class ClosedIds {
  readonly #keepUntil = new Map<string, number>();
  readonly #maxIds: number;

  constructor(maxIds: number) {
    this.#maxIds = maxIds;
  }

  get size(): number {
    return this.#keepUntil.size;
  }

  has(id: string): boolean {
    return this.#keepUntil.has(id);
  }

  add(id: string, keepUntilWallMs: number, wallNowMs: number): void {
    this.purge(wallNowMs);
    this.#keepUntil.delete(id);
    this.#keepUntil.set(id, keepUntilWallMs);
    while (this.#keepUntil.size > this.#maxIds) {
      const oldest = this.#keepUntil.keys().next();
      if (oldest.done) break;
      this.#keepUntil.delete(oldest.value);
    }
  }

  purge(wallNowMs: number): void {
    for (const [id, until] of this.#keepUntil) {
      if (until < wallNowMs) this.#keepUntil.delete(id);
    }
  }
}
