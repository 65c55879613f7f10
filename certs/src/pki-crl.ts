/**
 * Certificate revocation lists. Each CA publishes one (the root's lists revoked
 * intermediates), and crl-bundle.pem concatenates all four: Node sets
 * X509_V_FLAG_CRL_CHECK_ALL as soon as a `crl` is given, so every CA in a
 * chain must have a current CRL or the handshake fails ("unable to get
 * certificate CRL"). CRLs carry a nextUpdate (7 days by default); a CRL past
 * its nextUpdate fails the handshake too ("CRL has expired"), so `vigie pki crl`
 * must run from a timer well within that period (docs/pki.md).
 */
import { readTextFile, writeFileDurable } from '../../lib/src/files.js';
import { VigieError } from '../../lib/src/errors.js';
import { addDays } from './cert-profiles.js';
import type { CaPurpose } from './identity.js';
import { loadCa, type LoadedCa } from './pki-ca.js';
import { readIndex, writeIndex, type PkiIndex } from './pki-index.js';
import { ALL_CA_PURPOSES, pkiPaths, type PkiPaths } from './pki-layout.js';
import { withPkiLock } from './pki-lock.js';
import { createCrlPem } from './x509-adapter.js';

export const DEFAULT_CRL_DAYS = 7;
export const MAX_CRL_DAYS = 90;

export interface CrlSummary {
  purpose: CaPurpose;
  crlNumber: number;
  revoked: number;
  thisUpdate: string;
  nextUpdate: string;
}

export function assertCrlDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_CRL_DAYS) {
    throw new VigieError(
      'pki-invalid-request',
      `a CRL validity of ${days} days is not allowed: use a whole number from 1 to ${MAX_CRL_DAYS}`,
    );
  }
}

export interface SignedCrl {
  purpose: CaPurpose;
  pem: string;
  summary: CrlSummary;
}

/** Signs the next CRL of one CA from the index (CRL number = last one + 1). */
export async function signCrl(
  index: PkiIndex,
  ca: LoadedCa,
  now: Date,
  days: number,
): Promise<SignedCrl> {
  const crlNumber = (index.crlNumbers[ca.purpose] ?? 0) + 1;
  const revoked = index.certificates.filter(
    (c) => c.issuer === ca.purpose && c.kind !== 'root' && c.revokedAt !== null,
  );
  const nextUpdate = addDays(now, days);
  const pem = await createCrlPem({
    caCertPem: ca.certPem,
    signingKey: ca.signingKey,
    crlNumber,
    thisUpdate: now,
    nextUpdate,
    entries: revoked.map((c) => ({
      serial: c.serial,
      revokedAt: new Date(c.revokedAt ?? now),
      reason: c.reason ?? 'unspecified',
    })),
  });
  const summary = {
    purpose: ca.purpose,
    crlNumber,
    revoked: revoked.length,
    thisUpdate: now.toISOString(),
    nextUpdate: nextUpdate.toISOString(),
  };
  return { purpose: ca.purpose, pem, summary };
}

/**
 * Publishes signed CRLs: the index first (so a CRL number is never reused even
 * if we stop half-way), then each CRL file, then both bundles.
 */
export async function publishCrls(
  paths: PkiPaths,
  index: PkiIndex,
  crls: readonly SignedCrl[],
): Promise<PkiIndex> {
  const crlNumbers = { ...index.crlNumbers };
  for (const crl of crls) crlNumbers[crl.purpose] = crl.summary.crlNumber;
  const updated = { ...index, crlNumbers };
  await writeIndex(paths, updated);
  for (const crl of crls) {
    await writeFileDurable(paths.crl(crl.purpose), crl.pem, { overwrite: true });
  }
  await writeBundles(paths);
  return updated;
}

/** Rewrites ca-bundle.pem and crl-bundle.pem from the per-CA files, root first. */
export async function writeBundles(paths: PkiPaths): Promise<void> {
  const certs: string[] = [];
  const crls: string[] = [];
  for (const purpose of ALL_CA_PURPOSES) {
    certs.push(await readTextFile(paths.caCert(purpose), `${purpose} CA certificate`));
    crls.push(await readTextFile(paths.crl(purpose), `${purpose} CRL`));
  }
  await writeFileDurable(paths.caBundle, certs.join(''), { overwrite: true });
  await writeFileDurable(paths.crlBundle, crls.join(''), { overwrite: true });
}

export interface RegenerateCrlsOptions {
  dir: string;
  days?: number; // default: the PKI's crlDays (7 unless set at init)
  now?: Date;
}

/** `vigie pki crl`: re-signs every CRL with a fresh thisUpdate/nextUpdate. */
export async function regenerateCrls(options: RegenerateCrlsOptions): Promise<CrlSummary[]> {
  const paths = pkiPaths(options.dir);
  return withPkiLock(paths, async () => {
    const index = await readIndex(paths);
    const days = options.days ?? index.crlDays;
    assertCrlDays(days);
    const now = options.now ?? new Date();
    const crls: SignedCrl[] = [];
    for (const purpose of ALL_CA_PURPOSES) {
      crls.push(await signCrl(index, await loadCa(paths, purpose), now, days));
    }
    await publishCrls(paths, index, crls);
    return crls.map((c) => c.summary);
  });
}
