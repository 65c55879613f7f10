/**
 * The one place that imports @peculiar/x509, and only to CREATE certificates
 * and CRLs. Nothing here verifies anything: verification goes through node:tls
 * and node:crypto (DESIGN, Dependencies). Crypto is Node's WebCrypto, passed
 * explicitly to every call rather than set on the library's global provider.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { CertProfile, ExtendedKeyUsage, KeyUsage } from './cert-profiles.js';
import { EC_SIGNING_ALGORITHM, nodeCrypto, toPem, type CryptoKey } from './keys.js';
import { CRL_REASON_CODES, type RevocationReason } from './revocation-reasons.js';

export interface SubjectSpec {
  commonName: string;
  organization: string;
  organizationalUnit?: string;
}

export interface SanSpec {
  uris: readonly string[];
  dns: readonly string[];
  ips: readonly string[];
}

export type IssuerSpec =
  | { selfSigned: true; signingKey: CryptoKey }
  | { selfSigned: false; certPem: string; signingKey: CryptoKey };

export interface CertificateSpec {
  serial: string; // hex
  subject: SubjectSpec;
  san: SanSpec;
  profile: CertProfile;
  notBefore: Date;
  notAfter: Date;
  publicKey: CryptoKey;
  issuer: IssuerSpec;
}

const KEY_USAGE_FLAGS: Readonly<Record<KeyUsage, x509.KeyUsageFlags>> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
};

const EKU_OIDS: Readonly<Record<ExtendedKeyUsage, string>> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

function subjectName(subject: SubjectSpec): x509.JsonName {
  const name: x509.JsonName = [{ O: [subject.organization] }];
  if (subject.organizationalUnit) name.push({ OU: [subject.organizationalUnit] });
  name.push({ CN: [subject.commonName] });
  return name;
}

async function buildExtensions(
  spec: CertificateSpec,
  issuerKeyId: string | null,
): Promise<x509.Extension[]> {
  const { profile, san } = spec;
  const crypto = nodeCrypto();
  const keyUsage = profile.keyUsage.reduce((acc, u) => acc | KEY_USAGE_FLAGS[u], 0);
  const extensions: x509.Extension[] = [
    profile.ca
      ? new x509.BasicConstraintsExtension(true, profile.ca.pathLen, true)
      : new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    await x509.SubjectKeyIdentifierExtension.create(spec.publicKey, false, crypto),
  ];
  if (issuerKeyId !== null) {
    extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId, false));
  }
  if (profile.extKeyUsage.length > 0) {
    extensions.push(
      new x509.ExtendedKeyUsageExtension(profile.extKeyUsage.map((u) => EKU_OIDS[u])),
    );
  }
  const names: x509.JsonGeneralNames = [
    ...san.uris.map((value) => ({ type: 'url' as const, value })),
    ...san.dns.map((value) => ({ type: 'dns' as const, value })),
    ...san.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  return extensions;
}

function subjectKeyIdOf(cert: x509.X509Certificate): string {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new Error(`CA certificate ${cert.subject} has no subjectKeyIdentifier`);
  return ski.keyId;
}

/** Creates and signs a certificate; returns its PEM. */
export async function createCertificatePem(spec: CertificateSpec): Promise<string> {
  const crypto = nodeCrypto();
  const issuerCert = spec.issuer.selfSigned ? null : new x509.X509Certificate(spec.issuer.certPem);
  const subject = new x509.Name(subjectName(spec.subject));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: spec.serial,
      subject,
      // The issuer name is copied from the CA certificate's own encoding, so
      // chain building compares identical bytes.
      issuer: issuerCert ? issuerCert.subjectName : subject,
      notBefore: spec.notBefore,
      notAfter: spec.notAfter,
      publicKey: spec.publicKey,
      signingKey: spec.issuer.signingKey,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      extensions: await buildExtensions(spec, issuerCert ? subjectKeyIdOf(issuerCert) : null),
    },
    crypto,
  );
  return toPem('CERTIFICATE', new Uint8Array(cert.rawData));
}

export interface CrlEntrySpec {
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlSpec {
  caCertPem: string;
  signingKey: CryptoKey;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntrySpec[];
}

/** DER INTEGER (tag 0x02) of a non-negative safe integer, minimal length. */
function derInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

const OID_CRL_NUMBER = '2.5.29.20';

/** Creates and signs a CRL (v2, with authorityKeyIdentifier and cRLNumber); returns its PEM. */
export async function createCrlPem(spec: CrlSpec): Promise<string> {
  const caCert = new x509.X509Certificate(spec.caCertPem);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: caCert.subjectName,
      thisUpdate: spec.thisUpdate,
      nextUpdate: spec.nextUpdate,
      signingKey: spec.signingKey,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(subjectKeyIdOf(caCert), false),
        new x509.Extension(OID_CRL_NUMBER, false, derInteger(spec.crlNumber)),
      ],
      entries: spec.entries.map((e) => ({
        serialNumber: e.serial,
        revocationDate: e.revokedAt,
        // RFC 5280 5.3.1: "unspecified" SHOULD be expressed by leaving the reason out.
        reason: CRL_REASON_CODES[e.reason],
      })),
    },
    nodeCrypto(),
  );
  // The library labels it "CRL"; OpenSSL (and so Node and Mosquitto) read only "X509 CRL".
  return toPem('X509 CRL', new Uint8Array(crl.rawData));
}
