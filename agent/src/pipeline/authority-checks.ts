/**
 * Who signed, and may they do this (rule 1, after the signature): the key's
 * validity dates, the role for the command type, the recipient allowed for that
 * operator, and the Article 2 purpose allowed by the policy.
 */
import type { Command } from '../../../protocol/src/commands.js';
import { formatParis } from '../../../protocol/src/paris-time.js';
import { rolesAllow } from '../../../protocol/src/roles.js';
import type { Operator } from '../../../protocol/src/policy-schema.js';
import type { PolicyView } from './policy-view.js';
import type { Refusal } from './verification.js';

/**
 * The operator's validity dates on the box's wall clock. On an untrusted clock
 * the dates mean nothing: opens and extends are refused later (clock-untrusted)
 * and closes go through, since closing is the safe direction.
 */
export function checkKeyValidity(
  operator: Operator,
  nowMs: number,
  clockTrusted: boolean,
): Refusal | null {
  if (!clockTrusted) return null;
  const from = Date.parse(operator.validFrom);
  const until = Date.parse(operator.validUntil);
  if (nowMs >= from && nowMs < until) return null;
  const bound = nowMs < from ? `from ${operator.validFrom}` : `until ${operator.validUntil}`;
  return {
    reason: 'key-not-valid',
    params: {
      kid: operator.kid,
      until: formatParis(new Date(nowMs < from ? from : until)),
    },
    detail: `key ${operator.kid} is valid ${bound}; box time is ${new Date(nowMs).toISOString()}`,
  };
}

export function checkRole(operator: Operator, command: Command): Refusal | null {
  if (rolesAllow(operator.roles, command.type)) return null;
  return {
    reason: 'role',
    params: { role: operator.roles.join(','), commandType: command.type },
    detail: `roles [${operator.roles.join(', ')}] of ${operator.kid} do not allow ${command.type}`,
  };
}

/** The recipient must exist in the policy and be one this operator may open to. */
export function checkRecipient(
  operator: Operator,
  command: Command,
  view: PolicyView,
): Refusal | null {
  if (command.type !== 'session.open') return null;
  const { recipient } = command;
  if (view.recipients.has(recipient) && operator.recipients.includes(recipient)) return null;
  const why = view.recipients.has(recipient)
    ? `is not among the recipients of ${operator.kid}`
    : 'is not in the policy';
  return {
    reason: 'recipient',
    params: { recipient, policyVersion: view.version },
    detail: `recipient ${recipient} ${why} (policy version ${view.version})`,
  };
}

export function checkPurpose(command: Command, view: PolicyView): Refusal | null {
  if (command.type !== 'session.open') return null;
  if (view.policy.purposes.includes(command.purpose)) return null;
  return {
    reason: 'purpose',
    params: { purpose: command.purpose, policyVersion: view.version },
    detail: `purpose ${command.purpose} is not allowed by policy version ${view.version}`,
  };
}
