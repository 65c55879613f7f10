/**
 * Counts hostile or malformed input by stable reason instead of logging each
 * one (a flood must not become a log flood). Read by tests and by `vigie sim`
 * on shutdown.
 */
export class RejectCounter {
  readonly #counts = new Map<string, number>();

  count(reason: string): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  get(reason: string): number {
    return this.#counts.get(reason) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
