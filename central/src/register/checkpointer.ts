/**
 * The register's signed checkpoints as the ingest streams hand them out: at
 * most one new signature per `everyMs` (the configured cadence), shared by
 * every stream, so a thousand boxes catching up do not sign a thousand tree
 * heads a second. A source gets the latest checkpoint when it covers the
 * entry just acknowledged (its inclusion is proven against it), a fresh one
 * otherwise (fresh(): signings stay one at a time, shared by the waiters).
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
  #queued: Promise<Checkpoint> | null = null;

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
    return this.#sign();
  }

  /**
   * A checkpoint whose signing started after this call: it covers everything
   * stored before (a stream whose Ack the latest one does not cover yet). One
   * signing at a time; the callers waiting meanwhile share the next one.
   */
  fresh(): Promise<Checkpoint> {
    if (this.#queued) return this.#queued;
    const running = this.#pending;
    if (!running) return this.#sign();
    const settled = (): void => undefined;
    this.#queued = running.then(settled, settled).then(() => {
      this.#queued = null;
      // Started once `running` finished; one that began just before this call may miss
      // the caller's entry: the caller asks again then (ingest-stream.ts, bounded).
      return this.#pending ?? this.#sign();
    });
    return this.#queued;
  }

  #sign(): Promise<Checkpoint> {
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
