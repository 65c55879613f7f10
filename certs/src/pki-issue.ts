/**
 * `vigie pki issue`: a leaf certificate for a box, a service or a person,
 * signed by the matching intermediate. The key is generated here, written once
 * to key.pem with mode 0600 and never printed. The index is updated before the
 * files are written: a certificate that exists but is missing from the index
 * could never be revoked.
 */
import { promises as fs } from 'node:fs';
import { VigieError } from '../../lib/src/errors.js';
import { writeFileDurable, writePrivateFile } from '../../lib/src/files.js';
import { addDays, BACKDATE_MS, CERT_PROFILES, DEFAULT_VALIDITY_DAYS } from './cert-profiles.js';
import { caUri, ISSUER_OF } from './identity.js';
import { exportPrivateKeyPem, generateKeyPair, randomSerialHex } from './keys.js';
import { describeLeaf, type IssueRequest, type LeafDescription } from './leaf-request.js';
import { loadCa, type LoadedCa } from './pki-ca.js';
import { indexEntryFor, readIndex, writeIndex, type PkiIndex } from './pki-index.js';
import { leafOutputPaths, pkiPaths, type LeafOutputPaths } from './pki-layout.js';
import { withPkiLock } from './pki-lock.js';
import { createCertificatePem } from './x509-adapter.js';

export const MAX_LEAF_DAYS = 1827;

export interface IssueOptions {
  dir: string;
  outDir: string;
  request: IssueRequest;
  days?: number; // default: box 397, service 397, person 365
  /** Explicit validity, for tests (an expired certificate) and migrations; overrides `days`. */
  validity?: { notBefore: Date; notAfter: Date };
  now?: Date;
}

export interface IssueResult {
  serial: string;
  kind: LeafDescription['kind'];
  subject: string;
  identity: string;
  san: string[];
  notBefore: string;
  notAfter: string;
  files: LeafOutputPaths;
}

function leafValidity(options: IssueOptions, leaf: LeafDescription, now: Date) {
  if (options.validity) {
    const { notBefore, notAfter } = options.validity;
    if (!(notBefore.getTime() < notAfter.getTime())) {
      throw new VigieError(
        'pki-invalid-request',
        `notBefore ${notBefore.toISOString()} is not before notAfter ${notAfter.toISOString()}`,
      );
    }
    return { notBefore, notAfter };
  }
  const days = options.days ?? DEFAULT_VALIDITY_DAYS[leaf.kind];
  if (!Number.isInteger(days) || days < 1 || days > MAX_LEAF_DAYS) {
    throw new VigieError(
      'pki-invalid-request',
      `a validity of ${days} days is not allowed: use a whole number from 1 to ${MAX_LEAF_DAYS}`,
    );
  }
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: addDays(now, days) };
}

function assertCaUsable(index: PkiIndex, ca: LoadedCa, notAfter: Date): void {
  const entry = index.certificates.find((c) => c.identity === caUri(ca.purpose));
  if (entry?.revokedAt) {
    throw new VigieError(
      'pki-invalid-request',
      `the ${ca.purpose} CA was revoked on ${entry.revokedAt}; initialise a new PKI`,
    );
  }
  const caEnd = new Date(ca.cert.validTo);
  if (notAfter.getTime() > caEnd.getTime()) {
    throw new VigieError(
      'pki-invalid-request',
      `the requested validity ends ${notAfter.toISOString()}, after the ${ca.purpose} CA expires ` +
        `(${caEnd.toISOString()}); ask for fewer --days`,
    );
  }
}

async function assertAbsent(out: LeafOutputPaths): Promise<void> {
  for (const file of [out.cert, out.chain, out.key]) {
    const exists = await fs.stat(file).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (exists) {
      throw new VigieError('file-exists', `${file} already exists; refusing to overwrite it`);
    }
  }
}

function freshSerial(index: PkiIndex): string {
  const taken = new Set(index.certificates.map((c) => c.serial));
  for (;;) {
    const serial = randomSerialHex();
    if (!taken.has(serial)) return serial;
  }
}

export async function issueCertificate(options: IssueOptions): Promise<IssueResult> {
  const leaf = describeLeaf(options.request);
  const validity = leafValidity(options, leaf, options.now ?? new Date());
  const out = leafOutputPaths(options.outDir);
  await assertAbsent(out);
  const paths = pkiPaths(options.dir);
  return withPkiLock(paths, async () => {
    const index = await readIndex(paths);
    const ca = await loadCa(paths, ISSUER_OF[leaf.kind]);
    assertCaUsable(index, ca, validity.notAfter);
    const keys = await generateKeyPair();
    const serial = freshSerial(index);
    const certPem = await createCertificatePem({
      serial,
      subject: {
        commonName: leaf.commonName,
        organization: index.organization,
        organizationalUnit: leaf.organizationalUnit,
      },
      san: { uris: [leaf.identityUri], dns: leaf.dns, ips: leaf.ips },
      profile: CERT_PROFILES[leaf.kind],
      ...validity,
      publicKey: keys.publicKey,
      issuer: { selfSigned: false, certPem: ca.certPem, signingKey: ca.signingKey },
    });
    const entry = indexEntryFor(certPem, leaf.kind, ca.purpose, leaf.commonName, leaf.identityUri);
    await writeIndex(paths, { ...index, certificates: [...index.certificates, entry] });
    await writeFileDurable(paths.issuedCert(entry.serial), certPem);
    await writePrivateFile(out.key, await exportPrivateKeyPem(keys.privateKey));
    await writeFileDurable(out.cert, certPem);
    await writeFileDurable(out.chain, certPem + ca.certPem);
    return {
      serial: entry.serial,
      kind: leaf.kind,
      subject: entry.subject,
      identity: leaf.identityUri,
      san: entry.san,
      notBefore: entry.notBefore,
      notAfter: entry.notAfter,
      files: out,
    };
  });
}
