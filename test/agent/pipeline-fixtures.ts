/**
 * Shared fixtures for the agent's decision-logic tests: real Ed25519 keys, a
 * policy built from protocol/examples/policy.example.yaml with those keys,
 * signed commands, and a harness wiring the real CommandVerifier and
 * SessionManager to the fakes of fakes.ts on a sinon fake clock (installed on
 * a private object, never on the globals tap relies on). Not a test file.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import sinon from 'sinon';
import { CommandVerifier } from '../../agent/src/pipeline/command-verifier.js';
import { AgentEvents } from '../../agent/src/sessions/agent-events.js';
import { CommandProcessor } from '../../agent/src/sessions/command-processor.js';
import { SessionManager } from '../../agent/src/sessions/session-manager.js';
import type { Command, SessionOpen } from '../../protocol/src/commands.js';
import { signJson } from '../../protocol/src/envelope.js';
import { PolicySchema } from '../../protocol/src/policy.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { loadPolicySource } from '../../protocol/src/policy-source.js';
import {
  FakeClocks,
  FakeClockTrust,
  FakeEventSink,
  FakeJournal,
  FakeReplayStore,
  FakeTransmitter,
  timersOf,
} from './fakes.js';
import { makeKey, type TestKey } from '../protocol/fixtures/messages.js';

export const SITE = 'borny-hauts';
export const BOX = 'box-borny-01';
/** Tuesday 3 March 2026, 11:00 in Paris: inside the Mon-Fri 08:00-20:00 window. */
export const NOW_MS = Date.parse('2026-03-03T10:00:00Z');
/** Tuesday 3 March 2026, 23:30 in Paris: outside every window of borny-hauts. */
export const NIGHT_MS = Date.parse('2026-03-03T22:30:00Z');
export const DAY_MS = 24 * 3600 * 1000;

export { makeKey, type TestKey };

export const KEYS = {
  dupont: makeKey('op-dupont'),
  martin: makeKey('op-martin'),
  nuit: makeKey('op-nuit-prestataire'), // csu-metz only
  chef: makeKey('op-chef'), // admin only: may close, never open
  ancien: makeKey('op-ancien'), // validity ended
  intrus: makeKey('op-intrus'), // in no policy
};

const EXAMPLE = path.resolve(import.meta.dirname, '../../protocol/examples/policy.example.yaml');
const example = await loadPolicySource(EXAMPLE, new Date('2026-01-05T09:00:00Z'));

