/**
 * The register's signed checkpoints as the ingest streams hand them out: at
 * most one new signature per `everyMs` (the configured cadence), shared by
 * every stream, so a thousand boxes catching up do not sign a thousand tree
 * heads a second. A source always gets a checkpoint over at least what was
 * there when the cadence last ran; the next batch brings a newer one.
 */
import type { Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { RegisterStore } from './register-port.js';

export class Checkpointer {
  readonly #store: RegisterStore;
  readonly #everyMs: number;
  readonly #monoNowMs: () => number;
  #latest: Checkpoint | null = null;
  #signedAtMs = Number.NEGATIVE_INFINITY;
  #pending: Promise<Checkpoint> | null = null;

  constructor(store: RegisterStore, everyMs: number, monoNowMs: () => number) {
    this.#store = store;
    this.#everyMs = everyMs;
    this.#monoNowMs = monoNowMs;
  }

  /** The latest checkpoint, signed anew when the cadence allows. */
  latest(): Promise<Checkpoint> {
    if (this.#pending) return this.#pending;
    if (this.#latest && this.#monoNowMs() - this.#signedAtMs < this.#everyMs) {
      return Promise.resolve(this.#latest);
    }
    this.#pending = this.#store
      .checkpoint()
      .then((checkpoint) => {
        this.#latest = checkpoint;
        this.#signedAtMs = this.#monoNowMs();
        return checkpoint;
      })
      .finally(() => {
        this.#pending = null;
      });
    return this.#pending;
  }
}
