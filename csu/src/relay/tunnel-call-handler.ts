/**
 * One tunnel from a box: Hello first (nothing else before Accepted), the
 * checks, then media and extensions until Bye, the relay's Close, or the call
 * dropping (then the session waits for a redial within its grace).
 */
import { PURPOSE_LABELS } from '../../../protocol/src/purposes.js';
import type { TunnelUpIn } from '../../../protocol/src/tunnel-proto.js';
import type { RelayTunnelStream as TunnelServerCall } from '../../../protocol/src/tunnel-wire.js';
import type { Rejection } from './rejection-reasons.js';
import type { Relay } from './relay.js';
import { endCall, type RelaySession } from './relay-session.js';
import {
  verifyExtension,
  verifyTicket,
  type BoxIdentity,
  type VerifiedTicket,
} from './ticket-checks.js';

export class TunnelCallHandler {
  readonly #relay: Relay;
  readonly #call: TunnelServerCall;
  #box: BoxIdentity | null = null;
  #session: RelaySession | null = null;
  #done = false;

  constructor(relay: Relay, call: TunnelServerCall) {
    this.#relay = relay;
    this.#call = call;
  }

  start(): void {
    this.#call.on('data', (message: TunnelUpIn) => this.#onMessage(message));
    this.#call.on('error', (err: Error) => this.#onDrop(err.message));
    this.#call.on('close', () => this.#onDrop('closed'));
  }

  #onMessage(message: TunnelUpIn): void {
    if (this.#done) return;
    const session = this.#session;
    if (session === null) {
      this.#onHello(message);
      return;
    }
    if (session.closed) return; // cut already: whatever the box still sends is ignored
    if ('init' in message && message.init) {
      const { camera, mime, data } = message.init;
      if (camera && mime && data) session.cameras.get(camera)?.setInit(mime, data);
    } else if ('fragment' in message && message.fragment) {
      const { camera, seq, keyframe, data } = message.fragment;
      if (camera && data)
        session.cameras.get(camera)?.push(Number(seq ?? 0), keyframe === true, data);
    } else if ('extend' in message && message.extend) {
      this.#onExtend(session, message.extend.command ?? Buffer.alloc(0));
    } else if ('bye' in message && message.bye) {
      this.#done = true;
      session.close(message.bye.reason || 'close-command', { fromBox: true });
    }
  }

  #onHello(message: TunnelUpIn): void {
    const relay = this.#relay;
    const hello = 'hello' in message ? message.hello : undefined;
    if (!hello?.ticket || !hello.session_id || !hello.box_id) {
      this.#reject({
        reason: 'hello',
        detail: 'the first message must be a Hello with ticket, session id and box id',
      });
      return;
    }
    const box = relay.boxOf(this.#call);
    if ('reason' in box) return this.#reject(box);
    if (hello.box_id !== box.boxId) {
      return this.#reject({
        reason: 'box',
        detail: `hello names box ${hello.box_id}; the certificate is box ${box.siteId}/${box.boxId}`,
      });
    }
    const policy = relay.policy;
    if (policy === null)
      return this.#reject({ reason: 'policy-missing', detail: 'the relay holds no valid policy' });
    const redial = relay.liveSession(hello.session_id) !== undefined;
    const ctx = {
      recipientId: relay.recipientId,
      box,
      wallNowMs: relay.clocks.wallNowMs(),
      redial,
    };
    const verified = verifyTicket(hello.ticket, hello.session_id, policy, ctx);
    if ('reason' in verified) return this.#reject(verified);
    this.#box = box;
    const sessionId = verified.command.sessionId;
    if (relay.isClosed(sessionId)) {
      return this.#reject({
        reason: 'replay',
        detail: `session ${sessionId} was closed on this relay; its ticket cannot open it again`,
      });
    }
    const live = relay.liveSession(sessionId);
    if (live) return this.#redial(live, verified, box);
    if (relay.liveCount >= relay.maxSessions) {
      return this.#reject({
        reason: 'session-limit',
        detail: `${relay.liveCount} sessions live, the limit is ${relay.maxSessions}`,
      });
    }
    const session = relay.addSession(sessionSpec(verified, box, policy.policy.clockSkewSec));
    this.#attach(session);
    relay.log?.info('session accepted', {
      sessionId,
      box: `${box.siteId}/${box.boxId}`,
      ttlSec: session.ttlSec,
    });
    relay.emit({ kind: 'opened', session: session.info });
  }

  #redial(live: RelaySession, verified: VerifiedTicket, box: BoxIdentity): void {
    const sameTicket = live.spec.ticketCommandId === verified.command.id;
    const sameBox = live.spec.info.siteId === box.siteId && live.spec.info.boxId === box.boxId;
    if (!sameTicket || !sameBox || !live.acceptsRedial()) {
      this.#reject({
        reason: 'session-live',
        detail: `session ${live.id} is live from another tunnel`,
      });
      return;
    }
    this.#relay.log?.info('tunnel redialled', { sessionId: live.id });
    this.#attach(live);
  }

  #attach(session: RelaySession): void {
    this.#session = session;
    session.attach(this.#call);
    session.send({
      accepted: { session_id: session.id, expires_at: new Date(session.expiresAtMs).toISOString() },
    });
  }

  #onExtend(session: RelaySession, bytes: Buffer): void {
    const relay = this.#relay;
    const policy = relay.policy;
    if (policy === null || this.#box === null) return;
    const ctx = {
      recipientId: relay.recipientId,
      box: this.#box,
      wallNowMs: relay.clocks.wallNowMs(),
    };
    const verified = verifyExtension(bytes, session.id, policy, ctx);
    if ('reason' in verified) {
      relay.log?.warn('extension refused: the deadline stays', {
        sessionId: session.id,
        ...verified,
      });
      return;
    }
    if (session.extend(verified.command.id, verified.ttlSec)) {
      relay.log?.info('session extended', { sessionId: session.id, ttlSec: verified.ttlSec });
      relay.emit({ kind: 'extended', session: session.info });
    }
  }

  #reject(rejection: Rejection): void {
    this.#done = true;
    this.#relay.log?.warn('tunnel refused', { ...rejection });
    try {
      this.#call.write({ rejected: { reason: rejection.reason, detail: rejection.detail } });
    } finally {
      endCall(this.#call);
    }
  }

  #onDrop(why: string): void {
    const session = this.#session;
    if (this.#done || session === null) {
      this.#done = true;
      return;
    }
    this.#done = true;
    this.#relay.log?.debug('tunnel call ended without Bye', () => ({ sessionId: session.id, why }));
    session.detach(this.#call);
  }
}

function sessionSpec(v: VerifiedTicket, box: BoxIdentity, skewSec: number): RelaySession['spec'] {
  const { command, operator, view } = v;
  const cameras = command.cameras.map((id) => {
    const c = view.cameras.get(id);
    return { id, label: c?.label ?? id, location: c?.location ?? '' };
  });
  return {
    info: {
      sessionId: command.sessionId,
      siteId: box.siteId,
      siteName: view.site?.name ?? box.siteId,
      boxId: box.boxId,
      cameras,
      purpose: command.purpose,
      purposeLabel: PURPOSE_LABELS[command.purpose].fr,
      operatorKid: operator.kid,
      operatorName: operator.name,
      callRef: command.callRef,
    },
    ticketCommandId: command.id,
    ticketKeepUntilMs: Date.parse(command.expiresAt) + skewSec * 1000,
    ttlSec: v.ttlSec,
  };
}
