/**
 * The verdict of the verification pipeline (DESIGN rule 1): either a command
 * that passed every check, with the exact signed bytes (the relay receives
 * them as the session ticket), or one refusal with a stable reason code.
 */
import type { Command, CommandType } from '../../../protocol/src/commands.js';
import type { ReasonParams } from '../../../protocol/src/reason-text.js';
import type { RefusalCode } from '../../../protocol/src/refusal-reasons.js';
import type { Operator } from '../../../protocol/src/policy-schema.js';

export interface Accepted {
  readonly ok: true;
  readonly command: Command;
  readonly kid: string;
  readonly payloadBytes: Buffer;
  /** The whole signed envelope as received: what the relay verifies on its own (rule 6). */
  readonly envelopeBytes: Buffer;
  readonly operator: Operator;
  readonly policyVersion: number;
  /** An open outside every time window, let through by an `urgence` trigger (journal it as such). */
  readonly urgenceOutsideWindow: boolean;
  /** Close commands are let through on an untrusted clock (closing is the safe direction). */
  readonly clockTrusted: boolean;
}

export interface Refused {
  readonly ok: false;
  readonly reason: RefusalCode;
  readonly params: ReasonParams;
  /** null when the command could not be read or its signature did not verify. */
  readonly commandId: string | null;
  readonly commandType: CommandType | null;
  /** For logs and the register, in English; bounded to one line of 500 chars (events schema). */
  readonly detail: string;
}

export type Verification = Accepted | Refused;

/** A refusal before the command id is known or trusted. */
export interface Refusal {
  readonly reason: RefusalCode;
  readonly params?: ReasonParams;
  readonly detail: string;
}

export const MAX_DETAIL_CHARS = 500;

/** One printable line of at most MAX_DETAIL_CHARS: zod issues arrive multi-line. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length <= MAX_DETAIL_CHARS ? flat : `${flat.slice(0, MAX_DETAIL_CHARS - 1)}…`;
}

export function refused(
  refusal: Refusal,
  commandId: string | null,
  commandType: CommandType | null,
): Refused {
  return {
    ok: false,
    reason: refusal.reason,
    params: refusal.params ?? {},
    commandId,
    commandType,
    detail: oneLine(refusal.detail) || refusal.reason,
  };
}
