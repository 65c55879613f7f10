/**
 * Acts on verified commands and owns every live session. It enforces what the
 * pipeline cannot know alone: session ids (exists/unknown), the TTL rule, the
 * journal written before the act (rule 5) and "opened" only after the relay's
 * acceptance (rule 3). It closes sessions on close, close-all, a policy that
 * revokes what they use, convention lapse (checked periodically and on each
 * policy), a journal that stops working, and stop() (shutdown).
 */
import type { Logger } from '../../../lib/src/log.js';
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import type {
  CommandType,
  SessionClose,
  SessionExtend,
  SessionOpen,
} from '../../../protocol/src/commands.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import type { Clocks, Journal } from '../ports.js';
import { refused, type Accepted, type Refusal, type Refused } from '../pipeline/verification.js';
import { AgentEvents, type AckFields, type EventSink } from './agent-events.js';
import { JOURNAL_TYPES } from './journal-types.js';
import { policyTtlCapSec, revocationReason } from './revocation.js';
import { Session, type SessionSpec } from './session.js';
import { systemTimers, type Timers } from './timers.js';
import { admitOpen } from './open-admission.js';
import { openWithTimeout, type Transmitter, type ViewerEvent } from './transmitter.js';
import { grantTtl, ttlCaps, type CertificateBounds } from './ttl.js';

export interface SessionManagerOptions {
  readonly siteId: string;
  readonly boxId: string;
  readonly clocks: Clocks;
  readonly journal: Journal;
  readonly transmitter: Transmitter;
  readonly certificates: CertificateBounds;
  readonly timers?: Timers;
  readonly log?: Logger;
  readonly events?: EventSink;
  /** Simultaneous sessions on this box; default 8. */
  readonly maxSessions?: number;
  /** How often the convention and operator dates are re-checked; default 60 000 ms. */
  readonly sweepEveryMs?: number;
  /** How long the relay has to accept an open; default 15 000 ms. */
  readonly openTimeoutMs?: number;
}

export type HandleResult = ({ ok: true } & AckFields) | Refused;

const TUNNEL_EVENT_TYPES: Readonly<Record<ViewerEvent['kind'], string>> = {
  joined: JOURNAL_TYPES.viewerJoined,
  left: JOURNAL_TYPES.viewerLeft,
  'intervention-over': JOURNAL_TYPES.interventionOver,
  redialed: JOURNAL_TYPES.tunnelRedialed,
  'media-drops': JOURNAL_TYPES.mediaDrops,
};

/** Closed session ids kept to answer a second close and refuse a reused id. */
const CLOSED_IDS_KEPT = 10_000;

export class SessionManager {
  readonly #o: SessionManagerOptions;
  readonly #timers: Timers;
  readonly #events: AgentEvents;
  readonly #active = new Map<string, Session>();
  readonly #closedIds = new Set<string>();
  readonly #closeCommand = new Map<string, string>();
  #policy: Policy | null = null;
  #sweepTimer: unknown = null;
  #stopping: Promise<void> | null = null;

  constructor(options: SessionManagerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#events = new AgentEvents(options.siteId, options.boxId, options.clocks);
  }

