/**
 * The policy in force on this box. A bundle is applied only when its
 * signature verifies under the administrator key pinned at enrolment and its
 * version is strictly newer than the one in force; it is then kept under the
 * data directory so the box restarts with it, before the broker delivers one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isVigieError } from '../../../lib/src/errors.js';
import { writeFileDurable } from '../../../lib/src/files.js';
import type { Keyring } from '../../../protocol/src/keyring.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import { verifyPolicyBundle } from '../../../protocol/src/policy.js';

export type PolicyOutcome =
  | { kind: 'applied'; policy: Policy; keptError: string | null }
  | { kind: 'unchanged' } // the same version again: a retained redelivery
  | { kind: 'refused'; code: string; message: string };

export class PolicyKeeper {
  #current: Policy | null = null;

  constructor(
    readonly adminKeyring: Keyring,
    readonly file: string,
  ) {}

  get current(): Policy | null {
    return this.#current;
  }

  /** Loads the kept bundle, if any. A bad kept file is refused, never half-used. */
  async loadKept(fromFile = this.file): Promise<PolicyOutcome | null> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(fromFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return this.offer(bytes, fromFile !== this.file);
  }

  /** Verifies a bundle; applies it (and keeps it) only when newer. */
  async offer(bytes: Buffer, keep = true): Promise<PolicyOutcome> {
    let policy: Policy;
    try {
      policy = verifyPolicyBundle(bytes, { adminKeyring: this.adminKeyring }).payload;
    } catch (err) {
      if (!isVigieError(err)) throw err;
      return { kind: 'refused', code: err.code, message: err.message };
    }
    const inForce = this.#current?.version;
    if (inForce !== undefined && policy.version === inForce) return { kind: 'unchanged' };
    if (inForce !== undefined && policy.version < inForce) {
      return {
        kind: 'refused',
        code: 'policy-version-not-newer',
        message: `policy version ${policy.version} is older than version ${inForce} in force`,
      };
    }
    // Applied first, kept second: a newer policy may revoke an operator or a
    // camera, and a full disk must not keep a revoked key in force.
    this.#current = policy;
    if (!keep) return { kind: 'applied', policy, keptError: null };
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileDurable(this.file, bytes, { overwrite: true, mode: 0o600 });
      return { kind: 'applied', policy, keptError: null };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { kind: 'applied', policy, keptError: `not kept in ${this.file}: ${reason}` };
    }
  }
}
