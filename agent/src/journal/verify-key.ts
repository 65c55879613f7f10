/**
 * The public key that journal heads are checked with: from the box's X.509
 * certificate (the usual case: the register knows a box by its certificate)
 * or from a bare SPKI PEM public key.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { identityFromCertificate } from '../../../certs/src/identity.js';
import { VigieError } from '../../../lib/src/errors.js';
import { headKeyKind } from '../../../protocol/src/journal-head.js';
import { describe } from './journal-database.js';

export interface HeadVerificationKey {
  readonly publicKey: KeyObject;
  /** The box id named by the certificate, when the key came from one. */
  readonly boxId: string | null;
  /** Where the key came from, for the report: "certificate box-01 (P-256)". */
  readonly label: string;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new VigieError('file-unreadable', `cannot read ${what} ${file}: ${describe(err)}`, {
      cause: err,
    });
  }
}

/** The first certificate of a PEM file (a box's chain.pem starts with its own). */
export function keyFromCertificateFile(file: string): HeadVerificationKey {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readPem(file, 'certificate'));
  } catch (err) {
    if (err instanceof VigieError) throw err;
    throw new VigieError('config-invalid', `${file} is not a PEM certificate: ${describe(err)}`, {
      cause: err,
    });
  }
  const identity = identityFromCertificate(cert);
  const boxId = identity?.kind === 'box' ? identity.boxId : null;
  const kind = headKeyKind(cert.publicKey);
  return {
    publicKey: cert.publicKey,
    boxId,
    label: `certificate ${boxId ?? cert.subject.replace(/\n/g, ', ')} (${kind})`,
  };
}

export function keyFromPublicKeyFile(file: string): HeadVerificationKey {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: readPem(file, 'public key'), format: 'pem' });
  } catch (err) {
    if (err instanceof VigieError) throw err;
    throw new VigieError('config-invalid', `${file} is not a PEM public key: ${describe(err)}`, {
      cause: err,
    });
  }
  return { publicKey, boxId: null, label: `public key ${file} (${headKeyKind(publicKey)})` };
}