  get sessions(): readonly Session[] {
    return [...this.#active.values()];
  }

  /** Ids from the journal (restart recovery): never opened again. */
  rememberSessionIds(ids: Iterable<string>): void {
    for (const id of ids) this.#rememberClosed(id);
  }

  start(): void {
    if (this.#stopping || this.#sweepTimer !== null) return;
    this.#scheduleSweep();
  }

  /** Closes every session with `shutdown`; safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#sweepTimer !== null) this.#timers.clearTimeout(this.#sweepTimer);
      this.#sweepTimer = null;
      await this.closeAll('shutdown');
    })();
    return this.#stopping;
  }

  /** A newer policy (already verified): sessions it no longer allows close at once. */
  async setPolicy(policy: Policy): Promise<void> {
    this.#policy = policy;
    await this.sweep();
  }

  /** Re-checks every session against the policy and the date; closes or shortens. */
  async sweep(): Promise<void> {
    const policy = this.#policy;
    if (policy === null) return;
    const now = this.#o.clocks.wallNowMs();
    const closing: Promise<CloseReason>[] = [];
    for (const session of this.#active.values()) {
      const reason = revocationReason(session.spec, policy, this.#o.siteId, this.#o.boxId, now);
      if (reason !== null) closing.push(session.close(reason));
      else {
        // A lower cap in the new policy shortens a live session (rule 2 holds at all times).
        const cap = policyTtlCapSec(policy, session.spec.recipient);
        if (session.ttlSec > cap) session.setTtl(cap);
      }
    }
    await Promise.all(closing);
  }

  /**
   * Closes one live session for a reason from outside the command path: the
   * relay (intervention-ended, relay-closed) or the tunnel (tunnel-lost).
   * Unknown or already closed: nothing to do.
   */
  async closeSession(sessionId: string, reason: CloseReason): Promise<void> {
    const session = this.#active.get(sessionId);
    if (session) await session.close(reason);
  }

  /** Journals what the tunnel reports of a live session (viewers, redials, drops). */
  recordTunnelEvent(sessionId: string, event: ViewerEvent): void {
    if (!this.#active.has(sessionId)) return;
    const { kind, ...data } = event;
    const type = TUNNEL_EVENT_TYPES[kind];
    this.#append(type, { sessionId, ...data });
  }

  async closeAll(reason: CloseReason): Promise<void> {
    await Promise.all([...this.#active.values()].map((s) => s.close(reason)));
  }

  /** Acts on a command that passed the pipeline. Never throws for a refusal. */
  async handle(accepted: Accepted): Promise<HandleResult> {
    const { command } = accepted;
    switch (command.type) {
      case 'session.open':
        return this.#open(accepted, command);
      case 'session.close':
        return this.#close(command);
      case 'session.extend':
        return this.#extend(command, accepted.envelopeBytes);
      case 'sessions.close-all':
        await this.closeAll('close-all');
        return { ok: true, commandId: command.id, commandType: command.type };
    }
  }

  #refuse(command: { id: string; type: CommandType }, r: Refusal): Refused {
    return refused(r, command.id, command.type);
  }

  async #open(accepted: Accepted, c: SessionOpen): Promise<HandleResult> {
    const admitted = admitOpen(c, {
      stopping: this.#stopping !== null,
      policy: this.#policy,
      activeCount: this.#active.size,
      maxSessions: this.#o.maxSessions ?? 8,
      idInUse: (id) => this.#active.has(id) || this.#closedIds.has(id),
      certificates: this.#o.certificates,
      wallNowMs: this.#o.clocks.wallNowMs(),
    });
    if ('reason' in admitted) return this.#refuse(c, admitted);
    const spec: SessionSpec = {
      sessionId: c.sessionId,
      commandId: c.id,
      kid: accepted.kid,
      recipient: c.recipient,
      cameras: c.cameras,
      purpose: c.purpose,
      trigger: c.trigger,
      callRef: c.callRef,
      ttlSec: admitted.ttlSec,
    };
    const journaled = this.#append(JOURNAL_TYPES.openAccepted, {
      sessionId: c.sessionId,
      commandId: c.id,
      kid: accepted.kid,
      policyVersion: accepted.policyVersion,
      recipient: c.recipient,
      cameras: [...c.cameras],
      purpose: c.purpose,
      trigger: c.trigger,
      urgenceOutsideWindow: accepted.urgenceOutsideWindow,
      callRef: c.callRef,
      requestedTtlSec: c.requestedTtlSec,
      ttlSec: admitted.ttlSec,
      ttlLimitedBy: admitted.limitedBy,
    });
    if (journaled !== null) return this.#refuse(c, journaled);
    const session = new Session(spec, {
      clocks: this.#o.clocks,
      timers: this.#timers,
      exit: (s, reason) => this.#exit(s, reason),
    });
    this.#active.set(session.id, session);
    session.start();
    return this.#connect(session, accepted, c);
  }

  /** Waits for the relay; journals `opened` only after its acceptance (rule 3). */
  async #connect(session: Session, accepted: Accepted, c: SessionOpen): Promise<HandleResult> {
    const ticket = {
      ...session.spec,
      ttlSec: session.ttlSec,
      payloadBytes: accepted.payloadBytes,
      envelopeBytes: accepted.envelopeBytes,
    };
    const timeoutMs = this.#o.openTimeoutMs ?? 15_000;
    const outcome = await openWithTimeout(this.#o.transmitter, ticket, this.#timers, timeoutMs);
    const ack = { ok: true as const, commandId: c.id, commandType: c.type, sessionId: c.sessionId };
    if (session.state === 'closed') {
      // Closed while the relay was deciding (TTL, close-all, stop): a late
      // acceptance must not leave a tunnel up with no session behind it.
      if (outcome.accepted) await this.#closeTunnel(session);
      return { ...ack, grantedTtlSec: session.ttlSec };
    }
    if (!outcome.accepted) {
      this.#append(JOURNAL_TYPES.openFailed, {
        sessionId: session.id,
        reason: outcome.reason,
        detail: outcome.detail,
      });
      await session.close(outcome.reason === 'relay-rejected' ? 'relay-closed' : 'tunnel-lost');
      const r = {
        reason: outcome.reason,
        params: { recipient: c.recipient },
        detail: outcome.detail,
      };
      return this.#refuse(c, r);
    }
    session.markOpen();
    this.#o.transmitter.opened?.(session.id, session.openedMonoMs);
    const failed = this.#append(JOURNAL_TYPES.opened, {
      sessionId: session.id,
      commandId: c.id,
      ttlSec: session.ttlSec,
    });
    if (failed !== null) return this.#refuse(c, failed); // #append closed everything (fail closed)
    this.#o.events?.publish(this.#events.opened(session));
    this.#o.log?.info('session opened', { sessionId: session.id, ttlSec: session.ttlSec });
    return { ...ack, grantedTtlSec: session.ttlSec };
  }

  async #close(c: SessionClose): Promise<HandleResult> {
    const ack = { ok: true as const, commandId: c.id, commandType: c.type, sessionId: c.sessionId };
    const session = this.#active.get(c.sessionId);
    if (session) {
      this.#closeCommand.set(session.id, c.id);
      await session.close(
        c.reason === 'intervention-ended' ? 'intervention-ended' : 'close-command',
      );
      return ack;
    }
    if (this.#closedIds.has(c.sessionId)) {
      this.#o.log?.info('close of a closed session: nothing to do', { sessionId: c.sessionId });
      return ack;
    }
    this.#o.log?.info('close of an unknown session: no-op', { sessionId: c.sessionId });
    const detail = `no session ${c.sessionId} on this box`;
    return this.#refuse(c, {
      reason: 'session-unknown',
      params: { sessionId: c.sessionId },
      detail,
    });
  }

  #extend(c: SessionExtend, envelopeBytes: Buffer): HandleResult {
    const session = this.#active.get(c.sessionId);
    const policy = this.#policy;
    if (!session || session.state === 'closed' || policy === null) {
      const detail = `no live session ${c.sessionId} on this box`;
      return this.#refuse(c, {
        reason: 'session-unknown',
        params: { sessionId: c.sessionId },
        detail,
      });
    }
    const now = this.#o.clocks.wallNowMs();
    const caps = ttlCaps(policy, session.spec.recipient, this.#o.certificates, now);
    const verdict = grantTtl(c.newTtlSec, caps, Math.floor(session.elapsedSec));
    if (!verdict.ok) return this.#refuse(c, { reason: verdict.reason, detail: verdict.detail });
    if (verdict.ttlSec <= session.ttlSec) {
      const detail = `requested ${c.newTtlSec}s gives ${verdict.ttlSec}s (${verdict.limitedBy}), not more than the current ${session.ttlSec}s`;
      const shown = `${c.newTtlSec}s → ${verdict.ttlSec}s ≤ ${session.ttlSec}s`;
      return this.#refuse(c, { reason: 'ttl', params: { detail: shown }, detail });
    }
    const failed = this.#append(JOURNAL_TYPES.extended, {
      sessionId: session.id,
      commandId: c.id,
      previousTtlSec: session.ttlSec,
      ttlSec: verdict.ttlSec,
    });
    if (failed !== null) return this.#refuse(c, failed);
    session.setTtl(verdict.ttlSec);
    // The relay enforces its own deadline (rule 6): it moves only on the signed extension.
    this.#o.transmitter.extend?.(session.id, envelopeBytes, verdict.ttlSec, session.openedMonoMs);
    return {
      ok: true,
      commandId: c.id,
      commandType: c.type,
      sessionId: c.sessionId,
      grantedTtlSec: verdict.ttlSec,
    };
  }

  /**
   * Appends durably or returns a journal-unwritable refusal. A journal that
   * cannot be written closes every session (close reason journal-unwritable):
   * a transmission the register cannot record is not allowed to go on.
   */
  #append(type: string, data: Record<string, unknown>): Refusal | null {
    try {
      this.#o.journal.append(type, data);
      return null;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.#o.log?.error('journal append failed: closing every session', err, { type });
      this.#o.events?.publish(this.#events.alarm('journal-unwritable', 'critical', detail));
      void this.closeAll('journal-unwritable');
      return { reason: 'journal-unwritable', detail: `journal append failed: ${detail}` };
    }
  }

  async #closeTunnel(session: Session): Promise<void> {
    try {
      await this.#o.transmitter.close(session.id, session.closeReason ?? 'shutdown');
    } catch (err) {
      this.#o.log?.error('transmitter close failed', err, { sessionId: session.id });
    }
  }

  /** The one exit of every session: stop the tunnel, then journal, then publish. */
  async #exit(session: Session, reason: CloseReason): Promise<void> {
    await this.#closeTunnel(session);
    this.#active.delete(session.id);
    this.#rememberClosed(session.id);
    const commandId = this.#closeCommand.get(session.id) ?? null;
    this.#closeCommand.delete(session.id);
    try {
      this.#o.journal.append(JOURNAL_TYPES.closed, {
        sessionId: session.id,
        reason,
        commandId,
        durationSec: Math.round(session.elapsedSec),
      });
    } catch (err) {
      // The session is closed all the same; restart recovery cannot help (it
      // would find it open and close it again), so a person must look.
      this.#o.log?.error('journal append of a close failed', err, { sessionId: session.id });
      const detail = `close of ${session.id} (${reason}) not journaled`;
      this.#o.events?.publish(this.#events.alarm('journal-unwritable', 'critical', detail));
    }
    this.#o.events?.publish(this.#events.closed(session, reason));
    this.#o.log?.info('session closed', { sessionId: session.id, reason });
  }

  #rememberClosed(id: string): void {
    this.#closedIds.add(id);
    if (this.#closedIds.size > CLOSED_IDS_KEPT) {
      const oldest = this.#closedIds.values().next();
      if (!oldest.done) this.#closedIds.delete(oldest.value);
    }
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#timers.setTimeout(() => {
      this.#sweepTimer = null;
      if (this.#stopping) return;
      this.sweep().then(
        () => this.#scheduleSweep(),
        (err: unknown) => {
          this.#o.log?.error('session sweep failed', err);
          this.#scheduleSweep();
        },
      );
    }, this.#o.sweepEveryMs ?? 60_000);
  }
}
