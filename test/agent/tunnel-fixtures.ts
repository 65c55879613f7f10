/**
 * The box side of the tunnel tests: a SessionManager with the real
 * TunnelTransmitter, a synthetic media feed double and the fake journal; a
 * relay child process started from a csu.yaml. Not a test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { stringify as toYaml } from 'yaml';
import { CommandVerifier } from '../../agent/src/pipeline/command-verifier.js';
import { SessionManager } from '../../agent/src/sessions/session-manager.js';
import type {
  CameraDirectory,
  FeedHandle,
  MediaFeeds,
  MediaSink,
} from '../../agent/src/media/feed.js';
import { TunnelTransmitter } from '../../agent/src/tunnel/tunnel-transmitter.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { tempDir } from '../certs/helpers.js';
import { makeAdminKey } from '../central/helpers.js';
import { FakeClockTrust, FakeJournal, FakeReplayStore } from './fakes.js';
import type { RelayWorld } from '../csu/relay-fixtures.js';

export const SITE = 'borny-hauts';
export const BOX = 'box-borny-01';

/** A feed double: the test pushes synthetic init segments and fragments into the open sinks. */
export class SyntheticFeeds implements MediaFeeds {
  readonly sinks = new Map<string, MediaSink>();
  opened = 0;
  closed = 0;
  open(sessionId: string, _cameras: unknown, sink: MediaSink): FeedHandle {
    this.opened++;
    this.sinks.set(sessionId, sink);
    return {
      close: () => {
        this.closed++;
        this.sinks.delete(sessionId);
        return Promise.resolve();
      },
    };
  }
  push(sessionId: string, camera: string, seq: number, keyframe: boolean, size = 1000): void {
    const sink = this.sinks.get(sessionId);
    if (seq === 0)
      sink?.init({ camera, mime: 'video/mp4; codecs="avc1.4d0028"', data: Buffer.alloc(64) });
    else sink?.fragment({ camera, seq, keyframe, data: Buffer.alloc(size, seq % 256) });
  }
}

export const DIRECTORY: CameraDirectory = {
  liveStream: (cameraId) => ({
    cameraId,
    streamUri: `rtsp://127.0.0.1:8554/${cameraId}`,
    username: 'u',
    password: 'p',
  }),
};

export function makeBox(world: RelayWorld, policy: Policy, graceMs = 1_500) {
  const clocks = { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() };
  const journal = new FakeJournal(clocks);
  const feeds = new SyntheticFeeds();
  let manager: SessionManager | null = null;
  const transmitter = new TunnelTransmitter({
    tls: world.boxTls,
    boxId: BOX,
    policy: () => policy,
    feeds,
    cameras: DIRECTORY,
    clocks,
    graceMs,
    redialDelayMs: 100,
    callbacks: {
      closeSession: (id, reason) => void manager?.closeSession(id, reason),
      viewerEvent: (id, event) => manager?.recordTunnelEvent(id, event),
    },
  });
  manager = new SessionManager({
    siteId: SITE,
    boxId: BOX,
    clocks,
    journal,
    transmitter,
    certificates: { boxNotAfterMs: Date.now() + 86_400_000, relayNotAfterMs: () => undefined },
    openTimeoutMs: 5_000,
  });
  const verifier = new CommandVerifier({
    siteId: SITE,
    boxId: BOX,
    clocks,
    clockTrust: new FakeClockTrust(),
    replay: new FakeReplayStore(),
  });
  verifier.setPolicy(policy, policy.version);
  void manager.setPolicy(policy); // no live session yet: applies at once
  return { manager, verifier, transmitter, journal, feeds, policy };
}

export type Box = ReturnType<typeof makeBox>;

/** Verifies and hands a signed command to the manager, as the processor does. */
export async function command(box: Box, bytes: Buffer) {
  const v = box.verifier.verify(bytes, { retained: false });
  if (!v.ok) throw new Error(`refused by the box: ${v.reason} ${v.detail}`);
  return box.manager.handle(v);
}

export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** Writes csu.yaml and the signed policy for a relay child process on `port`. */
export async function childRelayConfig(t: Test, world: RelayWorld, port: number) {
  const dir = await tempDir(t, 'vigie-csu-');
  const admin = makeAdminKey();
  const policy = world.policyFor(port);
  await fs.writeFile(path.join(dir, 'policy.bundle.json'), admin.sign(policy));
  await fs.writeFile(path.join(dir, 'admin.pub'), admin.publicKeyPem);
  const config = {
    recipientId: 'csu-metz',
    listen: { host: '127.0.0.1', port },
    tls: {
      caFile: world.pki.paths.caBundle,
      certFile: path.join(world.relayDir, 'chain.pem'),
      keyFile: path.join(world.relayDir, 'key.pem'),
      crlFile: world.pki.paths.crlBundle,
      boxesCaFile: world.pki.paths.caCert('boxes'),
    },
    policy: {
      bundleFile: 'policy.bundle.json',
      adminKid: admin.kid,
      adminPublicKeyFile: 'admin.pub',
    },
    log: { level: 'warn' },
  };
  const file = path.join(dir, 'csu.yaml');
  await fs.writeFile(file, toYaml(config));
  return { dir, file, policy };
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Starts the relay child (optionally under a wrapper such as strace); resolves once it listens. */
export async function spawnRelay(
  t: Test,
  configFile: string,
  wrapper: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const args = [
    ...wrapper,
    process.execPath,
    '--import',
    'tsx',
    'test/csu/relay-child.ts',
    configFile,
  ];
  const [cmd, ...rest] = args as [string, ...string[]];
  // Under a wrapper, a process group of its own: the test ends the wrapper and the relay together.
  const detached = wrapper.length > 0;
  // tsx would write its compile cache on a first run (a fresh clone): not the relay's doing,
  // but it would blur the no-disk trace.
  const env = { ...process.env, TSX_DISABLE_CACHE: '1' };
  const child = spawn(cmd, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached, env });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (detached && child.pid !== undefined) killGroup(child.pid);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay child not ready: ${stderr}`)), 20_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay child exited ${code}: ${stderr}`));
    });
  });
  return { child, port };
}

/** Kills the process group this test started (the wrapper and the relay under it). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
