/**
 * One camera of one live session to one viewer's WebSocket. Media goes from
 * the LiveSessions subscriber straight to the socket: nothing is kept beyond
 * what `ws` buffers for sending, and that is bounded. When the socket's
 * buffered bytes pass the limit, fragments are dropped until the next keyframe
 * (a viewer on a slow link sees a jump, never an ever-growing delay or an
 * unbounded memory).
 */
import type { WebSocket } from 'ws';
import { CLOSE_REASON_LABELS, type CloseReason } from '../../../protocol/src/close-reasons.js';
import type { Logger } from '../../../lib/src/log.js';
import type { LiveSessionInfo, LiveSessions, MediaBytes, Viewer } from '../live-sessions.js';

/** The French label of a close reason, or the code itself for one we do not know. */
export function closeReasonLabel(reason: string): string {
  const labels: Readonly<Record<string, string>> = CLOSE_REASON_LABELS.fr;
  return Object.hasOwn(labels, reason) ? (labels[reason as CloseReason] ?? reason) : reason;
}

export interface MediaBridgeOptions {
  socket: WebSocket;
  live: LiveSessions;
  sessionId: string;
  camera: string;
  viewer: Viewer;
  maxBufferedBytes: number;
  log: Logger;
}

export class MediaBridge {
  #unsubscribe: (() => void) | null = null;
  #offChange: (() => void) | null = null;
  #dropping = false;
  #closed = false;
  droppedFragments = 0;

  constructor(readonly options: MediaBridgeOptions) {}

  /** Subscribes; false (and the socket closed with a reason) when the session or camera is not live. */
  start(): boolean {
    const { socket, live, sessionId, camera, viewer } = this.options;
    socket.on('close', () => this.#release());
    socket.on('error', (err) => {
      this.options.log.warn('media socket error', { sessionId, camera, err: err.message });
      this.#release();
    });
    this.#offChange = live.onChange((event) => {
      if (event.kind === 'closed' && event.sessionId === sessionId) this.end(event.reason);
      else if (event.kind === 'extended' && event.session.sessionId === sessionId) {
        this.#sendSession(event.session);
      }
    });
    const unsubscribe = live.subscribe(sessionId, camera, viewer, {
      init: (cam, mime, data) => {
        if (cam !== camera || this.#closed) return;
        this.#sendText({ type: 'init', mime });
        socket.send(data);
        this.#dropping = false;
      },
      fragment: (cam, _seq, keyframe, data) => {
        if (cam === camera && !this.#closed) this.#fragment(keyframe, data);
      },
      end: (reason) => this.end(reason),
    });
    if (unsubscribe === null) {
      this.end('not-live');
      return false;
    }
    if (this.#closed) unsubscribe();
    else this.#unsubscribe = unsubscribe;
    return true;
  }

  #fragment(keyframe: boolean, data: MediaBytes): void {
    const { socket, maxBufferedBytes } = this.options;
    if (this.#dropping && keyframe && socket.bufferedAmount <= maxBufferedBytes) {
      this.#dropping = false;
    } else if (!this.#dropping && socket.bufferedAmount > maxBufferedBytes) {
      this.#dropping = true;
      this.options.log.warn('viewer too slow: dropping to the next keyframe', {
        sessionId: this.options.sessionId,
        camera: this.options.camera,
        bufferedBytes: socket.bufferedAmount,
      });
    }
    if (this.#dropping) {
      this.droppedFragments++;
      return;
    }
    if (Buffer.isBuffer(data)) {
      socket.send(data);
      return;
    }
    // One WebSocket message in as many frames as the relay holds pieces: no copy.
    const parts = data as readonly Buffer[];
    parts.forEach((part, i) => socket.send(part, { binary: true, fin: i === parts.length - 1 }));
  }

  #sendSession(session: LiveSessionInfo): void {
    this.#sendText({ type: 'session', expiresAtMs: session.expiresAtMs });
  }

  #sendText(message: Record<string, unknown>): void {
    if (this.options.socket.readyState === this.options.socket.OPEN) {
      this.options.socket.send(JSON.stringify(message));
    }
  }

  /** Tells the page why the session ended and closes the socket; idempotent. */
  end(reason: string): void {
    if (this.#closed) return;
    const label = reason === 'not-live' ? 'aucune transmission en cours' : closeReasonLabel(reason);
    this.#sendText({ type: 'end', reason, label });
    this.#release();
    this.options.socket.close(1000, 'session ended');
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offChange?.();
    this.#offChange = null;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    unsubscribe?.();
  }
}
