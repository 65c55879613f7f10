/**
 * RFC 5280 section 5.3.1 reason codes, by the kebab-case names the CLI accepts.
 * certificateHold (6) and removeFromCRL (8) are not offered: a revocation here
 * is final, and a suspended box gets a new certificate instead.
 */
export const CRL_REASON_CODES = {
  unspecified: 0,
  'key-compromise': 1,
  'ca-compromise': 2,
  'affiliation-changed': 3,
  superseded: 4,
  'cessation-of-operation': 5,
  'privilege-withdrawn': 9,
} as const;

export type RevocationReason = keyof typeof CRL_REASON_CODES;

export const REVOCATION_REASONS = Object.keys(CRL_REASON_CODES) as RevocationReason[];

export function isRevocationReason(value: string): value is RevocationReason {
  return Object.hasOwn(CRL_REASON_CODES, value);
}
