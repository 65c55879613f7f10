/**
 * In-memory FAKES of the agent's ports, for unit tests of the decision logic
 * only. The real SQLite journal and replay store live in agent/src/journal/;
 * the same tests are meant to run against them too. Not a test file itself.
 */
import { randomUUID } from 'node:crypto';
import {
  appendEntry,
  JournalEntrySchema,
  type JournalEntry,
} from '../../protocol/src/journal-entry.js';
import type { AgentEvent } from '../../protocol/src/events.js';
import type { ClockTrust, Clocks, Journal, ReplayStore } from '../../agent/src/ports.js';
import type { EventSink } from '../../agent/src/sessions/agent-events.js';
import type { Timers } from '../../agent/src/sessions/timers.js';
import type {
  OpenOutcome,
  SessionTicket,
  Transmitter,
} from '../../agent/src/sessions/transmitter.js';

/** A hash-chained journal in memory; `failing = true` makes appends throw like a full disk. */
export class FakeJournal implements Journal {
  readonly entries: JournalEntry[] = [];
  readonly bootId = randomUUID();
  failing = false;
  #writable = true;

  constructor(private readonly clocks: Clocks) {}

  get writable(): boolean {
    return this.#writable;
  }

  append(type: string, data: Record<string, unknown>): JournalEntry {
    if (this.failing) {
      this.#writable = false;
      throw new Error('fake journal: no space left on device');
    }
    const prev = this.entries[this.entries.length - 1] ?? null;
    const entry = appendEntry(prev, {
      source: 'box-borny-01',
      time: new Date(this.clocks.wallNowMs()).toISOString(),
      bootId: this.bootId,
      type,
      data,
    });
    // Same validation as the real journal: a bad type or data is a bug in the caller.
    JournalEntrySchema.parse(entry);
    this.entries.push(entry);
    this.#writable = true;
    return entry;
  }

  ofType(type: string): JournalEntry[] {
    return this.entries.filter((e) => e.type === type);
  }
}

export class FakeReplayStore implements ReplayStore {
  readonly ids = new Map<string, number>();
  calls = 0;
  failing = false;

  remember(id: string, keepUntilWallMs: number): boolean {
    this.calls++;
    if (this.failing) throw new Error('fake replay store: disk I/O error');
    if (this.ids.has(id)) return false;
    this.ids.set(id, keepUntilWallMs);
    return true;
  }

  purge(wallNowMs: number): number {
    let n = 0;
    for (const [id, until] of this.ids) {
      if (until < wallNowMs) {
        this.ids.delete(id);
        n++;
      }
    }
    return n;
  }
}

/** Wall clock set by hand; monotonic clock read from a function (a sinon clock's `now`). */
export class FakeClocks implements Clocks {
  constructor(
    public wallMs: number,
    private readonly mono: () => number,
  ) {}
  wallNowMs(): number {
    return this.wallMs;
  }
  monoNowMs(): number {
    return this.mono();
  }
}

export class FakeClockTrust implements ClockTrust {
  trusted = true;
  check(): { trusted: true } | { trusted: false; why: string } {
    return this.trusted ? { trusted: true } : { trusted: false, why: 'fake: not synchronised' };
  }
}

/** Records opens and closes; `mode` decides how the fake relay answers. */
export class FakeTransmitter implements Transmitter {
  readonly opens: string[] = [];
  readonly closes: { sessionId: string; reason: string }[] = [];
  readonly live = new Set<string>();
  mode: 'accept' | 'reject' | 'hang' = 'accept';

  open(ticket: SessionTicket): Promise<OpenOutcome> {
    this.opens.push(ticket.sessionId);
    if (this.mode === 'hang') return new Promise<OpenOutcome>(() => undefined);
    if (this.mode === 'reject') {
      return Promise.resolve({
        accepted: false,
        reason: 'relay-rejected',
        detail: 'fake relay: ticket refused',
      });
    }
    this.live.add(ticket.sessionId);
    return Promise.resolve({ accepted: true });
  }

  close(sessionId: string, reason: string): Promise<void> {
    this.closes.push({ sessionId, reason });
    this.live.delete(sessionId);
    return Promise.resolve();
  }
}

export class FakeEventSink implements EventSink {
  readonly events: AgentEvent[] = [];
  publish(event: AgentEvent): void {
    this.events.push(event);
  }
}

/** Timers bound to one sinon fake clock (its own setTimeout, not the globals). */
export function timersOf(clock: {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}): Timers {
  return {
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clearTimeout(id),
  };
}
