/**
 * A readable summary of a verified policy for the administrator's terminal:
 * version, convention period and whether it is in force at `now`, operators,
 * recipients, sites and camera counts. Times in Europe/Paris with the offset.
 */
import { conventionPeriodInForce } from './convention-period.js';
import { formatParis, parisMidnight } from './paris-time.js';
import type { Operator, Policy } from './policy-schema.js';

export interface SummaryContext {
  readonly now: Date;
  readonly signerKid?: string;
  readonly previousVersion?: number;
}

function renewalText(policy: Policy): string {
  const r = policy.convention.renewal;
  switch (r.mode) {
    case 'tacit':
      return r.terminationNoticeAt
        ? `tacit renewal, notice of termination given on ${r.terminationNoticeAt} (${r.noticeMonths} months' notice)`
        : `tacit renewal (${r.noticeMonths} months' notice)`;
    case 'express':
      return r.renewedUntil
        ? `express renewal, renewed until ${r.renewedUntil}`
        : 'express renewal, not renewed yet';
  }
}

function conventionLines(policy: Policy, now: Date): string[] {
  const c = policy.convention;
  const end = conventionPeriodInForce(policy, now);
  const status = end
    ? `IN FORCE at ${formatParis(now)}; period in force ends ${formatParis(end)}`
    : now < parisMidnight(c.startsAt)
      ? `NOT IN FORCE at ${formatParis(now)}: starts ${c.startsAt}`
      : `NOT IN FORCE at ${formatParis(now)}: lapsed; no session can open`;
  return [
    `Convention ${c.id}${c.title ? ` (${c.title})` : ''}`,
    `  signed ${c.signedAt}, starts ${c.startsAt}, ${c.periodMonths}-month periods, ${renewalText(policy)}`,
    `  ${status}`,
  ];
}

function validity(op: Operator, now: Date): string {
  if (now.getTime() < Date.parse(op.validFrom)) return 'not yet valid';
  if (now.getTime() >= Date.parse(op.validUntil)) return 'EXPIRED';
  return 'valid';
}

export function summarisePolicy(policy: Policy, context: SummaryContext): string {
  const { now } = context;
  const cameras = policy.sites.flatMap((s) => s.cameras);
  const lines = [
    `Policy version ${policy.version}, issued ${formatParis(new Date(policy.issuedAt))}` +
      (context.signerKid ? `, signed by ${context.signerKid}` : '') +
      (context.previousVersion !== undefined
        ? ` (replaces version ${context.previousVersion})`
        : ''),
    ...conventionLines(policy, now),
    `Purposes: ${policy.purposes.join(', ')}`,
    `Limits: max TTL ${policy.maxTtlSec} s, clock skew ${policy.clockSkewSec} s, ${policy.timeWindows.length} time window(s)`,
    `Operators (${policy.operators.length}):`,
    ...policy.operators.map(
      (op) =>
        `  ${op.kid}  ${op.name}  roles ${op.roles.join('+')}  recipients ${op.recipients.join(', ') || '-'}  ` +
        `${op.validFrom} -> ${op.validUntil} (${validity(op, now)})`,
    ),
    `Recipients (${policy.recipients.length}):`,
    ...policy.recipients.map(
      (r) =>
        `  ${r.id}  ${r.name}  relay ${r.relay} (${r.serverName})  max TTL ${r.maxTtlSec} s  ${r.territory}`,
    ),
    `Sites (${policy.sites.length}), cameras ${cameras.length} (${cameras.filter((c) => c.transmissible).length} transmissible):`,
    ...policy.sites.map(
      (s) =>
        `  ${s.id}  ${s.name}  ${s.cameras.length} camera(s), ${s.cameras.filter((c) => c.transmissible).length} transmissible`,
    ),
  ];
  return lines.join('\n') + '\n';
}
