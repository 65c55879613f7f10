/**
 * The policy bundle as a signed message: schema with cross-field rules,
 * signing, verification against the pinned administrator key, and the rule
 * that a box only ever moves to a strictly newer version.
 */
import type { z } from 'zod';
import { VigieError } from '../../lib/src/errors.js';
import { signJson, verifyEnvelope, type Signer, type Verified } from './envelope.js';
import { Keyring } from './keyring.js';
import { checkPolicy } from './policy-checks.js';
import { PolicyShape, type Policy } from './policy-schema.js';

/** The one policy schema: shape plus cross-field rules. Its output is the Policy type. */
export const PolicySchema: z.ZodType<Policy> = PolicyShape.superRefine((policy, ctx) => {
  checkPolicy(policy, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
});

/** Signs a policy that already passed PolicySchema; returns the bundle's bytes. */
export function signPolicy(policy: Policy, signer: Signer): Buffer {
  return signJson(policy, signer);
}

export interface PolicyVerifyOptions {
  /** The administrator key(s) pinned at enrolment. */
  readonly adminKeyring: Keyring;
  /** Version of the policy in force, if any: the bundle must be strictly newer. */
  readonly inForceVersion?: number;
}

/** Verifies a policy bundle end to end; throws a VigieError with a distinct code on each failure. */
export function verifyPolicyBundle(
  bytes: Uint8Array,
  options: PolicyVerifyOptions,
): Verified<Policy> {
  const verified = verifyEnvelope(bytes, {
    kind: 'policy',
    keyring: options.adminKeyring,
    schema: PolicySchema,
  });
  const inForce = options.inForceVersion;
  if (inForce !== undefined && verified.payload.version <= inForce) {
    throw new VigieError(
      'policy-version-not-newer',
      `policy version ${verified.payload.version} is not newer than version ${inForce} in force`,
    );
  }
  return verified;
}

/** The operators' keyring, built once per policy version (PEM parsing is the slow part). */
export function operatorKeyring(policy: Policy): Keyring {
  return Keyring.fromPems(
    policy.operators.map((op) => ({ kid: op.kid, publicKeyPem: op.publicKey })),
  );
}
