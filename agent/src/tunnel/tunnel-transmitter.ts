/**
 * The Transmitter of a real box: one outbound tunnel (TLS 1.3, mTLS) per
 * session, to the relay the policy names for the session's recipient (issue
 * 5). It resolves `open` only on the relay's Accepted (rule 3), carries the
 * session's media through the MediaFeeds port, reports what comes down
 * (viewers, intervention over, Close, a tunnel lost past its grace) through
 * TunnelCallbacks, and leaves nothing behind on close.
 */
import type { TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Logger } from '../../../lib/src/log.js';
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import type { CameraDirectory, MediaFeeds } from '../media/feed.js';
import type { Clocks } from '../ports.js';
import { systemTimers, type Timers } from '../sessions/timers.js';
import type {
  OpenOutcome,
  SessionTicket,
  Transmitter,
  TunnelCallbacks,
} from '../sessions/transmitter.js';
import { TunnelLink } from './tunnel-link.js';

export interface TunnelTransmitterOptions {
  /** The box's own TLS material (its certificate and key authenticate it to the relay). */
  readonly tls: TlsMaterial;
  /** This box, as in its certificate urn:vigie:box:<site>:<box>. */
  readonly boxId: string;
  /** The policy in force (recipient relay address, CA, server name), read at each open. */
  readonly policy: () => Policy | null;
  readonly feeds: MediaFeeds;
  readonly cameras: CameraDirectory;
  /** Where closes and viewer events go: the SessionManager (closeSession, recordTunnelEvent). */
  readonly callbacks: TunnelCallbacks;
  readonly clocks: Clocks;
  readonly timers?: Timers;
  readonly log?: Logger;
  /** A lost tunnel not redialled within this closes the session (tunnel-lost); default 10 000 ms. */
  readonly graceMs?: number;
  /** Wait between redials; default 500 ms. */
  readonly redialDelayMs?: number;
}

export class TunnelTransmitter implements Transmitter {
  readonly #o: TunnelTransmitterOptions;
  readonly #links = new Map<string, TunnelLink>();

  constructor(options: TunnelTransmitterOptions) {
    this.#o = options;
  }

  /** Sessions with a tunnel object (open or redialling). */
  get sessionIds(): readonly string[] {
    return [...this.#links.keys()];
  }

  /** Fragments dropped by back-pressure, per camera, for a live session. */
  drops(sessionId: string): Readonly<Record<string, number>> {
    return this.#links.get(sessionId)?.gate.dropped ?? {};
  }

  connected(sessionId: string): boolean {
    return this.#links.get(sessionId)?.connected ?? false;
  }

  async open(ticket: SessionTicket): Promise<OpenOutcome> {
    const recipient = this.#o.policy()?.recipients.find((r) => r.id === ticket.recipient);
    if (!recipient) {
      const detail = `recipient ${ticket.recipient} is not in the policy in force`;
      return { accepted: false, reason: 'relay-unreachable', detail };
    }
    if (this.#links.has(ticket.sessionId)) {
      return { accepted: false, reason: 'relay-rejected', detail: 'a tunnel is already open' };
    }
    const link = new TunnelLink(ticket, recipient, {
      ...this.#o,
      timers: this.#o.timers ?? systemTimers,
      graceMs: this.#o.graceMs ?? 10_000,
      redialDelayMs: this.#o.redialDelayMs ?? 500,
    });
    this.#links.set(ticket.sessionId, link);
    const outcome = await link.open().catch((err: unknown) => ({
      accepted: false as const,
      reason: 'relay-unreachable' as const,
      detail: err instanceof Error ? err.message : String(err),
    }));
    if (!outcome.accepted) await this.close(ticket.sessionId, 'relay-closed');
    return outcome;
  }

  opened(sessionId: string, openedMonoMs: number): void {
    this.#links.get(sessionId)?.setOpenedAt(openedMonoMs);
  }

  extend(sessionId: string, envelopeBytes: Buffer, ttlSec: number, openedMonoMs: number): void {
    this.#links.get(sessionId)?.extend(envelopeBytes, ttlSec, openedMonoMs);
  }

  async close(sessionId: string, reason: CloseReason): Promise<void> {
    const link = this.#links.get(sessionId);
    if (!link) return;
    this.#links.delete(sessionId);
    try {
      await link.close(reason);
    } catch (err) {
      this.#o.log?.error('tunnel close failed', err, { sessionId });
    }
  }

  /** Closes every tunnel (shutdown); the SessionManager normally does it session by session. */
  async stop(): Promise<void> {
    await Promise.all([...this.#links.keys()].map((id) => this.close(id, 'shutdown')));
  }
}
