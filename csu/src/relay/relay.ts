/**
 * The relay of a receiving centre: a MediaTunnel server (TLS 1.3, mTLS, ALPN
 * vigie-tunnel/1, framed tunnel.proto messages: protocol/src/tunnel-wire.ts) that
 * accepts only box certificates from the boxes CA, verifies each ticket itself
 * against the signed policy, enforces the deadline itself, and keeps media in
 * memory only. It is also the LiveSessions the viewer reads.
 */
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Clocks } from '../../../agent/src/ports.js';
import { systemTimers, type Timers } from '../../../agent/src/sessions/timers.js';
import { authoriseCertificate } from '../../../certs/src/peer-auth.js';
import { serverTlsOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Logger } from '../../../lib/src/log.js';
import {
  relayCodec,
  TUNNEL_ALPN,
  TunnelStream,
  type RelayTunnelStream as TunnelServerCall,
} from '../../../protocol/src/tunnel-wire.js';
import type {
  LiveSessionInfo,
  LiveSessions,
  LiveSessionsEvent,
  MediaSubscriber,
  Viewer,
} from '../live-sessions.js';
import { ClosedIds } from './closed-ids.js';
import type { Rejection } from './rejection-reasons.js';
import { RelaySession } from './relay-session.js';
import type { BoxIdentity, RelayPolicy } from './ticket-checks.js';
import { TunnelCallHandler } from './tunnel-call-handler.js';

export interface RelayLimits {
  readonly gopMaxBytes: number;
  readonly subscriberMaxBytes: number;
  readonly redialGraceMs: number;
  readonly maxSessions: number;
  readonly closedIdsKept: number;
}

export interface RelayOptions {
  readonly recipientId: string;
  readonly tls: TlsMaterial;
  /** The boxes CA certificate(s): only leaves they issued may open a tunnel. */
  readonly boxesCa: readonly X509Certificate[];
  readonly listen: { readonly host: string; readonly port: number };
  readonly limits: RelayLimits;
  readonly clocks: Clocks;
  readonly timers?: Timers;
  readonly log?: Logger;
  /** How long the box has to say Bye after "intervention over" before the relay cuts; default 10 000 ms. */
  readonly interventionCutMs?: number;
}

export const systemClocks: Clocks = {
  wallNowMs: () => Date.now(),
  monoNowMs: () => performance.now(),
};

