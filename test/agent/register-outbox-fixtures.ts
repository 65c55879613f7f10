/**
 * What the outbox tests on loopback share (not a test file): an outbox for a
 * box of the register world, bounded waits on its events, entries appended.
 */
import { createPublicKey } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Test } from 'tap';
import { RegisterOutbox } from '../../agent/src/register/outbox.js';
import { Logger } from '../../lib/src/log.js';
import type { AlarmCode } from '../../protocol/src/alarms.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import {
  REGISTER_KID,
  TEST_BOOT_ID,
  type BoxFixture,
  type RegisterWorld,
} from '../central/register-ingest-fixtures.js';

export const WAIT_MS = 10_000;

export interface Harness {
  outbox: RegisterOutbox;
  alarms: { code: AlarmCode; detail: string }[];
  /** Entry types the box's journal refused to append (a head it did not sign). */
  journalRefused: string[];
}

export function startOutbox(
  t: Test,
  world: RegisterWorld,
  box: BoxFixture,
  port: number,
  overrides: { batchEntries?: number; backlogHighWater?: number } = {},
): Harness {
  const alarms: Harness['alarms'] = [];
  const journalRefused: string[] = [];
  const outbox = new RegisterOutbox({
    config: {
      address: `127.0.0.1:${port}`,
      serverName: '127.0.0.1',
      publicKeyFile: world.registerPubFile,
      kid: REGISTER_KID,
      batchEntries: overrides.batchEntries ?? 40,
      reconnectMinMs: 100,
      reconnectMaxMs: 300,
      responseTimeoutMs: 5000,
      backlogHighWater: overrides.backlogHighWater ?? 100_000,
      minFreeDiskPercent: 0,
    },
    source: box.boxId,
    bootId: TEST_BOOT_ID,
    journal: box.journal(),
    kv: box.kv(),
    tls: box.material,
    signingKey: box.key,
    registerKey: createPublicKey(world.registerKey),
    dataDir: box.dataDir,
    wallNowMs: () => Date.now(),
    log: new Logger('outbox', { level: 'error', sink: { write: () => undefined } }),
    onAlarm: (code, _severity, detail) => alarms.push({ code, detail }),
    // As the agent does (#journalQuietly): a journal that refuses the entry (a tampered
    // head, a full disk) must not keep the alarm from being raised.
    onJournal: (type, data) => {
      try {
        box.journal().append(type, data);
      } catch {
        journalRefused.push(type);
      }
    },
  });
  t.teardown(() => outbox.stop());
  outbox.start();
  return { outbox, alarms, journalRefused };
}

/** Resolves with the first `event` whose argument satisfies `check`; rejects after the bound. */
export function eventWhere<T>(
  emitter: EventEmitter,
  event: string,
  check: (value: T) => boolean,
  timeoutMs = WAIT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const on = (value: T): void => {
      if (!check(value)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, on);
  });
}

export function append(box: BoxFixture, count: number): JournalEntry[] {
  const journal = box.journal();
  return Array.from({ length: count }, (_, i) =>
    journal.append(i % 2 === 0 ? 'session.opened' : 'session.closed', { sessionId: `s-${i}` }),
  );
}

export const lastSeq = (box: BoxFixture): number => box.journal().lastEntry()?.seq ?? 0;
