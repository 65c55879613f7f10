/**
 * The simulated cameras' RTSP streams (issue #4): a Node wrapper around
 * sim/rtsp/serve.py, a GStreamer RTSP server on 127.0.0.1 with one mount per
 * camera and per-camera digest authentication. GStreamer's RTSP server has no
 * Node binding, so it runs as a child of /usr/bin/python3 (Debian's, which has
 * `gi`); the wrapper owns its lifecycle and keeps its passwords out of logs.
 *
 * Debian packages: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
 * gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-x, and
 * gstreamer1.0-plugins-bad for an H.265 camera.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import { VigieError, type ErrorCode } from '../../lib/src/errors.js';

/** Beside the sources (tsx) or, from the build in dist/, in the source tree it was built from. */
export const SERVE_PY =
  [
    new URL('../rtsp/serve.py', import.meta.url),
    new URL('../../../sim/rtsp/serve.py', import.meta.url),
  ]
    .map((u) => fileURLToPath(u))
    .find((file) => existsSync(file)) ??
  fileURLToPath(new URL('../rtsp/serve.py', import.meta.url));
const HOST = '127.0.0.1'; // loopback only: the simulator never listens elsewhere
const STDERR_TAIL_CHARS = 2000;

type RtspSimErrorCode = Extract<ErrorCode, 'sim-rtsp-unavailable' | 'sim-rtsp-start-timeout'>;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RtspCamera {
  id: string; // mount name: rtsp://127.0.0.1:<port>/<id>
  name?: string; // burnt into the picture; default the id
  username: string;
  password: string;
  codec?: 'h264' | 'h265'; // default 'h264'; h265 needs x265enc (gstreamer1.0-plugins-bad)
}

export interface RtspSimulatorOptions {
  cameras: readonly RtspCamera[];
  port?: number; // default 0: an ephemeral port, read back from READY
  width?: number; // default 640
  height?: number; // default 360
  fps?: number; // default 15; the GOP is one second (key-int-max = fps)
  auth?: 'digest' | 'basic'; // default 'digest'
  python?: string; // default '/usr/bin/python3'
  startTimeoutMs?: number; // default 10_000
  stopTimeoutMs?: number; // default 3_000, then SIGKILL
  logger?: Logger;
}

export class RtspSimulator {
  #child: ChildProcess | undefined;
  #port: number | undefined;
  #dir: string | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  #stopRequested = false;
  #log: Logger | undefined;

  constructor(readonly options: RtspSimulatorOptions) {}

  /** The bound port; throws before start() resolved. */
  get port(): number {
    if (this.#port === undefined) throw new Error('RtspSimulator is not started');
    return this.#port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The camera's stream URL, without credentials: safe to log or publish. */
  url(cameraId: string): string {
    this.#camera(cameraId);
    return `rtsp://${HOST}:${this.port}/${cameraId}`;
  }

  /** The URL with the camera's credentials, for a client that needs them inline (ffprobe). Never log it. */
  credentialedUrl(cameraId: string): string {
    const cam = this.#camera(cameraId);
    const user = encodeURIComponent(cam.username);
    const pass = encodeURIComponent(cam.password);
    return `rtsp://${user}:${pass}@${HOST}:${this.port}/${cameraId}`;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs; safe twice and before start. */
  stop(reason = 'stop'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  #camera(cameraId: string): RtspCamera {
    const cam = this.options.cameras.find((c) => c.id === cameraId);
    if (!cam) throw new Error(`unknown simulated camera ${cameraId}`);
    return cam;
  }

  #logger(): Logger {
    if (!this.#log) {
      const parent = this.options.logger ?? new Logger('sim');
      const redactor = parent.options.redactor ?? new Redactor();
      for (const cam of this.options.cameras) redactor.addSecret(cam.password);
      this.#log = new Logger(`${parent.namespace}:rtsp`, { ...parent.options, redactor });
    }
    return this.#log;
  }

  async #start(): Promise<void> {
    const log = this.#logger();
    if (this.#stopping) throw new Error('RtspSimulator was stopped before it started');
    this.#dir = mkdtempSync(join(tmpdir(), 'vigie-sim-rtsp-'));
    const configPath = join(this.#dir, 'cameras.json');
    // Mode 0600 at creation: the file holds the cameras' passwords.
    writeFileSync(configPath, JSON.stringify(this.#config()), { mode: 0o600, flag: 'wx' });
    const python = this.options.python ?? '/usr/bin/python3';
    const started = performance.now();
    const child = spawn(python, [SERVE_PY, configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null })); // spawn failed: no 'close'
    });
    try {
      this.#port = await this.#waitReady(child, python);
    } catch (err) {
      await this.#terminate('start failed');
      throw err;
    }
    void this.#exited.then((exit) => {
      if (!this.#stopRequested) log.warn('rtsp simulator exited unexpectedly', { ...exit });
    });
    const readyMs = Math.round(performance.now() - started);
    log.info('rtsp simulator ready', {
      pid: child.pid,
      readyMs,
      urls: this.options.cameras.map((c) => this.url(c.id)),
    });
  }

  #config(): Record<string, unknown> {
    const o = this.options;
    return {
      port: o.port ?? 0,
      width: o.width ?? 640,
      height: o.height ?? 360,
      fps: o.fps ?? 15,
      auth: o.auth ?? 'digest',
      cameras: o.cameras.map((c) => ({ ...c, name: c.name ?? c.id, codec: c.codec ?? 'h264' })),
    };
  }

  #waitReady(child: ChildProcess, python: string): Promise<number> {
    const log = this.#logger();
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    let stderrTail = '';
    let stdoutBuf = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
      for (const line of chunk.split('\n')) if (line) log.debug('serve.py', () => ({ line }));
    });
    return new Promise<number>((resolve, reject) => {
      const fail = (code: RtspSimErrorCode, why: string): void => {
        clearTimeout(timer);
        const tail = log.options.redactor?.redact(stderrTail.trim()) ?? '';
        reject(
          new VigieError(
            code,
            `RTSP simulator (${python} ${SERVE_PY}) ${why}; it needs /usr/bin/python3 with gi and ` +
              'the Debian packages python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,ugly} ' +
              `gstreamer1.0-x${tail ? `; stderr: ${tail}` : ''}`,
          ),
        );
      };
      const timer = setTimeout(
        () => fail('sim-rtsp-start-timeout', `did not print READY within ${timeoutMs} ms`),
        timeoutMs,
      );
      child.once('error', (err) => fail('sim-rtsp-unavailable', `could not start: ${err.message}`));
      child.once('exit', (code, signal) =>
        fail('sim-rtsp-unavailable', `exited before READY (code ${code}, signal ${signal})`),
      );
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        stdoutBuf += chunk;
        const m = /^READY (\d+)$/m.exec(stdoutBuf);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
  }

  async #stop(reason: string): Promise<void> {
    await this.#starting?.catch(() => undefined); // let a start in flight settle first
    await this.#terminate(reason);
  }

  async #terminate(reason: string): Promise<void> {
    this.#stopRequested = true;
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const timeoutMs = this.options.stopTimeoutMs ?? 3_000;
      child.kill('SIGTERM');
      const killed = await Promise.race([
        this.#exited.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (killed) {
        child.kill('SIGKILL');
        await this.#exited;
      }
      const exit = await this.#exited;
      this.#logger().info('rtsp simulator stopped', {
        reason,
        pid: child.pid,
        forced: killed,
        ...exit,
      });
    }
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}
