/**
 * The certification authorities of a Vigie PKI: creating the root and the
 * three intermediates at `init`, and loading one to sign with.
 */
import { X509Certificate } from 'node:crypto';
import { readTextFile } from '../../lib/src/files.js';
import { CERT_PROFILES, DEFAULT_VALIDITY_DAYS, addDays } from './cert-profiles.js';
import { caUri, type CaPurpose } from './identity.js';
import {
  exportPrivateKeyPem,
  generateKeyPair,
  importSigningKey,
  randomSerialHex,
  type CryptoKey,
} from './keys.js';
import type { IntermediatePurpose, PkiPaths } from './pki-layout.js';
import { createCertificatePem } from './x509-adapter.js';

export const CA_COMMON_NAMES: Readonly<Record<CaPurpose, string>> = {
  root: 'Vigie Root CA',
  boxes: 'Vigie Boxes CA',
  services: 'Vigie Services CA',
  people: 'Vigie People CA',
};

/** A CA ready to sign: its certificate (PEM and parsed by Node) and its private key. */
export interface LoadedCa {
  purpose: CaPurpose;
  certPem: string;
  cert: X509Certificate;
  signingKey: CryptoKey;
}

/** A CA just created: the same, plus the key PEM to write once, mode 0600. */
export interface NewCa extends LoadedCa {
  keyPem: string;
  serial: string;
}

export async function createRootCa(organization: string, now: Date): Promise<NewCa> {
  const keys = await generateKeyPair();
  const serial = randomSerialHex();
  const certPem = await createCertificatePem({
    serial,
    subject: { commonName: CA_COMMON_NAMES.root, organization },
    san: { uris: [caUri('root')], dns: [], ips: [] },
    profile: CERT_PROFILES.root,
    notBefore: now,
    notAfter: addDays(now, DEFAULT_VALIDITY_DAYS.root),
    publicKey: keys.publicKey,
    issuer: { selfSigned: true, signingKey: keys.privateKey },
  });
  return {
    purpose: 'root',
    certPem,
    cert: new X509Certificate(certPem),
    signingKey: keys.privateKey,
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    serial,
  };
}

export async function createIntermediateCa(
  purpose: IntermediatePurpose,
  root: LoadedCa,
  organization: string,
  now: Date,
): Promise<NewCa> {
  const keys = await generateKeyPair();
  const serial = randomSerialHex();
  const certPem = await createCertificatePem({
    serial,
    subject: { commonName: CA_COMMON_NAMES[purpose], organization },
    san: { uris: [caUri(purpose)], dns: [], ips: [] },
    profile: CERT_PROFILES.intermediate,
    notBefore: now,
    notAfter: addDays(now, DEFAULT_VALIDITY_DAYS.intermediate),
    publicKey: keys.publicKey,
    issuer: { selfSigned: false, certPem: root.certPem, signingKey: root.signingKey },
  });
  return {
    purpose,
    certPem,
    cert: new X509Certificate(certPem),
    signingKey: keys.privateKey,
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    serial,
  };
}

export async function loadCa(paths: PkiPaths, purpose: CaPurpose): Promise<LoadedCa> {
  const certPem = await readTextFile(paths.caCert(purpose), `${purpose} CA certificate`);
  const keyPem = await readTextFile(paths.caKey(purpose), `${purpose} CA key`);
  return {
    purpose,
    certPem,
    cert: new X509Certificate(certPem),
    signingKey: await importSigningKey(keyPem),
  };
}
