/**
 * Counts the broker's refusals by stage, for `stats()` and for the tests that
 * check a refusal happened (rather than a message merely not arriving yet).
 */
export const REFUSAL_STAGES = ['tls', 'connect', 'subscribe', 'publish'] as const;
export type RefusalStage = (typeof REFUSAL_STAGES)[number];
export type RefusalCounts = Readonly<Record<RefusalStage, number>>;

export class RefusalCounter {
  readonly #counts: Record<RefusalStage, number> = { tls: 0, connect: 0, subscribe: 0, publish: 0 };

  add(stage: RefusalStage): void {
    this.#counts[stage] += 1;
  }

  snapshot(): RefusalCounts {
    return { ...this.#counts };
  }
}
