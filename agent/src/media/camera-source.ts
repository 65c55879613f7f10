/**
 * One camera's remux shared by its subscribers (the sessions watching it),
 * with, for a warm camera, the latest init segment and the current group of
 * pictures kept in memory so a new viewer starts on a key frame at once.
 * The GOP kept is bounded in bytes: past the bound it is dropped, and the
 * cache waits for the next key frame (a late joiner then waits for it too).
 */
import type { MediaInit } from './feed.js';
import { FfmpegRemux, type FfmpegRemuxOptions, type RemuxFragment } from './ffmpeg-remux.js';
import type { CameraStream } from './feed.js';

export interface SourceSubscriber {
  init(init: MediaInit): void;
  fragment(fragment: RemuxFragment): void;
  problem(detail: string): void;
}

export interface CacheStats {
  readonly initBytes: number;
  readonly gopBytes: number;
  readonly gopFragments: number;
}

export class CameraSource {
  readonly #remux: FfmpegRemux;
  readonly #subscribers = new Set<SourceSubscriber>();
  #init: MediaInit | undefined;
  #gop: RemuxFragment[] = [];
  #gopBytes = 0;

  /** `cacheMaxBytes` undefined: no GOP cache (a cold source has one subscriber from its start). */
  constructor(
    readonly camera: CameraStream,
    remuxOptions: FfmpegRemuxOptions,
    readonly cacheMaxBytes?: number,
  ) {
    this.#remux = new FfmpegRemux(
      camera,
      {
        onInit: (init) => this.#onInit(init),
        onFragment: (f) => this.#onFragment(f),
        onProblem: (detail) => this.tellSubscribers(detail),
      },
      remuxOptions,
    );
  }

  get pid(): number | undefined {
    return this.#remux.pid;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  stats(): CacheStats {
    return {
      initBytes: this.#init?.data.length ?? 0,
      gopBytes: this.#gopBytes,
      gopFragments: this.#gop.length,
    };
  }

  start(): void {
    this.#remux.start();
  }

  tellSubscribers(detail: string): void {
    for (const s of this.#subscribers) s.problem(detail);
  }

  async stop(reason: string): Promise<void> {
    this.#subscribers.clear();
    await this.#remux.stop(reason);
    this.#init = undefined;
    this.#gop = [];
    this.#gopBytes = 0;
  }

  /**
   * Adds a subscriber; a warm source first replays its init and GOP to it, on
   * the next microtask (after open() returned, before any live fragment, which
   * arrives on a later I/O turn). Returns the unsubscribe function.
   */
  subscribe(sub: SourceSubscriber): () => void {
    let active = true;
    queueMicrotask(() => {
      if (!active) return;
      if (this.#init) sub.init(this.#init);
      for (const f of this.#gop) sub.fragment(f);
      this.#subscribers.add(sub);
    });
    return () => {
      active = false;
      this.#subscribers.delete(sub);
    };
  }

  #onInit(init: MediaInit): void {
    this.#init = init;
    this.#gop = [];
    this.#gopBytes = 0;
    for (const s of this.#subscribers) s.init(init);
  }

  #onFragment(f: RemuxFragment): void {
    this.#cache(f);
    for (const s of this.#subscribers) s.fragment(f);
  }

  #cache(f: RemuxFragment): void {
    if (this.cacheMaxBytes === undefined) return;
    if (f.keyframe) {
      this.#gop = [];
      this.#gopBytes = 0;
    } else if (this.#gop.length === 0) {
      return; // no key frame to start from: nothing worth keeping
    }
    if (this.#gopBytes + f.data.length > this.cacheMaxBytes) {
      this.#gop = []; // over the bound: drop the GOP, wait for the next key frame
      this.#gopBytes = 0;
      return;
    }
    this.#gop.push(f);
    this.#gopBytes += f.data.length;
  }
}
