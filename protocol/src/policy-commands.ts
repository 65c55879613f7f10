/**
 * The actions behind `vigie policy sign` and `vigie policy verify`, separate
 * from commander so that tests call them directly. Each returns the text to
 * print; errors are VigieErrors and nothing is written when one is thrown.
 */
import { createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../lib/src/errors.js';
import { readTextFile, writeFileDurable } from '../../lib/src/files.js';
import { parsePrivateKeyPem, publicKeyFingerprint } from './ed25519.js';
import { ID_PATTERN } from './ids.js';
import { Keyring } from './keyring.js';
import { signPolicy, verifyPolicyBundle } from './policy.js';
import { loadPolicySource } from './policy-source.js';
import { summarisePolicy } from './policy-summary.js';

export interface SignOptions {
  readonly in: string;
  readonly key: string;
  readonly kid: string;
  readonly out: string;
  readonly force?: boolean;
  readonly now?: Date;
}

export async function policySign(options: SignOptions): Promise<string> {
  if (!ID_PATTERN.test(options.kid)) {
    throw new VigieError(
      'config-invalid',
      `--kid ${JSON.stringify(options.kid)} is not a valid key id`,
    );
  }
  const now = options.now ?? new Date();
  const policy = await loadPolicySource(options.in, now);
  const privateKey = parsePrivateKeyPem(
    await readTextFile(options.key, 'signing key'),
    `signing key ${options.key}`,
  );
  const publicKey = createPublicKey(privateKey);
  const bytes = signPolicy(policy, { kid: options.kid, privateKey });
  // Check the bundle as a box will, before writing it (size limit, round trip).
  verifyPolicyBundle(bytes, { adminKeyring: new Keyring(new Map([[options.kid, publicKey]])) });
  await writeFileDurable(options.out, bytes, { overwrite: options.force ?? false });
  return (
    `signed policy version ${policy.version} (${bytes.length} bytes) with key ${options.kid} ` +
    `(${publicKeyFingerprint(publicKey)}) -> ${options.out}\n`
  );
}

export interface VerifyOptions {
  readonly bundle: string;
  readonly adminKey: string;
  readonly adminKid?: string;
  readonly inForce?: string;
  readonly at?: Date;
}

async function readBytes(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new VigieError('file-unreadable', `cannot read ${what} ${file}: ${code}`, { cause: err });
  }
}

/** The kid of a pinned key file: --admin-kid, else the file name without extension. */
export function adminKidFor(file: string, explicit?: string): string {
  return explicit ?? path.basename(file).replace(/\.[^.]*$/, '');
}

export async function policyVerify(options: VerifyOptions): Promise<string> {
  const kid = adminKidFor(options.adminKey, options.adminKid);
  const pem = await readTextFile(options.adminKey, 'administrator public key');
  const adminKeyring = Keyring.fromPems([{ kid, publicKeyPem: pem }]);
  let inForceVersion: number | undefined;
  if (options.inForce !== undefined) {
    const older = verifyPolicyBundle(await readBytes(options.inForce, 'policy in force'), {
      adminKeyring,
    });
    inForceVersion = older.payload.version;
  }
  const bytes = await readBytes(options.bundle, 'policy bundle');
  const verified = verifyPolicyBundle(bytes, { adminKeyring, inForceVersion });
  return (
    `signature OK: ${options.bundle} is signed by ${verified.kid} (${publicKeyFingerprint(createPublicKey(pem))})\n` +
    summarisePolicy(verified.payload, {
      now: options.at ?? new Date(),
      signerKid: verified.kid,
      previousVersion: inForceVersion,
    })
  );
}
