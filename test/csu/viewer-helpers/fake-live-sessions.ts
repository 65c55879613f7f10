/**
 * A LiveSessions test double: sessions opened and closed by the test, media
 * (real fMP4 from ffmpeg) handed to subscribers as the relay would: the init
 * segment and the fragments so far on subscribe, then what the test pushes.
 */
import type {
  LiveSessionInfo,
  LiveSessions,
  LiveSessionsEvent,
  MediaBytes,
  MediaSubscriber,
  Viewer,
} from '../../../csu/src/live-sessions.js';
import type { TestMedia } from './fmp4.js';

interface Subscription {
  sessionId: string;
  camera: string;
  viewer: Viewer;
  subscriber: MediaSubscriber;
}

export class FakeLiveSessions implements LiveSessions {
  readonly sessions = new Map<string, LiveSessionInfo>();
  readonly subscriptions = new Set<Subscription>();
  readonly interventions: { sessionId: string; viewer: Viewer; note: string }[] = [];
  readonly joins: { sessionId: string; camera: string; viewer: Viewer }[] = [];
  readonly leaves: { sessionId: string; camera: string; viewer: Viewer }[] = [];
  readonly #listeners = new Set<(event: LiveSessionsEvent) => void>();
  #seq = 0;
  readonly #feeds = new Map<string, { timer: NodeJS.Timeout; next: number }>();
  /** Called on every join, so tests can await it. */
  onJoin: (() => void) | null = null;
  onIntervention: (() => void) | null = null;

  constructor(readonly media: TestMedia | null) {}

  open(session: LiveSessionInfo): void {
    this.sessions.set(session.sessionId, session);
    this.#emit({ kind: 'opened', session });
  }

  /**
   * Plays the media as a camera would: one fragment (1 s GOP) every
   * `fragmentMs` to every subscriber of every camera of the session; a new
   * subscriber gets the init segment and the latest fragment (late join).
   */
  feed(sessionId: string, fragmentMs = 1000): void {
    const media = this.media;
    if (media === null) throw new Error('no media to feed');
    const state = { timer: setInterval(() => this.#feedOne(sessionId), fragmentMs), next: 0 };
    this.#feeds.set(sessionId, state);
    this.#feedOne(sessionId);
  }

  #feedOne(sessionId: string): void {
    const state = this.#feeds.get(sessionId);
    const fragment = this.media?.fragments[state?.next ?? 0];
    const session = this.sessions.get(sessionId);
    if (state === undefined || fragment === undefined || session === undefined) {
      this.stopFeed(sessionId);
      return;
    }
    state.next++;
    // Every other fragment in three pieces, as the relay holds a large one off the
    // tunnel: the viewer sends it as one WebSocket message in three frames.
    const third = Math.floor(fragment.length / 3);
    const data =
      state.next % 2 === 0
        ? [
            fragment.subarray(0, third),
            fragment.subarray(third, 2 * third),
            fragment.subarray(2 * third),
          ]
        : fragment;
    for (const camera of session.cameras) this.push(sessionId, camera.id, data);
  }

  stopFeed(sessionId: string): void {
    clearInterval(this.#feeds.get(sessionId)?.timer);
    this.#feeds.delete(sessionId);
  }

  stopAll(): void {
    for (const id of [...this.#feeds.keys()]) this.stopFeed(id);
  }

  close(sessionId: string, reason: string): void {
    this.stopFeed(sessionId);
    if (!this.sessions.delete(sessionId)) return;
    for (const sub of [...this.subscriptions]) {
      if (sub.sessionId !== sessionId) continue;
      this.subscriptions.delete(sub);
      sub.subscriber.end(reason);
    }
    this.#emit({ kind: 'closed', sessionId, reason });
  }

  /** Sends one fragment to every subscriber of a session's camera. */
  push(sessionId: string, camera: string, data: MediaBytes, keyframe = true): void {
    const seq = ++this.#seq;
    for (const sub of this.subscriptions) {
      if (sub.sessionId === sessionId && sub.camera === camera) {
        sub.subscriber.fragment(camera, seq, keyframe, data);
      }
    }
  }

  list(): LiveSessionInfo[] {
    return [...this.sessions.values()];
  }

  get(sessionId: string): LiveSessionInfo | undefined {
    return this.sessions.get(sessionId);
  }

  subscribe(
    sessionId: string,
    camera: string,
    viewer: Viewer,
    subscriber: MediaSubscriber,
  ): (() => void) | null {
    const session = this.sessions.get(sessionId);
    if (session?.cameras.some((c) => c.id === camera) !== true) return null;
    const sub: Subscription = { sessionId, camera, viewer, subscriber };
    this.subscriptions.add(sub);
    this.joins.push({ sessionId, camera, viewer });
    if (this.media !== null) {
      subscriber.init(camera, this.media.mime, this.media.init);
      const feed = this.#feeds.get(sessionId);
      const latest = feed === undefined ? undefined : this.media.fragments[feed.next - 1];
      if (latest !== undefined) subscriber.fragment(camera, ++this.#seq, true, latest);
    }
    this.onJoin?.();
    return () => {
      if (this.subscriptions.delete(sub)) {
        this.leaves.push({ sessionId, camera, viewer });
      }
    };
  }

  interventionOver(sessionId: string, viewer: Viewer, note: string): boolean {
    if (!this.sessions.has(sessionId)) return false;
    this.interventions.push({ sessionId, viewer, note });
    this.onIntervention?.();
    return true;
  }

  onChange(listener: (event: LiveSessionsEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  #emit(event: LiveSessionsEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }
}

export function sessionInfo(overrides: Partial<LiveSessionInfo> = {}): LiveSessionInfo {
  const now = Date.now();
  return {
    sessionId: 'sess-0001',
    siteId: 'site-belleville',
    siteName: 'Résidence Belleville',
    boxId: 'box-belleville-1',
    cameras: [{ id: 'cam-hall', label: 'Hall A', location: 'rez-de-chaussée' }],
    purpose: 'flagrant-delit',
    purposeLabel: 'Flagrant délit en cours',
    operatorKid: 'op-1',
    operatorName: 'Claire Martin',
    callRef: 'CSU-2026-118',
    openedAtMs: now,
    expiresAtMs: now + 15 * 60_000,
    ...overrides,
  };
}
