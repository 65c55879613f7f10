/**
 * The relay's policy: the signed bundle file, verified against the pinned
 * administrator key; on SIGHUP only a newer version replaces the one in force.
 */
import { readFile } from 'node:fs/promises';
import { VigieError } from '../../../lib/src/errors.js';
import { readTextFile } from '../../../lib/src/files.js';
import { Keyring } from '../../../protocol/src/keyring.js';
import { verifyPolicyBundle } from '../../../protocol/src/policy.js';
import { RelayPolicy } from './ticket-checks.js';

export interface PolicyFileOptions {
  readonly bundleFile: string;
  readonly adminKid: string;
  readonly adminPublicKeyFile: string;
}

export async function loadAdminKeyring(o: PolicyFileOptions): Promise<Keyring> {
  const pem = await readTextFile(o.adminPublicKeyFile, 'administrator public key');
  return Keyring.fromPems([{ kid: o.adminKid, publicKeyPem: pem }]);
}

/** Reads and verifies the bundle; with `inForceVersion`, it must be strictly newer. */
export async function readRelayPolicy(
  o: PolicyFileOptions,
  keyring: Keyring,
  inForceVersion?: number,
): Promise<RelayPolicy> {
  let bytes: Buffer;
  try {
    bytes = await readFile(o.bundleFile);
  } catch (err) {
    throw new VigieError('file-unreadable', `cannot read the policy bundle ${o.bundleFile}`, {
      cause: err,
    });
  }
  const verified = verifyPolicyBundle(bytes, {
    adminKeyring: keyring,
    ...(inForceVersion === undefined ? {} : { inForceVersion }),
  });
  return new RelayPolicy(verified.payload);
}
