/**
 * `vigie pki revoke`: marks a certificate revoked in the index, with an RFC
 * 5280 reason, then re-signs the CRL of the CA that issued it (the root's CRL
 * for an intermediate) and the CRL bundle. Peers see the revocation when they
 * reload crl-bundle.pem.
 */
import { VigieError } from '../../lib/src/errors.js';
import { normaliseSerial } from './keys.js';
import { loadCa } from './pki-ca.js';
import { publishCrls, signCrl, type CrlSummary } from './pki-crl.js';
import { readIndex, type IndexEntry, type PkiIndex } from './pki-index.js';
import { pkiPaths } from './pki-layout.js';
import { withPkiLock } from './pki-lock.js';
import {
  isRevocationReason,
  REVOCATION_REASONS,
  type RevocationReason,
} from './revocation-reasons.js';

export type RevokeTarget = { serial: string } | { name: string };

export interface RevokeOptions {
  dir: string;
  target: RevokeTarget;
  reason: string;
  now?: Date;
}

export interface RevokeResult {
  serial: string;
  subject: string;
  reason: RevocationReason;
  revokedAt: string;
  crl: CrlSummary;
}

function describe(entry: IndexEntry): string {
  return `${entry.serial} (${entry.subject}, ${entry.identity ?? 'no identity'})`;
}

/** Finds the certificate to revoke: by serial, or by CN / identity URI if exactly one is live. */
export function findTarget(index: PkiIndex, target: RevokeTarget): IndexEntry {
  if ('serial' in target) {
    const serial = normaliseSerial(target.serial);
    const entry = index.certificates.find((c) => c.serial === serial);
    if (!entry) {
      throw new VigieError(
        'pki-unknown-certificate',
        `no certificate with serial ${serial} in this PKI`,
      );
    }
    return entry;
  }
  const matches = index.certificates.filter(
    (c) => c.commonName === target.name || c.identity === target.name,
  );
  const live = matches.filter((c) => c.revokedAt === null);
  if (matches.length === 0) {
    throw new VigieError(
      'pki-unknown-certificate',
      `no certificate named "${target.name}" in this PKI (match is on the CN or the urn:vigie: identity; see \`vigie pki list\`)`,
    );
  }
  if (live.length > 1) {
    throw new VigieError(
      'pki-ambiguous-name',
      `"${target.name}" matches ${live.length} unrevoked certificates: ${live.map(describe).join('; ')}; revoke with --serial`,
    );
  }
  return live[0] ?? (matches[0] as IndexEntry);
}

export async function revokeCertificate(options: RevokeOptions): Promise<RevokeResult> {
  const reason = options.reason;
  if (!isRevocationReason(reason)) {
    throw new VigieError(
      'pki-invalid-request',
      `reason "${reason}" is not one of: ${REVOCATION_REASONS.join(', ')}`,
    );
  }
  const paths = pkiPaths(options.dir);
  return withPkiLock(paths, async () => {
    const index = await readIndex(paths);
    const entry = findTarget(index, options.target);
    if (entry.kind === 'root') {
      throw new VigieError(
        'pki-invalid-request',
        'the root CA cannot be revoked: stop distributing ca-bundle.pem and initialise a new PKI',
      );
    }
    if (entry.revokedAt !== null) {
      throw new VigieError(
        'pki-already-revoked',
        `${describe(entry)} was revoked on ${entry.revokedAt}`,
      );
    }
    const now = options.now ?? new Date();
    const revoked: IndexEntry = { ...entry, revokedAt: now.toISOString(), reason };
    const updated: PkiIndex = {
      ...index,
      certificates: index.certificates.map((c) => (c.serial === entry.serial ? revoked : c)),
    };
    const crl = await signCrl(updated, await loadCa(paths, entry.issuer), now, index.crlDays);
    await publishCrls(paths, updated, [crl]);
    return {
      serial: entry.serial,
      subject: entry.subject,
      reason,
      revokedAt: revoked.revokedAt ?? now.toISOString(),
      crl: crl.summary,
    };
  });
}
