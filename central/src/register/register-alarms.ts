/**
 * How the register raises an alarm (docs/register.md, "Alarms"): always a log
 * line at error level with a stable code, and, when the central's MQTT broker
 * runs in the same process, a message on REGISTER_ALARMS_TOPIC (QoS 1, never
 * retained: an alarm is an event, the register's evidence table is the state).
 * The ingest service sees only the port; the standalone `vigie register serve`
 * logs alone.
 */
import type { Logger } from '../../../lib/src/log.js';
import type { RegisterProblemCode } from './register-rows.js';

import { REGISTER_ALARMS_TOPIC } from '../../../protocol/src/topics.js';

export { REGISTER_ALARMS_TOPIC };

/**
 * Stable codes: the store's problem codes (RegisterProblemCode: seq-gap,
 * seq-conflict, prev-hash-mismatch, hash-mismatch, head-bad-signature, ...)
 * plus what only the service sees (IngestRefusalCode).
 */
export type RegisterAlarmCode = RegisterProblemCode | IngestRefusalCode;

/** Refusals of a stream that the service decides before the store sees a batch. */
export type IngestRefusalCode =
  /** More entries or bytes before a head than the service takes in one batch. */
  | 'batch-too-large'
  /** The Hello names another source than the peer certificate. */
  | 'hello-source-mismatch'
  /** Not Hello first, a second Hello, an empty batch, an undecodable message. */
  | 'protocol-violation'
  /** The store could not make the batch durable: the source retries later. */
  | 'register-unavailable';

export interface RegisterAlarm {
  readonly code: RegisterAlarmCode;
  readonly severity: 'warning' | 'critical';
  /** The source concerned (from its certificate), null when none is known. */
  readonly source: string | null;
  /** The position concerned, when there is one. */
  readonly seq: number | null;
  readonly detail: string;
}

export interface RegisterAlarmPort {
  raise(alarm: RegisterAlarm): void;
}

export interface AlarmPublisher {
  publish(topic: string, payload: Buffer): Promise<void>;
}

/** Logs every alarm; publishes it too when a broker is given. Never throws. */
export class RegisterAlarms implements RegisterAlarmPort {
  readonly #log: Logger;
  readonly #publisher: AlarmPublisher | null;
  readonly #wallNowMs: () => number;

  constructor(log: Logger, publisher: AlarmPublisher | null, wallNowMs: () => number) {
    this.#log = log;
    this.#publisher = publisher;
    this.#wallNowMs = wallNowMs;
  }

  raise(alarm: RegisterAlarm): void {
    const message = { ...alarm, time: new Date(this.#wallNowMs()).toISOString() };
    this.#log.error(`register alarm ${alarm.code}`, undefined, message);
    this.#publisher
      ?.publish(REGISTER_ALARMS_TOPIC, Buffer.from(JSON.stringify(message), 'utf8'))
      .catch((err: unknown) => {
        this.#log.warn('register alarm not published', { code: alarm.code, err: String(err) });
      });
  }
}
