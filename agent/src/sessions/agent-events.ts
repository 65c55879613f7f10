/**
 * Builds the agent's events (protocol/src/events.ts) so that the MQTT layer
 * only publishes them: acknowledgements and refusals of commands, session
 * lifecycle, alarms. Every event gets a fresh id, the site, the box and the time.
 */
import { randomUUID } from 'node:crypto';
import type { AlarmCode } from '../../../protocol/src/alarms.js';
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import type { CommandType } from '../../../protocol/src/commands.js';
import type { AgentEvent } from '../../../protocol/src/events.js';
import type { Clocks } from '../ports.js';
import { oneLine, type Refused } from '../pipeline/verification.js';
import type { Session } from './session.js';

export type CommandAck = Extract<AgentEvent, { type: 'command.ack' }>;
export type CommandReject = Extract<AgentEvent, { type: 'command.reject' }>;
export type CommandResultEvent = CommandAck | CommandReject;

export interface EventSink {
  publish(event: AgentEvent): void;
}

export interface AckFields {
  readonly commandId: string;
  readonly commandType: CommandType;
  readonly sessionId?: string;
  readonly grantedTtlSec?: number;
}

export class AgentEvents {
  readonly #siteId: string;
  readonly #boxId: string;
  readonly #clocks: Clocks;

  constructor(siteId: string, boxId: string, clocks: Clocks) {
    this.#siteId = siteId;
    this.#boxId = boxId;
    this.#clocks = clocks;
  }

  #base() {
    return {
      id: randomUUID(),
      siteId: this.#siteId,
      boxId: this.#boxId,
      time: new Date(this.#clocks.wallNowMs()).toISOString(),
    };
  }

  ack(fields: AckFields): CommandAck {
    return { ...this.#base(), type: 'command.ack', ...fields };
  }

  reject(refusal: Refused): CommandReject {
    const params = Object.fromEntries(
      Object.entries(refusal.params).filter(([, v]) => v !== undefined),
    ) as Record<string, string | number>;
    return {
      ...this.#base(),
      type: 'command.reject',
      commandId: refusal.commandId,
      reason: refusal.reason,
      ...(Object.keys(params).length > 0 ? { params } : {}),
      detail: oneLine(refusal.detail),
    };
  }

  opened(session: Session): AgentEvent {
    const expiresAtMs = this.#clocks.wallNowMs() + session.remainingMs;
    return {
      ...this.#base(),
      type: 'session.opened',
      sessionId: session.id,
      commandId: session.spec.commandId,
      recipient: session.spec.recipient,
      cameras: [...session.spec.cameras],
      ttlSec: session.ttlSec,
      expiresAt: new Date(expiresAtMs).toISOString(),
    };
  }

  closed(session: Session, reason: CloseReason): AgentEvent {
    return {
      ...this.#base(),
      type: 'session.closed',
      sessionId: session.id,
      reason,
      durationSec: Math.round(session.elapsedSec),
    };
  }

  alarm(alarm: AlarmCode, severity: 'warning' | 'critical', detail: string): AgentEvent {
    return { ...this.#base(), type: 'alarm', alarm, severity, detail: oneLine(detail) };
  }
}
