/**
 * The box's MediaFeeds: one ffmpeg remux per camera of a session, or a
 * subscription to the camera's warm remux when the warm cache is on and the
 * camera is warm (annexed cameras, kept running so that a session starts on a
 * key frame at once). Fragment numbers restart from 1 per camera and session,
 * and a session's first fragment of a camera (and first after a new init) is
 * always a key frame.
 */
import { Logger } from '../../../lib/src/log.js';
import { Redactor } from '../../../lib/src/redact.js';
import { CameraSource, type CacheStats, type SourceSubscriber } from './camera-source.js';
import type { CameraStream, FeedHandle, MediaFeeds, MediaInit, MediaSink } from './feed.js';
import type { FfmpegRemuxOptions, RemuxFragment } from './ffmpeg-remux.js';

export interface FfmpegMediaFeedsOptions {
  remux?: Omit<FfmpegRemuxOptions, 'logger' | 'redactor'>;
  warmCache?: boolean; // default false: every open starts cold remuxes
  /** Bound of the GOP kept per warm camera; a larger GOP is not kept. Default 4 MiB. */
  warmCacheMaxBytes?: number;
  logger?: Logger;
  redactor?: Redactor;
}

const DEFAULT_WARM_CACHE_MAX_BYTES = 4 * 1024 * 1024;

/** Identity of a warm remux: a change of URI or credentials restarts it. */
function streamKey(c: CameraStream): string {
  return JSON.stringify([c.streamUri, c.username, c.password]);
}

/** One session's view of one camera: its own numbering, key frame first, a sink that may throw. */
class SessionCamera implements SourceSubscriber {
  #seq = 0;
  #waitingForKey = true;

  constructor(
    readonly camera: string,
    readonly sink: MediaSink,
    readonly log: Logger,
  ) {}

  init(init: MediaInit): void {
    this.#waitingForKey = true; // a new init (restart): the decoder starts over on a key frame
    this.#deliver(() => this.sink.init(init));
  }

  fragment(f: RemuxFragment): void {
    if (this.#waitingForKey && !f.keyframe) return;
    this.#waitingForKey = false;
    const fragment = { camera: this.camera, seq: ++this.#seq, keyframe: f.keyframe, data: f.data };
    this.#deliver(() => this.sink.fragment(fragment));
  }

  problem(detail: string): void {
    this.#deliver(() => this.sink.problem(this.camera, detail));
  }

  #deliver(call: () => void): void {
    try {
      call();
    } catch (err) {
      // A sink's failure is the session's business; it must not stop the camera's remux.
      this.log.error('media sink threw', err, { camera: this.camera });
    }
  }
}

/** A FeedHandle that also names its cold remuxes' ffmpeg pids (supervision, tests). */
export interface FfmpegFeedHandle extends FeedHandle {
  pids(): number[];
}

export class FfmpegMediaFeeds implements MediaFeeds {
  readonly #log: Logger;
  readonly #redactor: Redactor;
  readonly #warm = new Map<string, { key: string; source: CameraSource }>();
  readonly #open = new Set<FfmpegFeedHandle>();
  #stopped = false;

  constructor(readonly options: FfmpegMediaFeedsOptions = {}) {
    this.#redactor = options.redactor ?? options.logger?.options.redactor ?? new Redactor();
    const parent = options.logger ?? new Logger('agent');
    this.#log = new Logger(`${parent.namespace}:media`, {
      ...parent.options,
      redactor: this.#redactor,
    });
  }

  #remuxOptions(): FfmpegRemuxOptions {
    return { ...this.options.remux, logger: this.#log, redactor: this.#redactor };
  }

  open(sessionId: string, cameras: readonly CameraStream[], sink: MediaSink): FfmpegFeedHandle {
    const cold: CameraSource[] = [];
    const unsubscribes: (() => void)[] = [];
    for (const camera of cameras) {
      const sub = new SessionCamera(camera.cameraId, sink, this.#log);
      const warm = this.#warm.get(camera.cameraId);
      if (!this.#stopped && warm?.key === streamKey(camera)) {
        unsubscribes.push(warm.source.subscribe(sub));
        continue;
      }
      const source = new CameraSource(camera, this.#remuxOptions());
      unsubscribes.push(source.subscribe(sub));
      cold.push(source);
      if (!this.#stopped) source.start();
    }
    this.#log.info('media feed opened', {
      session: sessionId,
      cameras: cameras.map((c) => c.cameraId),
      warm: cameras.length - cold.length,
    });
    let closing: Promise<void> | undefined;
    const handle: FfmpegFeedHandle = {
      pids: () => cold.flatMap((s) => (s.pid === undefined ? [] : [s.pid])),
      close: () => {
        closing ??= (async () => {
          for (const u of unsubscribes) u();
          await Promise.all(cold.map((s) => s.stop(`session ${sessionId} closed`)));
          this.#open.delete(handle);
          this.#log.info('media feed closed', { session: sessionId });
        })();
        return closing;
      },
    };
    this.#open.add(handle);
    return handle;
  }

  /**
   * Makes the warm set exactly `cameras` (no-op without the warm cache): starts
   * the new ones, restarts those whose URI or credentials changed, stops the
   * rest. A session watching a camera that leaves the set is told so by problem().
   */
  async warm(cameras: readonly CameraStream[]): Promise<void> {
    if (!this.options.warmCache || this.#stopped) return;
    const wanted = new Map(cameras.map((c) => [c.cameraId, c]));
    const stops: Promise<void>[] = [];
    for (const [id, entry] of this.#warm) {
      const next = wanted.get(id);
      if (next && streamKey(next) === entry.key) continue;
      this.#warm.delete(id);
      const why = next ? 'stream changed' : 'no longer warm';
      entry.source.tellSubscribers(`the camera's warm remux stopped (${why})`);
      stops.push(entry.source.stop(why));
    }
    for (const camera of cameras) {
      if (this.#warm.has(camera.cameraId)) continue;
      const max = this.options.warmCacheMaxBytes ?? DEFAULT_WARM_CACHE_MAX_BYTES;
      const source = new CameraSource(camera, this.#remuxOptions(), max);
      this.#warm.set(camera.cameraId, { key: streamKey(camera), source });
      source.start();
    }
    await Promise.all(stops);
  }

  /** Per warm camera: the bytes its cache holds now. */
  cacheStats(): Map<string, CacheStats> {
    return new Map([...this.#warm].map(([id, { source }]) => [id, source.stats()]));
  }

  /** The pids of the warm remuxes' ffmpeg, for supervision and tests. */
  warmPids(): Map<string, number | undefined> {
    return new Map([...this.#warm].map(([id, { source }]) => [id, source.pid]));
  }

  /** Closes every open feed and stops every warm remux; safe twice. */
  async stop(reason = 'stop'): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#open].map((h) => h.close()));
    const warm = [...this.#warm.values()];
    this.#warm.clear();
    await Promise.all(warm.map((w) => w.source.stop(reason)));
  }
}
