/**
 * `vigie keygen`: an Ed25519 key pair for an operator or the administrator.
 * The private key is written PKCS#8 PEM with mode 0600 from its creation and
 * is never printed; the public key (SPKI PEM) is what goes into the policy.
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../lib/src/errors.js';
import { writeFileDurable, writePrivateFile } from '../../lib/src/files.js';
import { publicKeyFingerprint } from './ed25519.js';
import { ID_PATTERN } from './ids.js';

export interface KeygenResult {
  readonly kid: string;
  readonly fingerprint: string;
  readonly keyFile: string;
  readonly pubFile: string;
}

async function refuseExisting(file: string): Promise<void> {
  const exists = await fs.lstat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (exists)
    throw new VigieError('file-exists', `${file} already exists; refusing to overwrite it`);
}

/** Generates NAME.key (0600) and NAME.pub in `outDir`; refuses if either exists. */
export async function generateKeyFiles(name: string, outDir: string): Promise<KeygenResult> {
  if (!ID_PATTERN.test(name)) {
    throw new VigieError(
      'config-invalid',
      `key name ${JSON.stringify(name)} must be 1-63 chars of a-z, 0-9 and "-"`,
    );
  }
  const keyFile = path.join(outDir, `${name}.key`);
  const pubFile = path.join(outDir, `${name}.pub`);
  await refuseExisting(keyFile);
  await refuseExisting(pubFile);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writePrivateFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await writeFileDurable(pubFile, publicKey.export({ format: 'pem', type: 'spki' }), {
    mode: 0o644,
  });
  return { kid: name, fingerprint: publicKeyFingerprint(publicKey), keyFile, pubFile };
}

export function formatKeygenResult(result: KeygenResult): string {
  return [
    `kid:         ${result.kid}`,
    `fingerprint: ${result.fingerprint}`,
    `private key: ${result.keyFile} (mode 0600: keep it on this machine, never send it)`,
    `public key:  ${result.pubFile} (give it to the EMH administrator with the fingerprint)`,
    '',
  ].join('\n');
}
