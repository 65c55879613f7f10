/**
 * `vigie pki init`: a root CA and the three intermediates (boxes, services,
 * people), their CRLs and the two bundles peers load. Everything is built in a
 * private sibling directory and renamed into place at the end, so a failed or
 * interrupted init leaves nothing half-made behind, and an existing PKI is
 * never touched.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../lib/src/errors.js';
import { writeFileDurable, writePrivateFile } from '../../lib/src/files.js';
import { caUri } from './identity.js';
import { CONTROL_CHARS } from './leaf-request.js';
import { CA_COMMON_NAMES, createIntermediateCa, createRootCa, type NewCa } from './pki-ca.js';
import { assertCrlDays, DEFAULT_CRL_DAYS, publishCrls, signCrl } from './pki-crl.js';
import { emptyIndex, indexEntryFor, type PkiIndex } from './pki-index.js';
import { INTERMEDIATE_PURPOSES, pkiPaths, type PkiPaths } from './pki-layout.js';

export interface InitPkiOptions {
  dir: string;
  organization?: string; // O= of every certificate; default 'Vigie'
  crlDays?: number; // nextUpdate of every CRL; default 7
  now?: Date;
}

export interface InitPkiResult {
  dir: string;
  cas: { purpose: string; serial: string; subject: string; notAfter: string }[];
  caBundle: string;
  crlBundle: string;
}

async function assertEmptyOrMissing(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length > 0) {
    const what = entries.includes('index.json') ? 'already holds a Vigie PKI' : 'is not empty';
    throw new VigieError(
      'pki-already-initialised',
      `${dir} ${what}; refusing to initialise it (choose a new or empty directory)`,
    );
  }
}

async function writeCa(paths: PkiPaths, ca: NewCa): Promise<void> {
  await fs.mkdir(path.dirname(paths.caCert(ca.purpose)), { mode: 0o700 });
  await writePrivateFile(paths.caKey(ca.purpose), ca.keyPem);
  await writeFileDurable(paths.caCert(ca.purpose), ca.certPem);
}

function entryOf(ca: NewCa): PkiIndex['certificates'][number] {
  return indexEntryFor(
    ca.certPem,
    ca.purpose === 'root' ? 'root' : 'intermediate',
    'root',
    CA_COMMON_NAMES[ca.purpose],
    caUri(ca.purpose),
  );
}

async function buildPki(paths: PkiPaths, organization: string, crlDays: number, now: Date) {
  const root = await createRootCa(organization, now);
  const cas: NewCa[] = [root];
  for (const purpose of INTERMEDIATE_PURPOSES) {
    cas.push(await createIntermediateCa(purpose, root, organization, now));
  }
  for (const ca of cas) await writeCa(paths, ca);
  const index: PkiIndex = { ...emptyIndex(organization, crlDays), certificates: cas.map(entryOf) };
  const crls = [];
  for (const ca of cas) crls.push(await signCrl(index, ca, now, crlDays));
  await publishCrls(paths, index, crls);
  return cas;
}

export async function initPki(options: InitPkiOptions): Promise<InitPkiResult> {
  const organization = options.organization ?? 'Vigie';
  const crlDays = options.crlDays ?? DEFAULT_CRL_DAYS;
  assertCrlDays(crlDays);
  if (organization.trim() === '' || organization.length > 64 || CONTROL_CHARS.test(organization)) {
    throw new VigieError(
      'pki-invalid-name',
      `the organization name "${organization}" must have 1 to 64 printable characters`,
    );
  }
  const target = pkiPaths(options.dir);
  await assertEmptyOrMissing(target.dir);
  await fs.mkdir(path.dirname(target.dir), { recursive: true });
  const staging = pkiPaths(`${target.dir}.init-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(staging.dir, { mode: 0o700 });
  try {
    const cas = await buildPki(staging, organization, crlDays, options.now ?? new Date());
    await moveIntoPlace(staging.dir, target.dir);
    return {
      dir: target.dir,
      cas: cas.map((ca) => ({
        purpose: ca.purpose,
        serial: ca.serial,
        subject: ca.cert.subject.split('\n').join(', '),
        notAfter: new Date(ca.cert.validTo).toISOString(),
      })),
      caBundle: target.caBundle,
      crlBundle: target.crlBundle,
    };
  } finally {
    await fs.rm(staging.dir, { recursive: true, force: true });
  }
}

/** rename(2) replaces an empty directory and fails on a non-empty one: no clobbering. */
async function moveIntoPlace(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
      throw new VigieError(
        'pki-already-initialised',
        `${to} appeared while initialising; refusing to replace it`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}
