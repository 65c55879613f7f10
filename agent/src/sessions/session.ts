/**
 * One transmission session: one object, one exit (STYLE, after Teleport's
 * monitor). `close(reason)` is idempotent and the only way out; the TTL
 * deadline, close commands, close-all, revocation, convention lapse and
 * shutdown all call it. It closes first (the `exit` hook stops the tunnel),
 * then journals the reason, also through the hook.
 *
 * The deadline runs on the monotonic clock (rule 2): a timer is armed for the
 * time left, and when it fires the monotonic clock is asked again, so a timer
 * that fires early re-arms and a wall-clock jump changes nothing.
 */
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import type { Trigger } from '../../../protocol/src/commands.js';
import type { Purpose } from '../../../protocol/src/purposes.js';
import type { Clocks } from '../ports.js';
import type { Timers } from './timers.js';

export interface SessionSpec {
  readonly sessionId: string;
  readonly commandId: string;
  readonly kid: string;
  readonly recipient: string;
  readonly cameras: readonly string[];
  readonly purpose: Purpose;
  readonly trigger: Trigger;
  readonly callRef: string;
  readonly ttlSec: number;
}

export type SessionState = 'opening' | 'open' | 'closed';

/** Stops the tunnel, then journals; must not reject (errors are its own to report). */
export type SessionExit = (session: Session, reason: CloseReason) => Promise<void>;

export interface SessionDeps {
  readonly clocks: Clocks;
  readonly timers: Timers;
  readonly exit: SessionExit;
}

export class Session {
  readonly spec: SessionSpec;
  readonly openedMonoMs: number;
  /** Resolves with the reason once the session is closed and the reason journaled. */
  readonly closed: Promise<CloseReason>;
  readonly #deps: SessionDeps;
  #ttlSec: number;
  #state: SessionState = 'opening';
  #closeReason: CloseReason | null = null;
  #closing: Promise<CloseReason> | null = null;
  #timer: unknown = null;
  #resolveClosed: (reason: CloseReason) => void = () => undefined;

  constructor(spec: SessionSpec, deps: SessionDeps) {
    this.spec = spec;
    this.#deps = deps;
    this.#ttlSec = spec.ttlSec;
    this.openedMonoMs = deps.clocks.monoNowMs();
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Arms the deadline; the manager calls it once the session is registered. */
  start(): void {
    if (this.#state !== 'closed' && this.#timer === null) this.#arm();
  }

  get id(): string {
    return this.spec.sessionId;
  }
  get state(): SessionState {
    return this.#state;
  }
  get ttlSec(): number {
    return this.#ttlSec;
  }
  get closeReason(): CloseReason | null {
    return this.#closeReason;
  }
  get deadlineMonoMs(): number {
    return this.openedMonoMs + this.#ttlSec * 1000;
  }
  get elapsedSec(): number {
    return Math.max(0, (this.#deps.clocks.monoNowMs() - this.openedMonoMs) / 1000);
  }
  get remainingMs(): number {
    return Math.max(0, this.deadlineMonoMs - this.#deps.clocks.monoNowMs());
  }

  /** The relay accepted (rule 3). No effect once closed. */
  markOpen(): void {
    if (this.#state === 'opening') this.#state = 'open';
  }

  /**
   * Sets a new total lifetime counted from the opening (docs/protocol.md); the
   * caller has checked the caps. A lifetime already elapsed closes at once.
   */
  setTtl(ttlSec: number): void {
    if (this.#state === 'closed') return;
    this.#ttlSec = ttlSec;
    this.#arm();
  }

  close(reason: CloseReason): Promise<CloseReason> {
    if (this.#closing) return this.#closing;
    this.#state = 'closed';
    this.#closeReason = reason;
    this.#disarm();
    this.#closing = this.#deps.exit(this, reason).then(
      () => this.#settle(reason),
      // The exit hook reports its own errors; this only keeps `closed` settling.
      () => this.#settle(reason),
    );
    return this.#closing;
  }

  #settle(reason: CloseReason): CloseReason {
    this.#resolveClosed(reason);
    return reason;
  }

  #arm(): void {
    this.#disarm();
    const leftMs = this.deadlineMonoMs - this.#deps.clocks.monoNowMs();
    if (leftMs <= 0) {
      void this.close('ttl-expired');
      return;
    }
    this.#timer = this.#deps.timers.setTimeout(() => this.#onTimer(), leftMs);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onTimer(): void {
    this.#timer = null;
    if (this.#state === 'closed') return;
    // Re-arm if the timer fired before the monotonic deadline.
    this.#arm();
  }
}
