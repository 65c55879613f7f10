/**
 * One camera's RTSP stream remuxed by Debian's ffmpeg (`-c copy`, video only)
 * into fragmented MP4 on its stdout, split into init segment and fragments.
 * While running, a stream that fails (camera gone, wrong password, stall) is
 * reported through onProblem and retried with exponential backoff, at most
 * `maxAttemptsPerMinute` starts in any minute.
 *
 * ffmpeg needs the credentials inside the RTSP URL. The URL is built here and
 * never logged; the password is registered with the redactor so ffmpeg's own
 * stderr (which echoes the URL) is masked too. On the box, /proc is mounted
 * with hidepid=2, so no other user can read ffmpeg's argv (docs/media.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Logger } from '../../../lib/src/log.js';
import { Redactor } from '../../../lib/src/redact.js';
import type { CameraStream, MediaInit } from './feed.js';
import { Fmp4Splitter, type Fmp4Part } from './fmp4-splitter.js';

export interface RemuxFragment {
  readonly keyframe: boolean;
  readonly data: Buffer;
}

export interface RemuxEvents {
  onInit(init: MediaInit): void;
  onFragment(fragment: RemuxFragment): void;
  onProblem(detail: string): void;
}

/**
 * `tuned` (default) starts the first key frame about 5x sooner than `default`
 * on a 1 s GOP (docs/media.md has the measurements); `default` is ffmpeg's own
 * probing, kept as the benchmark's baseline.
 */
export type RemuxTuning = 'tuned' | 'default';

export interface FfmpegRemuxOptions {
  ffmpegPath?: string; // default '/usr/bin/ffmpeg'
  tuning?: RemuxTuning; // default 'tuned'
  stopGraceMs?: number; // default 2_000: SIGTERM, then SIGKILL to the process group
  /** No stdout for this long while running: the stream is stalled; restart. Default 10_000. */
  stallTimeoutMs?: number;
  retryInitialMs?: number; // default 500, doubled per failure
  retryMaxMs?: number; // default 15_000
  maxAttemptsPerMinute?: number; // default 6
  maxBoxBytes?: number; // default 16 MiB (Fmp4Splitter)
  stderrTailLines?: number; // default 8 lines kept for problem details
  logger?: Logger;
  redactor?: Redactor;
}

const STDERR_LINE_CHARS = 300;
/** Warnings every tuned run prints (no frame-rate probing, RTP's first timestamps): not a cause. */
const STDERR_NOISE = /not enough frames to estimate rate|Timestamps are unset|Non-monotonous DTS/;
const MINUTE_MS = 60_000;

/** The credentialed URL, for ffmpeg's argv only: never log or return it. */
function credentialedUrl(camera: CameraStream): string {
  const url = new URL(camera.streamUri);
  url.username = encodeURIComponent(camera.username);
  url.password = encodeURIComponent(camera.password);
  return url.toString();
}

