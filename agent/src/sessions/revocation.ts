/**
 * Whether a live session is still allowed by the policy in force and the
 * current date (issue 3: close on a policy revoking the operator, a camera or
 * the recipient, and on convention lapse). Closing is the safe direction, so
 * these checks use the wall clock even when its trust is in doubt.
 */
import type { CloseReason } from '../../../protocol/src/close-reasons.js';
import { conventionPeriodInForce } from '../../../protocol/src/convention-period.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import { rolesAllow } from '../../../protocol/src/roles.js';
import type { SessionSpec } from './session.js';

export function revocationReason(
  spec: SessionSpec,
  policy: Policy,
  siteId: string,
  boxId: string,
  wallNowMs: number,
): CloseReason | null {
  if (conventionPeriodInForce(policy, new Date(wallNowMs)) === null) return 'convention-lapsed';
  // Before the operator: a recipient removed from the policy is also removed
  // from every operator's list, and the register should name the real cause.
  if (!policy.recipients.some((r) => r.id === spec.recipient)) return 'recipient-revoked';
  const operator = policy.operators.find((op) => op.kid === spec.kid);
  const operatorOk =
    operator !== undefined &&
    rolesAllow(operator.roles, 'session.open') &&
    operator.recipients.includes(spec.recipient) &&
    wallNowMs < Date.parse(operator.validUntil);
  if (!operatorOk) return 'operator-revoked';
  const site = policy.sites.find((s) => s.id === siteId);
  const siteOk = site !== undefined && (site.boxIds === undefined || site.boxIds.includes(boxId));
  const cameras = new Map((siteOk ? site.cameras : []).map((c) => [c.id, c]));
  const cameraGone = spec.cameras.some((id) => cameras.get(id)?.transmissible !== true);
  return cameraGone ? 'camera-revoked' : null;
}

/** The longest lifetime the policy in force allows a session to the recipient. */
export function policyTtlCapSec(policy: Policy, recipient: string): number {
  const r = policy.recipients.find((x) => x.id === recipient);
  return Math.min(policy.maxTtlSec, r?.maxTtlSec ?? 0);
}
