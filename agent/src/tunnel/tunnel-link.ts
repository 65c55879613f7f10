/**
 * The tunnel of one session: dial, Hello, wait for Accepted or Rejected; then
 * media up and viewer events down. A dropped stream is redialled with the same
 * session id and ticket only before the deadline; after `graceMs` without a
 * tunnel the session closes with tunnel-lost. `close` leaves nothing behind:
 * no call, no channel, no timer, no feed, no buffer.
 */
import type { Logger } from '../../../lib/src/log.js';
import { CLOSE_REASONS, type CloseReason } from '../../../protocol/src/close-reasons.js';
import type { Recipient } from '../../../protocol/src/policy-schema.js';
import type { TunnelDownIn, TunnelUp } from '../../../protocol/src/tunnel-proto.js';
import type { BoxTunnelStream } from '../../../protocol/src/tunnel-wire.js';
import type { CertificateBounds } from '../sessions/ttl.js';
import type { OpenOutcome, SessionTicket } from '../sessions/transmitter.js';
import type { FeedHandle, MediaFragment, MediaInit, MediaSink } from '../media/feed.js';
import type { TunnelTransmitterOptions } from './tunnel-transmitter.js';
import { MediaGate } from './media-gate.js';
import { dialRelay } from './relay-dial.js';

export type { CertificateBounds };

/**
 * Media the box lets wait in a tunnel's send buffer (about 4 s at 4 Mbit/s:
 * a warm group of pictures goes out whole); beyond it, a camera's fragments
 * are dropped to its next key frame (MediaGate), so a slow relay costs at most
 * this much memory per session.
 */
export const MAX_QUEUED_BYTES = 2 * 1024 * 1024;

type Deps = Required<Pick<TunnelTransmitterOptions, 'timers' | 'graceMs' | 'redialDelayMs'>> &
  TunnelTransmitterOptions;

export class TunnelLink {
  readonly ticket: SessionTicket;
  readonly gate = new MediaGate();
  readonly #d: Deps;
  readonly #recipient: Recipient;
  readonly #log: Logger | undefined;
  readonly #inits = new Map<string, MediaInit>();
  #deadlineMonoMs: number;
  #call: BoxTunnelStream | null = null;
  #feed: FeedHandle | null = null;
  #graceTimer: unknown = null;
  #redialTimer: unknown = null;
  #redials = 0;
  #closed = false;
  #accepted = false;

  constructor(ticket: SessionTicket, recipient: Recipient, deps: Deps) {
    this.ticket = ticket;
    this.#recipient = recipient;
    this.#d = deps;
    this.#log = deps.log?.child(ticket.sessionId.slice(0, 8));
    this.#deadlineMonoMs = deps.clocks.monoNowMs() + ticket.ttlSec * 1000;
  }

  get connected(): boolean {
    return this.#call !== null && this.#accepted;
  }

