/**
 * Rule 2: TTL = min(requested, recipient max, policy max, certificates'
 * remaining life). The certificate bounds are wall-clock instants (notAfter);
 * they are read once, at open or extend, on a trusted clock, and turned into
 * seconds that the monotonic deadline then counts down.
 */
import { MIN_SESSION_TTL_SEC } from '../../../protocol/src/commands.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';

export interface CertificateBounds {
  /** The box's own client certificate notAfter, ms since the epoch. */
  readonly boxNotAfterMs: number;
  /** The recipient relay's certificate notAfter, when known (after a first tunnel). */
  relayNotAfterMs(recipient: string): number | undefined;
}

export interface TtlCaps {
  readonly recipientMaxSec: number;
  readonly policyMaxSec: number;
  /** Seconds until the first certificate expires. */
  readonly certificateLeftSec: number;
}

export function certificateLeftSec(
  certs: CertificateBounds,
  recipient: string,
  wallNowMs: number,
): number {
  const relay = certs.relayNotAfterMs(recipient) ?? Number.POSITIVE_INFINITY;
  const first = Math.min(certs.boxNotAfterMs, relay);
  return Math.max(0, Math.floor((first - wallNowMs) / 1000));
}

export type TtlVerdict =
  | { readonly ok: true; readonly ttlSec: number; readonly limitedBy: string }
  | {
      readonly ok: false;
      readonly reason: 'ttl' | 'certificate-expiring';
      readonly detail: string;
    };

/** The granted lifetime for `requestedSec`; `elapsedSec` > 0 for an extension (the cap on certificates runs from now). */
export function grantTtl(requestedSec: number, caps: TtlCaps, elapsedSec = 0): TtlVerdict {
  const bounds: [string, number][] = [
    ['requested', requestedSec],
    ['recipient maximum', caps.recipientMaxSec],
    ['policy maximum', caps.policyMaxSec],
    ['certificate lifetime', elapsedSec + caps.certificateLeftSec],
  ];
  let [limitedBy, ttlSec] = bounds[0] ?? ['requested', requestedSec];
  for (const [name, value] of bounds) {
    if (value < ttlSec) [limitedBy, ttlSec] = [name, value];
  }
  if (caps.certificateLeftSec < MIN_SESSION_TTL_SEC) {
    return {
      ok: false,
      reason: 'certificate-expiring',
      detail: `a certificate expires in ${caps.certificateLeftSec}s, under the ${MIN_SESSION_TTL_SEC}s minimum session`,
    };
  }
  return { ok: true, ttlSec: Math.floor(ttlSec), limitedBy };
}

/** The caps for a session to `recipient` under `policy`, read now. */
export function ttlCaps(
  policy: Policy,
  recipient: string,
  certs: CertificateBounds,
  wallNowMs: number,
): TtlCaps {
  const r = policy.recipients.find((x) => x.id === recipient);
  return {
    recipientMaxSec: r?.maxTtlSec ?? 0, // a recipient gone from the policy allows nothing
    policyMaxSec: policy.maxTtlSec,
    certificateLeftSec: certificateLeftSec(certs, recipient, wallNowMs),
  };
}
