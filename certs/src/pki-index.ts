/**
 * index.json: every certificate this PKI issued, CAs included, with its
 * revocation state. It is the source of the CRLs, so it is validated on every
 * read and replaced atomically on every write (temp file, fsync, rename).
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { writeFileDurable, readTextFile } from '../../lib/src/files.js';
import { VigieError } from '../../lib/src/errors.js';
import { parseOrThrow } from '../../lib/src/schema.js';
import { CA_PURPOSES, parseSubjectAltName, type CaPurpose } from './identity.js';
import type { PkiPaths } from './pki-layout.js';
import { CRL_REASON_CODES, type RevocationReason } from './revocation-reasons.js';

const REASONS = Object.keys(CRL_REASON_CODES) as [RevocationReason, ...RevocationReason[]];

export const IndexEntrySchema = z.object({
  serial: z.string().regex(/^[0-9A-F]+$/, 'uppercase hex'),
  kind: z.enum(['root', 'intermediate', 'box', 'service', 'person']),
  commonName: z.string(),
  subject: z.string(),
  identity: z.string().nullable(), // the urn:vigie: URI in the SAN
  san: z.array(z.string()),
  issuer: z.enum(CA_PURPOSES), // the CA that signed it (root signs itself and the intermediates)
  notBefore: z.iso.datetime(),
  notAfter: z.iso.datetime(),
  fingerprint256: z.string(),
  revokedAt: z.iso.datetime().nullable(),
  reason: z.enum(REASONS).nullable(),
});

export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export const PkiIndexSchema = z.object({
  version: z.literal(1),
  organization: z.string().min(1),
  crlDays: z.number().int().positive(), // nextUpdate of every CRL, days after thisUpdate
  crlNumbers: z.record(z.enum(CA_PURPOSES), z.number().int().nonnegative()),
  certificates: z.array(IndexEntrySchema),
});

export type PkiIndex = z.infer<typeof PkiIndexSchema>;

export function emptyIndex(organization: string, crlDays: number): PkiIndex {
  const crlNumbers = Object.fromEntries(CA_PURPOSES.map((p) => [p, 0])) as Record<
    CaPurpose,
    number
  >;
  return { version: 1, organization, crlDays, crlNumbers, certificates: [] };
}

export async function readIndex(paths: PkiPaths): Promise<PkiIndex> {
  let text: string;
  try {
    text = await readTextFile(paths.index, 'PKI index');
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code !== 'ENOENT') throw err;
    throw new VigieError(
      'pki-not-initialised',
      `${paths.dir} is not a Vigie PKI (no index.json); run \`vigie pki init --dir ${paths.dir}\``,
      { cause: err },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new VigieError('pki-index-invalid', `${paths.index} is not valid JSON`, { cause: err });
  }
  return parseOrThrow(PkiIndexSchema, value, paths.index, 'pki-index-invalid');
}

export async function writeIndex(paths: PkiPaths, index: PkiIndex): Promise<void> {
  const checked = parseOrThrow(PkiIndexSchema, index, 'PKI index to write', 'pki-index-invalid');
  await writeFileDurable(paths.index, JSON.stringify(checked, null, 2) + '\n', {
    mode: 0o644,
    overwrite: true,
  });
}

export type IndexKind = IndexEntry['kind'];

/** The index record of a certificate just created, read back through node:crypto. */
export function indexEntryFor(
  pem: string,
  kind: IndexKind,
  issuer: CaPurpose,
  commonName: string,
  identity: string | null,
): IndexEntry {
  const cert = new X509Certificate(pem);
  return {
    serial: cert.serialNumber.toUpperCase(),
    kind,
    commonName,
    subject: cert.subject.split('\n').join(', '),
    identity,
    san: parseSubjectAltName(cert.subjectAltName).map((e) => `${e.type}:${e.value}`),
    issuer,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    revokedAt: null,
    reason: null,
  };
}
