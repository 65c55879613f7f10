/**
 * Property (issue 3): random interleavings of open, close, extend, timeout,
 * redelivery, close-all and restart never leave a session past its deadline
 * and never produce two opens for one id. Sinon fake timers drive the
 * deadlines; each boot has its own fake clock and relay, the journal and the
 * replay store survive restarts as the SQLite files do.
 */
import t from 'tap';
import fc from 'fast-check';
import { recoverAfterRestart } from '../../agent/src/sessions/restart-recovery.js';
import {
  closeAllCommand,
  closeCommand,
  extendCommand,
  KEYS,
  makeHarness,
  NOW_MS,
  openCommand,
  sign,
  testPolicy,
  type Harness,
} from './pipeline-fixtures.js';
import { FakeTransmitter } from './fakes.js';

type Action =
  | { kind: 'open'; slot: number; ttl: number }
  | { kind: 'close'; slot: number }
  | { kind: 'extend'; slot: number; ttl: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'redeliver'; index: number }
  | { kind: 'close-all' }
  | { kind: 'restart' };

const SESSION_IDS = [
  '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e81',
  '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e82',
  '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e83',
];
const slot = fc.integer({ min: 0, max: SESSION_IDS.length - 1 });
const ttl = fc.integer({ min: 30, max: 3600 });

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('open' as const), slot, ttl }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('close' as const), slot }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('extend' as const), slot, ttl }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 0, max: 1_500_000 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('redeliver' as const), index: fc.nat() }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'close-all' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'restart' as const }), weight: 1 },
);

class World {
  h!: Harness;
  readonly sent: Buffer[] = [];
  readonly opens: string[] = [];
  wallMs = NOW_MS;

  async boot(previous?: Harness): Promise<void> {
    const transmitter = new FakeTransmitter();
    const shared = previous && { journal: previous.journal, replay: previous.replay, transmitter };
    this.h = makeHarness({ wallMs: this.wallMs }, shared);
    const realOpen = transmitter.open.bind(transmitter);
    transmitter.open = (ticket) => {
      this.opens.push(ticket.sessionId);
      return realOpen(ticket);
    };
    if (previous) {
      const r = recoverAfterRestart([...previous.journal.entries], this.h.journal);
      this.h.manager.rememberSessionIds(r.knownSessionIds);
    }
    await this.h.processor.setPolicy(testPolicy());
    this.h.manager.start();
  }

  async send(bytes: Buffer): Promise<void> {
    this.sent.push(bytes);
    await this.h.processor.process(bytes, { retained: false });
  }

  async run(a: Action): Promise<void> {
    const now = this.wallMs;
    const id = (s: number) => SESSION_IDS[s] ?? '';
    switch (a.kind) {
      case 'open': {
        const trigger = { kind: 'urgence' as const, officer: 'Cne Leroy' }; // any hour of the day
        return this.send(
          sign(openCommand(now, { sessionId: id(a.slot), requestedTtlSec: a.ttl, trigger })),
        );
      }
      case 'close':
        return this.send(sign(closeCommand(now, id(a.slot))));
      case 'extend':
        return this.send(sign(extendCommand(now, id(a.slot), a.ttl)));
      case 'close-all':
        return this.send(sign(closeAllCommand(now), KEYS.martin));
      case 'redeliver': {
        const bytes = this.sent[a.index % Math.max(1, this.sent.length)];
        if (bytes) await this.h.processor.process(bytes, { retained: false });
        return;
      }
      case 'tick':
        this.wallMs += a.ms;
        this.h.clocks.wallMs = this.wallMs;
        await this.h.clock.tickAsync(a.ms);
        return;
      case 'restart':
        // kill -9: the old boot's timers and tunnels die with it.
        return this.boot(this.h);
    }
  }

  /** No live session has reached its monotonic deadline. */
  noneOverdue(): boolean {
    const mono = this.h.clocks.monoNowMs();
    return this.h.manager.sessions.every((s) => mono < s.deadlineMonoMs);
  }
}

function counts(values: readonly unknown[]): Map<unknown, number> {
  const m = new Map<unknown, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

t.test('interleavings never leave a session past its deadline nor open an id twice', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { maxLength: 25 }), async (actions) => {
      const w = new World();
      await w.boot();
      for (const action of actions) {
        await w.run(action);
        if (!w.noneOverdue()) return false;
      }
      await w.h.manager.stop();
      const journal = w.h.journal;
      const maxOf = (m: Map<unknown, number>) => Math.max(0, ...m.values());
      const opened = counts(journal.ofType('session.opened').map((e) => e.data.sessionId));
      const accepted = counts(journal.ofType('session.open-accepted').map((e) => e.data.sessionId));
      const closed = counts(journal.ofType('session.closed').map((e) => e.data.sessionId));
      if (maxOf(opened) > 1 || maxOf(accepted) > 1 || maxOf(counts(w.opens)) > 1) return false;
      // Every accepted session ends exactly once in the journal.
      return [...accepted.keys()].every((id) => closed.get(id) === 1);
    }),
    { numRuns: 150 },
  );
  t.pass('property holds');
});
