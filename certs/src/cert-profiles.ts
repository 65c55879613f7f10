/**
 * What each kind of certificate may do, as data. The adapter turns a profile
 * into X.509 extensions; tests read the extensions back with openssl and Node.
 *
 * - root: CA, pathLen 1 (one level of intermediates), keyCertSign + cRLSign.
 * - intermediate: CA, pathLen 0 (signs leaves only), keyCertSign + cRLSign.
 * - service: serverAuth + clientAuth (broker, register and relays listen, and
 *   the relay and register also dial other services).
 * - box, person: clientAuth only (a box listens on nothing on the WAN side).
 * Every leaf: digitalSignature only (TLS 1.3 with ECDSA signs, never encrypts).
 */
import type { IdentityKind } from './identity.js';

export type KeyUsage = 'digitalSignature' | 'keyCertSign' | 'cRLSign';
export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';
export type CertKind = 'root' | 'intermediate' | IdentityKind;

export interface CertProfile {
  ca: { pathLen: number } | null;
  keyUsage: readonly KeyUsage[];
  extKeyUsage: readonly ExtendedKeyUsage[];
}

const CA_KEY_USAGE: readonly KeyUsage[] = ['keyCertSign', 'cRLSign'];

export const CERT_PROFILES: Readonly<Record<CertKind, CertProfile>> = {
  root: { ca: { pathLen: 1 }, keyUsage: CA_KEY_USAGE, extKeyUsage: [] },
  intermediate: { ca: { pathLen: 0 }, keyUsage: CA_KEY_USAGE, extKeyUsage: [] },
  service: { ca: null, keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth', 'clientAuth'] },
  box: { ca: null, keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'] },
  person: { ca: null, keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'] },
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Validity in days: root 10 years, intermediates 5 years, leaves as `--days` says. */
export const DEFAULT_VALIDITY_DAYS: Readonly<Record<CertKind, number>> = {
  root: 3653, // 10 years
  intermediate: 1827, // 5 years
  box: 397, // the CA/Browser Forum ceiling, renewed yearly with a month of overlap
  service: 397,
  person: 365, // prefecture approvals are reviewed yearly
};

/** Leaf notBefore is backdated so a peer whose clock is a little behind still accepts it. */
export const BACKDATE_MS = 5 * 60 * 1000;

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}