/** The example policy with our keys, two extra operators and `trafics` not allowed. */
export function testPolicy(edit: (p: Policy) => void = () => undefined): Policy {
  const p = structuredClone(example);
  for (const op of p.operators) {
    const key = Object.values(KEYS).find((k) => k.kid === op.kid);
    if (key) op.publicKey = key.publicKeyPem;
  }
  const base = { validFrom: '2025-01-01T00:00:00Z', validUntil: '2027-12-31T23:00:00Z' };
  p.operators.push(
    {
      kid: 'op-chef',
      name: 'Chef de salle',
      publicKey: KEYS.chef.publicKeyPem,
      roles: ['admin'],
      recipients: [],
      ...base,
    },
    {
      kid: 'op-ancien',
      name: 'Ancien opérateur',
      publicKey: KEYS.ancien.publicKeyPem,
      roles: ['operator'],
      recipients: ['csu-metz'],
      validFrom: '2025-01-01T00:00:00Z',
      validUntil: '2026-01-01T00:00:00Z',
    },
  );
  p.purposes = p.purposes.filter((x) => x !== 'trafics');
  edit(p);
  return PolicySchema.parse(p);
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function openCommand(nowMs: number, overrides: Partial<SessionOpen> = {}): SessionOpen {
  return {
    id: randomUUID(),
    type: 'session.open',
    siteId: SITE,
    issuedAt: iso(nowMs - 1000),
    expiresAt: iso(nowMs + 60_000),
    sessionId: randomUUID(),
    cameras: ['cam-01', 'cam-02'],
    recipient: 'csu-metz',
    purpose: 'occupation-parties-communes',
    trigger: { kind: 'occupation' },
    callRef: 'CSU-2026-000123',
    requestedTtlSec: 1200,
    ...overrides,
  };
}

export function closeCommand(nowMs: number, sessionId: string): Command {
  return {
    id: randomUUID(),
    type: 'session.close',
    siteId: SITE,
    issuedAt: iso(nowMs - 1000),
    expiresAt: iso(nowMs + 60_000),
    sessionId,
  };
}

export function extendCommand(nowMs: number, sessionId: string, newTtlSec: number): Command {
  return {
    id: randomUUID(),
    type: 'session.extend',
    siteId: SITE,
    issuedAt: iso(nowMs - 1000),
    expiresAt: iso(nowMs + 60_000),
    sessionId,
    newTtlSec,
  };
}

export function closeAllCommand(nowMs: number): Command {
  return {
    id: randomUUID(),
    type: 'sessions.close-all',
    issuedAt: iso(nowMs - 1000),
    expiresAt: iso(nowMs + 60_000),
    scope: { siteId: SITE },
  };
}

/** Any JSON value, signed as it is (so tests can sign schema-invalid payloads too). */
export function sign(value: unknown, key: TestKey = KEYS.dupont): Buffer {
  return signJson(value, key.signer);
}

export interface HarnessOptions {
  readonly wallMs?: number;
  readonly policy?: Policy | null;
  readonly boxNotAfterMs?: number;
  readonly relayNotAfterMs?: number;
  readonly sweepEveryMs?: number;
}

/** One "boot" of the agent's decision logic on fakes; `clock` drives the monotonic time. */
export function makeHarness(
  opts: HarnessOptions = {},
  shared?: { journal: FakeJournal; replay: FakeReplayStore; transmitter: FakeTransmitter },
) {
  const ctx = { Date, Promise, setTimeout, clearTimeout } as unknown as typeof globalThis;
  // `global` (sinon's option, missing from its types) keeps tap's own timers real.
  const fakeOnly: ('setTimeout' | 'clearTimeout')[] = ['setTimeout', 'clearTimeout'];
  const config = { now: 1_000, global: ctx, toFake: fakeOnly };
  const clock = sinon.useFakeTimers(config);
  const clocks = new FakeClocks(opts.wallMs ?? NOW_MS, () => clock.now);
  const journal = shared?.journal ?? new FakeJournal(clocks);
  const replay = shared?.replay ?? new FakeReplayStore();
  const transmitter = shared?.transmitter ?? new FakeTransmitter();
  const trust = new FakeClockTrust();
  const sink = new FakeEventSink();
  const verifier = new CommandVerifier({
    siteId: SITE,
    boxId: BOX,
    clocks,
    clockTrust: trust,
    replay,
  });
  const manager = new SessionManager({
    siteId: SITE,
    boxId: BOX,
    clocks,
    journal,
    transmitter,
    timers: timersOf(clock),
    events: sink,
    sweepEveryMs: opts.sweepEveryMs ?? 60_000,
    certificates: {
      boxNotAfterMs: opts.boxNotAfterMs ?? NOW_MS + 365 * DAY_MS,
      relayNotAfterMs: () => opts.relayNotAfterMs,
    },
  });
  const events = new AgentEvents(SITE, BOX, clocks);
  const processor = new CommandProcessor({ verifier, manager, journal, events });
  return { clock, clocks, journal, replay, transmitter, trust, sink, verifier, manager, processor };
}

export type Harness = ReturnType<typeof makeHarness>;

/** A harness with the test policy applied and the manager started. */
export async function startedHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const h = makeHarness(opts);
  if (opts.policy !== null) await h.processor.setPolicy(opts.policy ?? testPolicy());
  h.manager.start();
  return h;
}
