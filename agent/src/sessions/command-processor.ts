/**
 * From the bytes of an MQTT message to the event that answers it: the
 * pipeline (rule 1), then the SessionManager, and every refusal journaled
 * (issue 3: "every refusal is acknowledged on evt ... and journaled"). The MQTT
 * layer publishes the returned event on `.../evt` and nothing else.
 */
import type { Logger } from '../../../lib/src/log.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import type { Journal } from '../ports.js';
import type { CommandVerifier, VerifyMeta } from '../pipeline/command-verifier.js';
import type { Refused } from '../pipeline/verification.js';
import type { AgentEvents, CommandResultEvent } from './agent-events.js';
import { JOURNAL_TYPES } from './journal-types.js';
import type { SessionManager } from './session-manager.js';

export interface CommandProcessorDeps {
  readonly verifier: CommandVerifier;
  readonly manager: SessionManager;
  readonly journal: Journal;
  readonly events: AgentEvents;
  readonly log?: Logger;
}

export class CommandProcessor {
  readonly #d: CommandProcessorDeps;

  constructor(deps: CommandProcessorDeps) {
    this.#d = deps;
  }

  /** Applies a verified, newer policy to both the pipeline and the live sessions. */
  async setPolicy(policy: Policy): Promise<void> {
    this.#d.verifier.setPolicy(policy, policy.version);
    await this.#d.manager.setPolicy(policy);
  }

  async process(bytes: Uint8Array, meta: VerifyMeta): Promise<CommandResultEvent> {
    const verdict = this.#d.verifier.verify(bytes, meta);
    if (!verdict.ok) return this.#reject(verdict, null);
    const result = await this.#d.manager.handle(verdict);
    if (!result.ok) return this.#reject(result, verdict.kid);
    return this.#d.events.ack({
      commandId: result.commandId,
      commandType: result.commandType,
      ...(result.sessionId !== undefined ? { sessionId: result.sessionId } : {}),
      ...(result.grantedTtlSec !== undefined ? { grantedTtlSec: result.grantedTtlSec } : {}),
    });
  }

  #reject(refusal: Refused, kid: string | null): CommandResultEvent {
    this.#d.log?.warn('command refused', {
      reason: refusal.reason,
      commandId: refusal.commandId,
      detail: refusal.detail,
    });
    try {
      this.#d.journal.append(JOURNAL_TYPES.commandRefused, {
        commandId: refusal.commandId,
        commandType: refusal.commandType,
        kid,
        reason: refusal.reason,
        detail: refusal.detail,
      });
    } catch (err) {
      // The refusal stands either way; an unwritable journal already refuses opens.
      this.#d.log?.error('journal append of a refusal failed', err, { reason: refusal.reason });
    }
    return this.#d.events.reject(refusal);
  }
}