export function ffmpegArgs(camera: CameraStream, tuning: RemuxTuning): string[] {
  const probe =
    tuning === 'tuned'
      ? // Measured in docs/media.md: reading only the SDP's parameters saves ffmpeg's ~1.7 s
        // of stream analysis; -fflags nobuffer measured slower, so it is not here.
        ['-probesize', '32', '-analyzeduration', '0', '-flags', 'low_delay']
      : [];
  const frag = tuning === 'tuned' ? ['-frag_duration', '100000'] : [];
  return [
    ...['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'warning'],
    ...['-rtsp_transport', 'tcp', ...probe, '-i', credentialedUrl(camera)],
    ...['-map', '0:v:0', '-an', '-c', 'copy', '-f', 'mp4'],
    ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', ...frag, 'pipe:1'],
  ];
}

export class FfmpegRemux {
  readonly #log: Logger;
  readonly #redactor: Redactor;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #running = false;
  #stopping: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #attempts: number[] = [];
  #failures = 0;
  #stderrTail: string[] = [];

  constructor(
    readonly camera: CameraStream,
    readonly events: RemuxEvents,
    readonly options: FfmpegRemuxOptions = {},
  ) {
    this.#redactor = options.redactor ?? new Redactor();
    this.#log = (options.logger ?? new Logger('agent:media')).child('ffmpeg');
  }

  /** The running ffmpeg's pid (its process group id too), if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the remux and its retries; safe twice; a no-op after stop(). */
  start(): void {
    if (this.#running || this.#stopping) return;
    this.#redactor.addSecret(this.camera.password);
    this.#redactor.addSecret(encodeURIComponent(this.camera.password));
    this.#running = true;
    this.#spawn();
  }

  /** Stops retrying and ends ffmpeg (SIGTERM, SIGKILL after the grace); resolves once it exited. */
  stop(reason = 'stop'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stallTimer);
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      this.#signal(child, 'SIGTERM');
      const graceMs = this.options.stopGraceMs ?? 2_000;
      let timer: NodeJS.Timeout | undefined;
      const forced = await Promise.race([
        this.#exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (forced) this.#signal(child, 'SIGKILL');
      await this.#exited;
      this.#log.debug('ffmpeg stopped', () => ({ camera: this.camera.cameraId, reason, forced }));
    }
  }

  /** To ffmpeg's whole process group (it was spawned detached, as its leader). */
  #signal(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch (err) {
      // ESRCH: it exited between our check and the signal.
      this.#log.debug('signal not delivered', () => ({ signal, err: String(err) }));
    }
  }

  #spawn(): void {
    const now = performance.now();
    this.#attempts = this.#attempts.filter((t) => now - t < MINUTE_MS);
    this.#attempts.push(now);
    this.#stderrTail = [];
    const ffmpeg = this.options.ffmpegPath ?? '/usr/bin/ffmpeg';
    const args = ffmpegArgs(this.camera, this.options.tuning ?? 'tuned');
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
        if (done) return;
        done = true;
        resolve();
        this.#onExit(code, signal, err);
      };
      // Without a pid the spawn itself failed and 'close' may never come.
      child.once('error', (err) => {
        if (child.pid === undefined) finish(null, null, err);
      });
      child.once('close', (code, signal) => finish(code, signal));
    });
    const splitter = new Fmp4Splitter({ maxBoxBytes: this.options.maxBoxBytes });
    let gotFragment = false;
    this.#armStall(child);
    child.stdout.on('data', (chunk: Buffer) => {
      this.#armStall(child);
      let parts: Fmp4Part[];
      try {
        parts = splitter.push(chunk);
      } catch (err) {
        this.#stderrLine(err instanceof Error ? err.message : String(err));
        this.#signal(child, 'SIGKILL');
        return;
      }
      for (const part of parts) {
        if (part.kind === 'init') {
          this.events.onInit({ camera: this.camera.cameraId, mime: part.mime, data: part.data });
        } else {
          if (!gotFragment) this.#failures = 0; // the stream works: a later failure starts over
          gotFragment = true;
          this.events.onFragment({ keyframe: part.keyframe, data: part.data });
        }
      }
    });
    child.stderr.setEncoding('utf8');
    let partial = '';
    child.stderr.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = (lines.pop() ?? '').slice(-STDERR_LINE_CHARS);
      for (const line of lines) if (line.trim() && !STDERR_NOISE.test(line)) this.#stderrLine(line);
    });
    this.#log.debug('ffmpeg started', () => ({ camera: this.camera.cameraId, pid: child.pid }));
  }

  #stderrLine(line: string): void {
    const keep = this.options.stderrTailLines ?? 8;
    this.#stderrTail.push(this.#redactor.redact(line.slice(0, STDERR_LINE_CHARS)));
    if (this.#stderrTail.length > keep) this.#stderrTail.shift();
  }

  #armStall(child: ChildProcess): void {
    clearTimeout(this.#stallTimer);
    const ms = this.options.stallTimeoutMs ?? 10_000;
    this.#stallTimer = setTimeout(() => {
      this.#stderrLine(`no media for ${ms} ms`);
      this.#signal(child, 'SIGKILL');
    }, ms);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void {
    clearTimeout(this.#stallTimer);
    if (!this.#running) return;
    const how = spawnError
      ? `could not start ${this.options.ffmpegPath ?? '/usr/bin/ffmpeg'}: ${spawnError.message}`
      : code === 0
        ? "the camera's stream ended"
        : `ffmpeg exited (code ${code}, signal ${signal})`;
    const tail = this.#stderrTail.join(' | ');
    const detail = this.#redactor.redact(tail ? `${how}: ${tail}` : how);
    this.#log.warn('camera stream failed', { camera: this.camera.cameraId, detail });
    this.events.onProblem(detail);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    const delay = retryDelayMs(this.#failures, this.#attempts, performance.now(), {
      initialMs: this.options.retryInitialMs ?? 500,
      maxMs: this.options.retryMaxMs ?? 15_000,
      maxPerMinute: this.options.maxAttemptsPerMinute ?? 6,
    });
    this.#failures++;
    this.#retryTimer = setTimeout(() => {
      if (this.#running) this.#spawn();
    }, delay);
  }
}

/**
 * The wait before the next start: exponential backoff from `initialMs`, capped
 * at `maxMs`, and never a start that would make more than `maxPerMinute` in
 * the last minute (it waits for the oldest start of the window to leave it).
 */
export function retryDelayMs(
  failures: number,
  startsMs: readonly number[],
  nowMs: number,
  o: { initialMs: number; maxMs: number; maxPerMinute: number },
): number {
  const backoff = Math.min(o.initialMs * 2 ** failures, o.maxMs);
  const recent = startsMs.filter((t) => nowMs - t < MINUTE_MS).sort((a, b) => a - b);
  const excess = recent.length - o.maxPerMinute;
  const capWait = excess >= 0 ? (recent[excess] ?? nowMs) + MINUTE_MS - nowMs : 0;
  return Math.max(backoff, capWait);
}