export class Relay implements LiveSessions {
  readonly #o: RelayOptions;
  readonly #timers: Timers;
  readonly #sessions = new Map<string, RelaySession>();
  readonly #closed: ClosedIds;
  readonly #listeners = new Set<(event: LiveSessionsEvent) => void>();
  readonly #calls = new Set<TunnelServerCall>();
  #policy: RelayPolicy | null = null;
  #server: tls.Server | null = null;
  #port: number | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: RelayOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#closed = new ClosedIds(options.limits.closedIdsKept);
  }

  get port(): number | null {
    return this.#port;
  }
  get recipientId(): string {
    return this.#o.recipientId;
  }
  get policy(): RelayPolicy | null {
    return this.#policy;
  }
  get clocks(): Clocks {
    return this.#o.clocks;
  }
  get log(): Logger | undefined {
    return this.#o.log;
  }
  /** Bytes held for late joiners across every live session (bounded by the limits). */
  get heldBytes(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += s.heldBytes;
    return n;
  }

  /** A policy that already passed verifyPolicyBundle. Live sessions keep their own checks. */
  setPolicy(policy: RelayPolicy): void {
    this.#policy = policy;
  }

  async start(): Promise<number> {
    if (this.#server !== null || this.#stopping) return this.#port ?? 0;
    const server = tls.createServer({
      ...serverTlsOptions(this.#o.tls, { requireClientCert: true }),
      ALPNProtocols: [TUNNEL_ALPN],
    });
    server.on('secureConnection', (socket) => this.#onConnection(socket));
    server.on('tlsClientError', (err) => {
      this.#o.log?.debug('tunnel handshake refused', () => ({ err: err.message }));
    });
    this.#server = server;
    const { host, port } = this.#o.listen;
    this.#port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
    this.#o.log?.info('relay listening', { address: `${host}:${this.#port}` });
    return this.#port;
  }

  /** Closes every session (Close{relay-closed}), then the server. Safe twice and before start. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const s of [...this.#sessions.values()]) s.close('relay-closed');
      for (const call of this.#calls) call.end();
      const server = this.#server;
      this.#server = null;
      if (server === null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const call of this.#calls) call.destroy();
          resolve();
        }, 2_000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    })();
    return this.#stopping;
  }

  #onConnection(socket: tls.TLSSocket): void {
    if (socket.alpnProtocol !== TUNNEL_ALPN) {
      socket.destroy();
      return;
    }
    this.#onCall(new TunnelStream(socket, relayCodec(), { keepalive: {} }));
  }

  // ---- used by the per-call handler ----

  /** The box a call comes from, or why it may not open a tunnel here. */
  boxOf(call: TunnelServerCall): BoxIdentity | Rejection {
    const peer = call.peerCertificate();
    if (!peer) return { reason: 'certificate', detail: 'no client certificate' };
    try {
      const identity = authoriseCertificate(
        peer,
        { caCertificates: this.#o.boxesCa },
        { allow: ['box'] },
      );
      if (identity.kind !== 'box') throw new Error('unreachable: only boxes are allowed');
      return { siteId: identity.siteId, boxId: identity.boxId };
    } catch (err) {
      return { reason: 'certificate', detail: err instanceof Error ? err.message : String(err) };
    }
  }

  isClosed(sessionId: string): boolean {
    return this.#closed.has(sessionId);
  }

  liveSession(sessionId: string): RelaySession | undefined {
    return this.#sessions.get(sessionId);
  }

  get liveCount(): number {
    return this.#sessions.size;
  }

  get maxSessions(): number {
    return this.#o.limits.maxSessions;
  }

  addSession(spec: RelaySession['spec']): RelaySession {
    const session = new RelaySession(spec, {
      clocks: this.#o.clocks,
      timers: this.#timers,
      limits: this.#o.limits,
      ...(this.#o.log ? { log: this.#o.log.child('session') } : {}),
      onClosed: (s, reason) => this.#onClosed(s, reason),
    });
    this.#sessions.set(session.id, session);
    return session;
  }

  emit(event: LiveSessionsEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#o.log?.error('live-sessions listener failed', err);
      }
    }
  }

  #onCall(call: TunnelServerCall): void {
    if (this.#stopping) {
      call.end();
      return;
    }
    this.#calls.add(call);
    const forget = (): void => {
      this.#calls.delete(call);
    };
    call.on('close', forget);
    new TunnelCallHandler(this, call).start();
  }

  #onClosed(session: RelaySession, reason: string): void {
    this.#sessions.delete(session.id);
    this.#closed.add(session.id, session.spec.ticketKeepUntilMs, this.#o.clocks.wallNowMs());
    this.emit({ kind: 'closed', sessionId: session.id, reason });
  }

  // ---- LiveSessions (the viewer's side) ----

  list(): LiveSessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info);
  }

  get(sessionId: string): LiveSessionInfo | undefined {
    return this.#sessions.get(sessionId)?.info;
  }

  subscribe(
    sessionId: string,
    camera: string,
    viewer: Viewer,
    subscriber: MediaSubscriber,
  ): (() => void) | null {
    const session = this.#sessions.get(sessionId);
    const buffer = session?.cameras.get(camera);
    if (!session || !buffer || session.closed) return null;
    const now = (): string => new Date(this.#o.clocks.wallNowMs()).toISOString();
    session.send({
      viewer_joined: { viewer_id: viewer.id, viewer_name: viewer.name, time: now() },
    });
    const unsubscribe = buffer.subscribe(subscriber);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      session.send({ viewer_left: { viewer_id: viewer.id, time: now() } });
    };
  }

  interventionOver(sessionId: string, viewer: Viewer, note: string): boolean {
    const session = this.#sessions.get(sessionId);
    if (!session || session.closed) return false;
    const time = new Date(this.#o.clocks.wallNowMs()).toISOString();
    session.send({ intervention_over: { viewer_id: viewer.id, time, note } });
    // The box closes and says Bye; one that does not is cut all the same.
    const timer = this.#timers.setTimeout(
      () => session.close('intervention-ended'),
      this.#o.interventionCutMs ?? 10_000,
    );
    const clear = (event: LiveSessionsEvent): void => {
      if (event.kind === 'closed' && event.sessionId === sessionId) {
        this.#timers.clearTimeout(timer);
        this.#listeners.delete(clear);
      }
    };
    this.#listeners.add(clear);
    return true;
  }

  onChange(listener: (event: LiveSessionsEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