  /** Dials and resolves on the relay's answer (rule 3: acceptance before "opened"). */
  open(): Promise<OpenOutcome> {
    return this.#dial().then((outcome) => {
      if (outcome.accepted) this.#startMedia();
      return outcome;
    });
  }

  /** A verified extension: the relay checks it too; the redial window follows it. */
  extend(envelopeBytes: Buffer, ttlSec: number, openedMonoMs: number): void {
    this.#deadlineMonoMs = openedMonoMs + ttlSec * 1000;
    this.#write({ extend: { command: envelopeBytes } });
  }

  setOpenedAt(openedMonoMs: number): void {
    this.#deadlineMonoMs = openedMonoMs + this.ticket.ttlSec * 1000;
  }

  async close(reason: CloseReason): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    const call = this.#call;
    this.#call = null;
    const feed = this.#feed;
    this.#feed = null;
    if (call !== null) {
      call.write({ bye: { reason } });
      await endAndWait(call, this.#d.timers);
    }
    if (feed !== null) await feed.close();
    this.#inits.clear();
    if (this.gate.droppedTotal > 0) {
      this.#d.callbacks.viewerEvent(this.ticket.sessionId, {
        kind: 'media-drops',
        dropped: this.gate.dropped,
      });
    }
  }

  #dial(): Promise<OpenOutcome> {
    return new Promise<OpenOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: OpenOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const call = dialRelay(this.#d.tls, this.#recipient);
      this.#call = call;
      this.#accepted = false;
      call.on('data', (m: TunnelDownIn) => {
        if (this.#call !== call) return;
        if (!this.#accepted) {
          if ('accepted' in m && m.accepted) {
            this.#accepted = true;
            settle({ accepted: true });
          } else if ('rejected' in m && m.rejected) {
            const detail = `${m.rejected.reason ?? '?'}: ${m.rejected.detail ?? ''}`;
            settle({ accepted: false, reason: 'relay-rejected', detail });
            this.#drop(call);
          }
          return;
        }
        this.#onDown(m);
      });
      call.on('error', (err: Error) => {
        settle({ accepted: false, reason: 'relay-unreachable', detail: err.message });
        this.#lost(call, err.message);
      });
      call.on('close', () => {
        settle({
          accepted: false,
          reason: 'relay-unreachable',
          detail: 'the relay ended the tunnel',
        });
        this.#lost(call, 'the relay ended the tunnel');
      });
      call.on('drain', () => {
        if (this.#call === call) this.gate.drained();
      });
      call.write({
        hello: {
          ticket: this.ticket.envelopeBytes,
          session_id: this.ticket.sessionId,
          box_id: this.#d.boxId,
        },
      });
    });
  }

  #onDown(m: TunnelDownIn): void {
    const id = this.ticket.sessionId;
    const cb = this.#d.callbacks;
    if ('viewer_joined' in m && m.viewer_joined) {
      const v = m.viewer_joined;
      cb.viewerEvent(id, {
        kind: 'joined',
        viewerId: v.viewer_id ?? '',
        viewerName: v.viewer_name ?? '',
        time: v.time ?? '',
      });
    } else if ('viewer_left' in m && m.viewer_left) {
      const v = m.viewer_left;
      cb.viewerEvent(id, { kind: 'left', viewerId: v.viewer_id ?? '', time: v.time ?? '' });
    } else if ('intervention_over' in m && m.intervention_over) {
      const v = m.intervention_over;
      cb.viewerEvent(id, {
        kind: 'intervention-over',
        viewerId: v.viewer_id ?? '',
        time: v.time ?? '',
        note: v.note ?? '',
      });
      cb.closeSession(id, 'intervention-ended');
    } else if ('close' in m && m.close) {
      const given = m.close.reason ?? '';
      const reason = (CLOSE_REASONS as readonly string[]).includes(given)
        ? (given as CloseReason)
        : 'relay-closed';
      this.#closedByRelay = true;
      cb.closeSession(id, reason);
    }
  }

  #closedByRelay = false;

  #startMedia(): void {
    const cameras = [];
    for (const id of this.ticket.cameras) {
      const stream = this.#d.cameras.liveStream(id);
      if ('unavailable' in stream) {
        this.#log?.warn('camera unavailable for this session', {
          camera: id,
          why: stream.unavailable,
        });
        continue;
      }
      cameras.push(stream);
    }
    const sink: MediaSink = {
      init: (init) => this.#onInit(init),
      fragment: (f) => this.#onFragment(f),
      problem: (camera, detail) => this.#log?.warn('camera feed problem', { camera, detail }),
    };
    this.#feed = this.#d.feeds.open(this.ticket.sessionId, cameras, sink);
  }

  #onInit(init: MediaInit): void {
    if (this.#closed) return;
    this.#inits.set(init.camera, init);
    this.#write({ init: { camera: init.camera, mime: init.mime, data: init.data } });
  }

  #onFragment(f: MediaFragment): void {
    if (this.#closed) return;
    if (!this.connected) this.gate.block();
    if (!this.gate.admit(f.camera, f.keyframe)) return;
    const ok = this.#write({
      fragment: { camera: f.camera, seq: f.seq, keyframe: f.keyframe, data: f.data },
    });
    // A fragment larger than the socket's 16 KiB mark always "fills" it; what
    // matters is how much waits to be sent: past the budget, drop to keyframes.
    if (!ok && (this.#call?.bufferedBytes ?? Infinity) > MAX_QUEUED_BYTES) this.gate.block();
  }

  #write(message: TunnelUp): boolean {
    const call = this.#call;
    if (call === null || !this.#accepted || this.#closed) return false;
    return call.write(message);
  }

  /** The call dropped (error or end) while the session lives: grace, and redials before the deadline. */
  #lost(call: BoxTunnelStream, why: string): void {
    if (this.#call !== call) return;
    this.#call = null;
    const wasAccepted = this.#accepted;
    this.#accepted = false;
    if (this.#closed || !wasAccepted || this.#closedByRelay) return;
    this.#log?.warn('tunnel lost; redialling before the deadline', { why });
    this.gate.block();
    if (this.#graceTimer === null) {
      this.#graceTimer = this.#d.timers.setTimeout(() => {
        this.#graceTimer = null;
        if (!this.connected) this.#d.callbacks.closeSession(this.ticket.sessionId, 'tunnel-lost');
      }, this.#d.graceMs);
    }
    this.#scheduleRedial();
  }

  #drop(call: BoxTunnelStream): void {
    if (this.#call === call) this.#call = null;
    call.end();
  }

  #scheduleRedial(): void {
    if (this.#closed || this.#redialTimer !== null) return;
    this.#redialTimer = this.#d.timers.setTimeout(() => {
      this.#redialTimer = null;
      void this.#redial();
    }, this.#d.redialDelayMs);
  }

  async #redial(): Promise<void> {
    // Never after the deadline (issue 5): the session's own TTL closes it then.
    if (this.#closed || this.#d.clocks.monoNowMs() >= this.#deadlineMonoMs) return;
    this.#redials++;
    const outcome = await this.#dial();
    if (this.#closed) return;
    if (outcome.accepted) {
      if (this.#graceTimer !== null) this.#d.timers.clearTimeout(this.#graceTimer);
      this.#graceTimer = null;
      this.gate.unblock(this.#inits.keys());
      for (const init of this.#inits.values()) this.#onInit(init);
      this.#d.callbacks.viewerEvent(this.ticket.sessionId, {
        kind: 'redialed',
        attempt: this.#redials,
      });
      return;
    }
    if (outcome.reason === 'relay-rejected') {
      // The relay closed the session meanwhile (deadline, replay): nothing to resume.
      this.#d.callbacks.closeSession(this.ticket.sessionId, 'relay-closed');
      return;
    }
    this.#scheduleRedial();
  }

  #clearTimers(): void {
    if (this.#graceTimer !== null) this.#d.timers.clearTimeout(this.#graceTimer);
    if (this.#redialTimer !== null) this.#d.timers.clearTimeout(this.#redialTimer);
    this.#graceTimer = null;
    this.#redialTimer = null;
  }
}

/** Ends our side and waits for the connection to close (bounded), then drops what is left. */
function endAndWait(call: BoxTunnelStream, timers: Deps['timers']): Promise<void> {
  return new Promise<void>((resolve) => {
    if (call.closed) {
      resolve();
      return;
    }
    const timer = timers.setTimeout(() => {
      call.destroy();
      resolve();
    }, 2_000);
    call.once('close', () => {
      timers.clearTimeout(timer);
      resolve();
    });
    call.once('error', () => undefined);
    call.end();
  });
}
