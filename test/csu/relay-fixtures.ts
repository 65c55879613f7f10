/**
 * Fixtures for the relay and tunnel tests: a throwaway PKI (relay service
 * certificate, a box certificate of borny-hauts), the test policy with the
 * csu-metz recipient pointing at the relay on loopback, tickets signed with
 * the operators' test keys, a raw box-side gRPC client, manual timers for the
 * relay's deadline. Not a test file.
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { Clocks } from '../../agent/src/ports.js';
import type { Timers } from '../../agent/src/sessions/timers.js';
import { dialRelay } from '../../agent/src/tunnel/relay-dial.js';
import type { TlsMaterial } from '../../certs/src/tls-profile.js';
import { Relay, type RelayLimits } from '../../csu/src/relay/relay.js';
import { RelayPolicy } from '../../csu/src/relay/ticket-checks.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import type { BoxTunnelStream } from '../../protocol/src/tunnel-wire.js';
import { type TunnelDownIn, type TunnelUp } from '../../protocol/src/tunnel-proto.js';
import { makePki, type TestPki } from '../certs/helpers.js';
import { BORNY } from '../central/helpers.js';
import { ALWAYS } from '../e2e/harness.js';
import { KEYS, openCommand, sign, testPolicy } from '../agent/pipeline-fixtures.js';

export { BORNY, KEYS, openCommand, sign };

export const RELAY_SERVICE = {
  kind: 'service',
  name: 'relay-csu-metz',
  dns: ['localhost'],
  ips: ['127.0.0.1'],
} as const;

/** Monotonic time you move by hand; timers fire when it passes them. */
export class ManualTime implements Timers, Clocks {
  mono = 1_000_000;
  wall: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  constructor(wall: number) {
    this.wall = wall;
  }
  wallNowMs(): number {
    return this.wall;
  }
  monoNowMs(): number {
    return this.mono;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.mono + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    this.mono += ms;
    this.wall += ms;
    for (const [id, t] of [...this.#timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.mono && this.#timers.has(id)) {
        this.#timers.delete(id);
        t.fn();
      }
    }
  }
}

export interface RelayWorld {
  pki: TestPki;
  relayDir: string;
  boxDir: string;
  boxTls: TlsMaterial;
  rootPem: string;
  policyFor(port: number, edit?: (p: Policy) => void): Policy;
}

export async function makeRelayWorld(t: Test): Promise<RelayWorld> {
  const pki = await makePki(t);
  const relayDir = await pki.issue(RELAY_SERVICE);
  const boxDir = await pki.issue({ kind: 'box', ...BORNY });
  const boxTls = await pki.material(boxDir);
  const rootPem = await fs.readFile(pki.paths.caCert('root'), 'utf8');
  return {
    pki,
    relayDir,
    boxDir,
    boxTls,
    rootPem,
    policyFor(port, edit = () => undefined) {
      return testPolicy((p) => {
        p.timeWindows = ALWAYS;
        for (const r of p.recipients) {
          r.relay = `127.0.0.1:${port}`;
          r.caPem = rootPem;
          r.serverName = 'localhost';
        }
        edit(p);
      });
    },
  };
}

export const TEST_LIMITS: RelayLimits = {
  gopMaxBytes: 1024 * 1024,
  subscriberMaxBytes: 256 * 1024,
  redialGraceMs: 5_000,
  maxSessions: 8,
  closedIdsKept: 1000,
};

export async function startTestRelay(
  t: Test,
  world: RelayWorld,
  opts: { time?: ManualTime; limits?: Partial<RelayLimits>; policy?: Policy | null } = {},
): Promise<{ relay: Relay; port: number; policy: Policy }> {
  const tls = await world.pki.material(world.relayDir);
  const boxesCa = new X509Certificate(await fs.readFile(world.pki.paths.caCert('boxes')));
  const time = opts.time;
  const relay = new Relay({
    recipientId: 'csu-metz',
    tls,
    boxesCa: [boxesCa],
    listen: { host: '127.0.0.1', port: 0 },
    limits: { ...TEST_LIMITS, ...opts.limits },
    clocks: time ?? { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() },
    ...(time ? { timers: time } : {}),
  });
  t.teardown(() => relay.stop());
  const port = await relay.start();
  const policy = world.policyFor(port);
  if (opts.policy !== null) relay.setPolicy(new RelayPolicy(opts.policy ?? policy));
  return { relay, port, policy };
}

/** A raw box: one tunnel to the relay with a chosen TLS identity, messages collected. */
export class RawBox {
  readonly call: BoxTunnelStream;
  readonly down: TunnelDownIn[] = [];
  /** "closed" when the tunnel ended cleanly, "error: <why>" when it failed first. */
  readonly ended: Promise<string>;
  constructor(material: TlsMaterial, policy: Policy) {
    const recipient = policy.recipients.find((r) => r.id === 'csu-metz');
    if (!recipient) throw new Error('no csu-metz in the policy');
    this.call = dialRelay(material, recipient);
    this.call.on('data', (m: TunnelDownIn) => this.down.push(m));
    let failure: string | null = null;
    this.call.on('error', (err) => (failure ??= err.message));
    this.ended = new Promise<string>((resolve) => {
      this.call.on('close', () => resolve(failure === null ? 'closed' : `error: ${failure}`));
    });
  }
  send(m: TunnelUp): boolean {
    return this.call.write(m);
  }
  hello(ticket: Buffer, sessionId: string, boxId: string = BORNY.boxId): void {
    this.send({ hello: { ticket, session_id: sessionId, box_id: boxId } });
  }
  /** The first down message matching, bounded. */
  async next(kind: string, timeoutMs = 5_000): Promise<TunnelDownIn> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.down.find((m) => kind in m && (m as Record<string, unknown>)[kind]);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${kind} within ${timeoutMs} ms`);
      await Promise.race([once(this.call, 'data'), this.ended]);
    }
  }
  close(): void {
    this.call.destroy();
  }
}

/** A fresh ticket for borny-hauts to csu-metz, signed by op-dupont unless told. */
export function ticket(
  nowMs: number,
  overrides: Parameters<typeof openCommand>[1] = {},
  key = KEYS.dupont,
): { bytes: Buffer; sessionId: string; commandId: string } {
  const command = openCommand(nowMs, overrides);
  return { bytes: sign(command, key), sessionId: command.sessionId, commandId: command.id };
}

export function tempPath(dir: string, name: string): string {
  return path.join(dir, name);
}
