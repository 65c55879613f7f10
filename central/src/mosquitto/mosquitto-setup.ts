/**
 * One call that writes a ready-to-run Mosquitto configuration and ACL for a
 * policy: used by `vigie central mosquitto-config` and by the integration
 * tests that run the agent through Mosquitto.
 */
import { promises as fs } from 'node:fs';
import { VigieError } from '../../../lib/src/errors.js';
import { readTextFile } from '../../../lib/src/files.js';
import { Keyring } from '../../../protocol/src/keyring.js';
import { verifyPolicyBundle } from '../../../protocol/src/policy.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import { boxesFromPolicy, mosquittoAcl } from './mosquitto-acl.js';
import {
  aclPathIn,
  mosquittoConf,
  writeMosquittoFiles,
  type MosquittoConfInput,
  type MosquittoFiles,
} from './mosquitto-conf.js';

export interface MosquittoSetupOptions {
  readonly outDir: string;
  readonly policy: Policy;
  readonly consoleUsers: readonly string[];
  readonly policyPublisher?: string;
  readonly conf: Omit<MosquittoConfInput, 'aclFile'>;
}

export interface MosquittoSetup extends MosquittoFiles {
  /** Sites whose policy entry names no box: nobody can serve them through Mosquitto. */
  readonly sitesWithoutBoxes: readonly string[];
  readonly boxUsers: number;
}

export async function writeMosquittoSetup(options: MosquittoSetupOptions): Promise<MosquittoSetup> {
  const { boxes, sitesWithoutBoxes } = boxesFromPolicy(options.policy);
  const acl = mosquittoAcl({
    boxes,
    consoleUsers: options.consoleUsers,
    ...(options.policyPublisher === undefined ? {} : { policyPublisher: options.policyPublisher }),
  });
  const conf = mosquittoConf({ ...options.conf, aclFile: aclPathIn(options.outDir) });
  const files = await writeMosquittoFiles(options.outDir, { conf, acl });
  return { ...files, sitesWithoutBoxes, boxUsers: boxes.length };
}

/** Reads and verifies a policy bundle against the administrator key: the ACL trusts its boxIds. */
export async function readVerifiedPolicy(
  bundleFile: string,
  adminKeyFile: string,
  adminKid: string,
): Promise<Policy> {
  const pem = await readTextFile(adminKeyFile, 'administrator public key');
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(bundleFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new VigieError('file-unreadable', `cannot read policy bundle ${bundleFile}: ${code}`, {
      cause: err,
    });
  }
  const adminKeyring = Keyring.fromPems([{ kid: adminKid, publicKeyPem: pem }]);
  return verifyPolicyBundle(bytes, { adminKeyring }).payload;
}
