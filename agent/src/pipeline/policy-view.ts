/**
 * What the pipeline needs from one policy version, computed once when the
 * version is applied: the operators' keyring (PEM parsing per message would
 * halve throughput, docs/protocol.md), and lookups by kid, recipient and camera
 * for this box's site. Immutable: a verifier swaps the whole view on update.
 */
import { operatorKeyring } from '../../../protocol/src/policy.js';
import type { Keyring } from '../../../protocol/src/keyring.js';
import type {
  Camera,
  Operator,
  Policy,
  Recipient,
  Site,
} from '../../../protocol/src/policy-schema.js';

export interface PolicyView {
  readonly policy: Policy;
  readonly version: number;
  readonly keyring: Keyring;
  readonly operators: ReadonlyMap<string, Operator>;
  readonly recipients: ReadonlyMap<string, Recipient>;
  /** This box's site, or null when the policy does not list it (or lists other boxes for it). */
  readonly site: Site | null;
  readonly cameras: ReadonlyMap<string, Camera>;
  readonly skewMs: number;
}

function siteForBox(policy: Policy, siteId: string, boxId: string): Site | null {
  const site = policy.sites.find((s) => s.id === siteId);
  if (!site) return null;
  // A site that names its boxes does not speak for any other box (a cloned SD card).
  if (site.boxIds !== undefined && !site.boxIds.includes(boxId)) return null;
  return site;
}

export function buildPolicyView(
  policy: Policy,
  version: number,
  siteId: string,
  boxId: string,
): PolicyView {
  const site = siteForBox(policy, siteId, boxId);
  return {
    policy,
    version,
    keyring: operatorKeyring(policy),
    operators: new Map(policy.operators.map((op) => [op.kid, op])),
    recipients: new Map(policy.recipients.map((r) => [r.id, r])),
    site,
    cameras: new Map((site?.cameras ?? []).map((c) => [c.id, c])),
    skewMs: policy.clockSkewSec * 1000,
  };
}
