/**
 * One camera of one live session, in memory only (rule 6): the init segment and
 * the current group of pictures, from the last keyframe, for late joiners; and
 * the viewers subscribed to it. Bounded twice: the GOP by `gopMaxBytes` (a
 * longer GOP is dropped and late joiners wait for the next keyframe), and each
 * viewer by `subscriberMaxBytes` of what it has not yet sent (a slow viewer
 * skips to the next keyframe, it never makes the relay buffer more).
 */
import { mediaLength, type MediaBytes, type MediaSubscriber } from '../live-sessions.js';

export interface CameraBufferLimits {
  readonly gopMaxBytes: number;
  readonly subscriberMaxBytes: number;
}

interface Stored {
  readonly seq: number;
  readonly keyframe: boolean;
  readonly data: MediaBytes;
  readonly bytes: number;
}

interface Subscription {
  readonly subscriber: MediaSubscriber;
  /** Skipping to the next keyframe after falling behind (or joining with no GOP). */
  waitingForKeyframe: boolean;
  dropped: number;
}

export class CameraBuffer {
  readonly camera: string;
  readonly #limits: CameraBufferLimits;
  #init: { mime: string; data: Buffer } | null = null;
  #gop: Stored[] = [];
  #gopBytes = 0;
  #gopComplete = false;
  readonly #subs = new Set<Subscription>();

  constructor(camera: string, limits: CameraBufferLimits) {
    this.camera = camera;
    this.#limits = limits;
  }

  /** Bytes held for late joiners: at most the init segment and gopMaxBytes. */
  get heldBytes(): number {
    return (this.#init?.data.length ?? 0) + this.#gopBytes;
  }

  get subscriberCount(): number {
    return this.#subs.size;
  }

  get droppedForSubscribers(): number {
    let n = 0;
    for (const s of this.#subs) n += s.dropped;
    return n;
  }

  setInit(mime: string, data: Buffer): void {
    this.#init = { mime, data };
    // A new init (a redial, a camera restart) starts a new stream: the old GOP cannot follow it.
    this.#gop = [];
    this.#gopBytes = 0;
    this.#gopComplete = false;
    for (const s of this.#subs) {
      this.#safe(s, () => s.subscriber.init(this.camera, mime, data));
      s.waitingForKeyframe = true;
    }
  }

  push(seq: number, keyframe: boolean, data: MediaBytes): void {
    if (this.#init === null) return; // a fragment before its init cannot be decoded
    const bytes = mediaLength(data);
    this.#keep({ seq, keyframe, data, bytes });
    for (const s of this.#subs) this.#deliver(s, seq, keyframe, data, bytes);
  }

  /** Late join: the init segment and the GOP so far, then live fragments. */
  subscribe(subscriber: MediaSubscriber): () => void {
    const sub: Subscription = { subscriber, waitingForKeyframe: true, dropped: 0 };
    this.#subs.add(sub);
    if (this.#init !== null) {
      this.#safe(sub, () => subscriber.init(this.camera, this.#init!.mime, this.#init!.data));
      if (this.#gopComplete || this.#gop.length > 0) {
        for (const f of this.#gop) this.#deliver(sub, f.seq, f.keyframe, f.data, f.bytes);
      }
    }
    return () => {
      this.#subs.delete(sub);
    };
  }

  /** The session ended: every viewer is told, and every byte let go. */
  end(reason: string): void {
    for (const s of this.#subs) this.#safe(s, () => s.subscriber.end(reason));
    this.#subs.clear();
    this.#init = null;
    this.#gop = [];
    this.#gopBytes = 0;
  }

  #keep(f: Stored): void {
    if (f.keyframe) {
      this.#gop = [f];
      this.#gopBytes = f.bytes;
      this.#gopComplete = true;
      return;
    }
    if (this.#gop.length === 0) return; // no keyframe yet: nothing a joiner could decode
    if (this.#gopBytes + f.bytes > this.#limits.gopMaxBytes) {
      // Too long a GOP to keep: late joiners wait for the next keyframe instead.
      this.#gop = [];
      this.#gopBytes = 0;
      return;
    }
    this.#gop.push(f);
    this.#gopBytes += f.bytes;
  }

  #deliver(
    sub: Subscription,
    seq: number,
    keyframe: boolean,
    data: MediaBytes,
    bytes: number,
  ): void {
    if (sub.waitingForKeyframe && !keyframe) {
      sub.dropped++;
      return;
    }
    const queued = sub.subscriber.bufferedBytes?.() ?? 0;
    if (queued + bytes > this.#limits.subscriberMaxBytes) {
      sub.waitingForKeyframe = true;
      sub.dropped++;
      return;
    }
    sub.waitingForKeyframe = false;
    this.#safe(sub, () => sub.subscriber.fragment(this.camera, seq, keyframe, data));
  }

  /** A viewer that throws is dropped; it must not stop the others or the tunnel. */
  #safe(sub: Subscription, fn: () => void): void {
    try {
      fn();
    } catch {
      this.#subs.delete(sub);
    }
  }
}
