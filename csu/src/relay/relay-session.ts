/**
 * One live session on the relay: one object, one exit (STYLE). The relay's own
 * deadline runs on its monotonic clock from the moment it accepted; when it
 * passes, the relay sends Close{ttl-expired} and ends the call whatever the box
 * does (rule 6). A tunnel that drops without Bye may be redialled with the
 * same ticket from the same box for `redialGraceMs`, never past the deadline.
 */
import type { Clocks } from '../../../agent/src/ports.js';
import type { Timers } from '../../../agent/src/sessions/timers.js';
import type { Logger } from '../../../lib/src/log.js';
import type { TunnelDown } from '../../../protocol/src/tunnel-proto.js';
import type { RelayTunnelStream as TunnelServerCall } from '../../../protocol/src/tunnel-wire.js';
import type { LiveSessionInfo } from '../live-sessions.js';
import { CameraBuffer, type CameraBufferLimits } from './camera-buffer.js';

export interface RelaySessionDeps {
  readonly clocks: Clocks;
  readonly timers: Timers;
  readonly limits: CameraBufferLimits & { readonly redialGraceMs: number };
  readonly log?: Logger;
  /** Called once, after the session let go of everything. */
  readonly onClosed: (session: RelaySession, reason: string) => void;
}

export interface RelaySessionSpec {
  readonly info: Omit<LiveSessionInfo, 'expiresAtMs' | 'openedAtMs'>;
  readonly ticketCommandId: string;
  /** The ticket's expiresAt + skew: until then its id must stay in the closed set. */
  readonly ticketKeepUntilMs: number;
  readonly ttlSec: number;
}

export class RelaySession {
  readonly spec: RelaySessionSpec;
  readonly openedMonoMs: number;
  readonly openedWallMs: number;
  readonly cameras: ReadonlyMap<string, CameraBuffer>;
  readonly #deps: RelaySessionDeps;
  #ttlSec: number;
  #call: TunnelServerCall | null = null;
  #deadlineTimer: unknown = null;
  #graceTimer: unknown = null;
  #closeReason: string | null = null;
  readonly #extensions = new Set<string>();

  constructor(spec: RelaySessionSpec, deps: RelaySessionDeps) {
    this.spec = spec;
    this.#deps = deps;
    this.#ttlSec = spec.ttlSec;
    this.openedMonoMs = deps.clocks.monoNowMs();
    this.openedWallMs = deps.clocks.wallNowMs();
    this.cameras = new Map(
      spec.info.cameras.map((c) => [c.id, new CameraBuffer(c.id, deps.limits)]),
    );
  }

  get id(): string {
    return this.spec.info.sessionId;
  }
  get closed(): boolean {
    return this.#closeReason !== null;
  }
  get closeReason(): string | null {
    return this.#closeReason;
  }
  get ttlSec(): number {
    return this.#ttlSec;
  }
  get deadlineMonoMs(): number {
    return this.openedMonoMs + this.#ttlSec * 1000;
  }
  get expiresAtMs(): number {
    return this.openedWallMs + this.#ttlSec * 1000;
  }
  get attached(): boolean {
    return this.#call !== null;
  }
  get info(): LiveSessionInfo {
    return { ...this.spec.info, openedAtMs: this.openedWallMs, expiresAtMs: this.expiresAtMs };
  }
  /** Bytes held for late joiners, across cameras (bounded by the limits). */
  get heldBytes(): number {
    let n = 0;
    for (const c of this.cameras.values()) n += c.heldBytes;
    return n;
  }

  /** True while a redial may still attach: live, and before the deadline. */
  acceptsRedial(): boolean {
    return !this.closed && this.#deps.clocks.monoNowMs() < this.deadlineMonoMs;
  }

  /** Takes the box's (new) call; an older one is ended first. Arms the deadline on first attach. */
  attach(call: TunnelServerCall): void {
    if (this.closed) return;
    const previous = this.#call;
    this.#call = call;
    if (previous !== null && previous !== call) endCall(previous);
    if (this.#graceTimer !== null) this.#deps.timers.clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    if (this.#deadlineTimer === null) this.#arm();
  }

  /** The call dropped without Bye: wait for a redial, at most the grace, never past the deadline. */
  detach(call: TunnelServerCall): void {
    if (this.closed || this.#call !== call) return;
    this.#call = null;
    const leftMs = Math.min(
      this.#deps.limits.redialGraceMs,
      this.deadlineMonoMs - this.#deps.clocks.monoNowMs(),
    );
    this.#deps.log?.warn('tunnel dropped; waiting for a redial', {
      sessionId: this.id,
      graceMs: leftMs,
    });
    this.#graceTimer = this.#deps.timers.setTimeout(
      () => {
        this.#graceTimer = null;
        this.close('tunnel-lost');
      },
      Math.max(0, leftMs),
    );
  }

  /** A verified extension, once per command id: the new total lifetime (capped by the caller). */
  extend(commandId: string, ttlSec: number): boolean {
    if (this.closed || this.#extensions.has(commandId)) return false;
    this.#extensions.add(commandId);
    this.#ttlSec = ttlSec;
    this.#arm();
    return true;
  }

  send(message: TunnelDown): boolean {
    if (this.closed || this.#call === null) return false;
    this.#call.write(message);
    return true;
  }

  /**
   * The one exit: tell the box (unless it said Bye), end the call, end every
   * viewer, let go of every byte. Idempotent.
   */
  close(reason: string, options: { fromBox?: boolean } = {}): void {
    if (this.closed) return;
    this.#closeReason = reason;
    this.#disarm();
    if (this.#graceTimer !== null) this.#deps.timers.clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    const call = this.#call;
    this.#call = null;
    if (call !== null) {
      if (!options.fromBox) safeWrite(call, { close: { reason } });
      endCall(call);
    }
    for (const camera of this.cameras.values()) camera.end(reason);
    this.#deps.log?.info('session closed', { sessionId: this.id, reason });
    this.#deps.onClosed(this, reason);
  }

  #arm(): void {
    this.#disarm();
    const leftMs = this.deadlineMonoMs - this.#deps.clocks.monoNowMs();
    if (leftMs <= 0) {
      this.close('ttl-expired');
      return;
    }
    this.#deadlineTimer = this.#deps.timers.setTimeout(() => {
      this.#deadlineTimer = null;
      // Re-asks the monotonic clock: a timer that fired early re-arms.
      this.#arm();
    }, leftMs);
  }

  #disarm(): void {
    if (this.#deadlineTimer !== null) this.#deps.timers.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
  }
}

function safeWrite(call: TunnelServerCall, message: TunnelDown): void {
  try {
    call.write(message);
  } catch (err) {
    // The call is already gone: ending it below is all that is left to do.
    void err;
  }
}

/** Ends the call from the relay's side: status OK, then the HTTP/2 stream is closed. */
export function endCall(call: TunnelServerCall): void {
  try {
    call.end();
  } catch (err) {
    void err; // already ended or cancelled: nothing more to end
  }
}
