/**
 * The port through which a session reaches the recipient's relay. `open`
 * resolves once the relay has accepted at application level (rule 3: only
 * then is the session journaled as opened). Until the live-view issue lands,
 * LocalTrackingTransmitter accepts at once and only tracks what is open.
 */
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import type { Timers } from './timers.js';

export interface SessionTicket {
  readonly sessionId: string;
  readonly recipient: string;
  readonly cameras: readonly string[];
  /** The exact signed `session.open` payload bytes (what the operator's key signed). */
  readonly payloadBytes: Buffer;
  /** The whole signed `session.open` envelope as received: the relay verifies it itself (rule 6). */
  readonly envelopeBytes: Buffer;
  readonly ttlSec: number;
}

export type OpenOutcome =
  | { readonly accepted: true }
  | {
      readonly accepted: false;
      readonly reason: 'relay-unreachable' | 'relay-rejected';
      readonly detail: string;
    };

export interface Transmitter {
  open(ticket: SessionTicket): Promise<OpenOutcome>;
  /** Tears the tunnel down. Must not reject; it is called from the one exit of a session. */
  close(sessionId: string, reason: CloseReason): Promise<void>;
  /**
   * The session was extended: the signed `session.extend` envelope goes to the
   * relay, which verifies it and moves its own deadline. Optional: a
   * transmitter without a relay has nothing to tell.
   */
  /** The session's opening on the monotonic clock: the redial window ends at its deadline. */
  opened?(sessionId: string, openedMonoMs: number): void;
  extend?(sessionId: string, envelopeBytes: Buffer, ttlSec: number, openedMonoMs: number): void;
}

/**
 * What a tunnel reports back into the session logic (the SessionManager
 * implements it): a session to close for a reason the relay or the link gave,
 * and viewer joins and leaves for the box's journal.
 */
export interface TunnelCallbacks {
  closeSession(sessionId: string, reason: CloseReason): void;
  viewerEvent(sessionId: string, event: ViewerEvent): void;
}

export type ViewerEvent =
  | {
      readonly kind: 'joined';
      readonly viewerId: string;
      readonly viewerName: string;
      readonly time: string;
    }
  | { readonly kind: 'left'; readonly viewerId: string; readonly time: string }
  | {
      readonly kind: 'intervention-over';
      readonly viewerId: string;
      readonly time: string;
      readonly note: string;
    }
  | { readonly kind: 'redialed'; readonly attempt: number }
  | { readonly kind: 'media-drops'; readonly dropped: Readonly<Record<string, number>> };

export class LocalTrackingTransmitter implements Transmitter {
  readonly #open = new Set<string>();

  get openSessionIds(): readonly string[] {
    return [...this.#open];
  }

  open(ticket: SessionTicket): Promise<OpenOutcome> {
    this.#open.add(ticket.sessionId);
    return Promise.resolve({ accepted: true });
  }

  close(sessionId: string): Promise<void> {
    this.#open.delete(sessionId);
    return Promise.resolve();
  }
}

/**
 * Asks the relay, with a deadline: a relay that neither accepts nor refuses
 * counts as unreachable (the caller then closes the session: tunnel-lost).
 */
export async function openWithTimeout(
  transmitter: Transmitter,
  ticket: SessionTicket,
  timers: Timers,
  timeoutMs: number,
): Promise<OpenOutcome> {
  let timer: unknown = null;
  const timeout = new Promise<OpenOutcome>((resolve) => {
    const detail = `relay did not accept within ${timeoutMs} ms`;
    timer = timers.setTimeout(
      () => resolve({ accepted: false, reason: 'relay-unreachable', detail }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([transmitter.open(ticket), timeout]);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { accepted: false, reason: 'relay-unreachable', detail };
  } finally {
    timers.clearTimeout(timer);
  }
}
