/**
 * A MediaSink that records what it is given and lets a test wait, with a
 * bounded timeout, for a condition on what it has recorded (checked at each
 * event: no polling, no sleeps).
 */
import type { MediaFragment, MediaInit, MediaSink } from '../../../agent/src/media/feed.js';

export type SinkEvent =
  | { kind: 'init'; at: number; init: MediaInit }
  | { kind: 'fragment'; at: number; fragment: MediaFragment }
  | { kind: 'problem'; at: number; camera: string; detail: string };

export class RecordingSink implements MediaSink {
  readonly events: SinkEvent[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  /** Called synchronously on every fragment, e.g. to check a bound at that instant. */
  onFragment: (f: MediaFragment) => void = () => undefined;

  init(init: MediaInit): void {
    this.#record({ kind: 'init', at: performance.now(), init });
  }
  fragment(fragment: MediaFragment): void {
    this.onFragment(fragment);
    this.#record({ kind: 'fragment', at: performance.now(), fragment });
  }
  problem(camera: string, detail: string): void {
    this.#record({ kind: 'problem', at: performance.now(), camera, detail });
  }

  get fragments(): MediaFragment[] {
    return this.events.flatMap((e) => (e.kind === 'fragment' ? [e.fragment] : []));
  }
  get inits(): MediaInit[] {
    return this.events.flatMap((e) => (e.kind === 'init' ? [e.init] : []));
  }
  get problems(): string[] {
    return this.events.flatMap((e) => (e.kind === 'problem' ? [e.detail] : []));
  }

  /** Resolves once `check()` holds, rejects after `timeoutMs` naming `what`. */
  waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        const seen = this.events.map((e) => e.kind).join(',');
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${seen}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #record(event: SinkEvent): void {
    this.events.push(event);
    const ready = this.#waiters.filter((w) => w.check());
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** True when no process has that pid any more (ESRCH), false while it lives. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Whether `pid` dies within `timeoutMs`. A grandchild killed with its process
 * group is not our child, so no event tells us of its death: this checks every
 * 10 ms, bounded (the kernel finishes such a kill within milliseconds).
 */
export async function goneWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!processGone(pid)) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
