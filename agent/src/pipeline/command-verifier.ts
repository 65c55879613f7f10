/**
 * The verification pipeline of DESIGN rule 1. Cheapest first, and nothing that
 * reads the payload before its signature verifies; the replay store is written
 * only for signed, fresh commands, so unsigned traffic cannot fill it.
 *
 *   retained -> size -> policy present -> envelope, signature, schema
 *   -> key validity -> role -> recipient -> purpose -> site -> cameras
 *   -> clock trusted -> fresh -> not replayed -> convention -> time window
 *
 * Session-level checks (session exists/unknown, TTL, journal) belong to the
 * SessionManager, which acts on an Accepted verdict.
 */
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import type { Command } from '../../../protocol/src/commands.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import type { ClockTrust, Clocks, ReplayStore } from '../ports.js';
import { checkKeyValidity, checkPurpose, checkRecipient, checkRole } from './authority-checks.js';
import { checkRetained, checkSize, openSignedCommand } from './envelope-checks.js';
import { buildPolicyView, type PolicyView } from './policy-view.js';
import { checkCameras, checkSite } from './scope-checks.js';
import { checkClockTrusted, checkConvention, checkFresh, checkTimeWindow } from './time-checks.js';
import { refused, type Refusal, type Verification } from './verification.js';

export interface CommandVerifierOptions {
  readonly siteId: string;
  readonly boxId: string;
  readonly clocks: Clocks;
  readonly clockTrust: ClockTrust;
  readonly replay: ReplayStore;
  readonly log?: Logger;
  /**
   * The replay store could not record an id (disk full, read-only): the
   * wiring raises the journal-unwritable alarm, as the SessionManager does
   * when its own append fails (an open on a full disk fails here first).
   */
  readonly onStoreFailure?: (detail: string) => void;
}

export interface VerifyMeta {
  /** The MQTT retained flag of the message that carried the bytes. */
  readonly retained: boolean;
}

interface Stage {
  readonly command: Command;
  readonly view: PolicyView;
  readonly nowMs: number;
}

export class CommandVerifier {
  readonly #opts: CommandVerifierOptions;
  #view: PolicyView | null = null;

  constructor(options: CommandVerifierOptions) {
    this.#opts = options;
  }

  get policyVersion(): number | null {
    return this.#view?.version ?? null;
  }

  /**
   * Applies a policy that already passed verifyPolicyBundle (signature, newer
   * version). The keyring and lookups are built here, once per version.
   */
  setPolicy(policy: Policy, version: number): void {
    if (version !== policy.version) {
      throw new Error(
        `setPolicy: version ${version} differs from policy.version ${policy.version}`,
      );
    }
    const current = this.#view?.version;
    if (current !== undefined && version === current) return; // the retained bundle, redelivered
    if (current !== undefined && version < current) {
      // verifyPolicyBundle already refuses this; a second guard costs nothing.
      throw new VigieError(
        'policy-version-not-newer',
        `policy version ${version} is not newer than version ${current} in force`,
      );
    }
    this.#view = buildPolicyView(policy, version, this.#opts.siteId, this.#opts.boxId);
  }

  /** Never throws for bad input; a throw here is a programming error. */
  verify(bytes: Uint8Array, meta: VerifyMeta): Verification {
    const early = checkRetained(meta.retained) ?? checkSize(bytes);
    if (early) return refused(early, null, null);
    const view = this.#view;
    if (view === null) {
      return refused({ reason: 'policy-missing', detail: 'no policy applied yet' }, null, null);
    }
    const signed = openSignedCommand(bytes, view.keyring);
    if ('ok' in signed) return signed;
    const { command, kid, payloadBytes } = signed;
    const operator = view.operators.get(kid);
    if (!operator) {
      // The keyring is built from the same operators; a miss is a bug, not input.
      throw new Error(`kid ${kid} is in the keyring but not among the policy's operators`);
    }
    const nowMs = this.#opts.clocks.wallNowMs();
    const trust = this.#opts.clockTrust.check(nowMs);
    const stage: Stage = { command, view, nowMs };
    const refusal =
      checkKeyValidity(operator, nowMs, trust.trusted) ??
      checkRole(operator, command) ??
      checkRecipient(operator, command, view) ??
      checkPurpose(command, view) ??
      checkSite(command, view, this.#opts.siteId) ??
      checkCameras(command, view) ??
      checkClockTrusted(command, trust) ??
      checkFresh(command, nowMs, view.skewMs, trust.trusted) ??
      this.#checkReplay(stage) ??
      checkConvention(command, view, nowMs);
    if (refusal) return refused(refusal, command.id, command.type);
    const window = checkTimeWindow(command, view, this.#opts.siteId, nowMs);
    if ('reason' in window) return refused(window, command.id, command.type);
    const urgenceOutsideWindow = !window.inside;
    if (urgenceOutsideWindow) {
      this.#opts.log?.warn('open outside every time window, let through by urgence', {
        commandId: command.id,
        kid,
      });
    }
    return {
      ok: true,
      command,
      kid,
      payloadBytes,
      envelopeBytes: Buffer.from(bytes),
      operator,
      policyVersion: view.version,
      urgenceOutsideWindow,
      clockTrusted: trust.trusted,
    };
  }

  /**
   * Forgets replay ids past their keep-until time; the wiring calls it
   * periodically. Only on a trusted clock: a clock wrongly ahead would drop ids
   * that become "fresh" again once the clock is corrected.
   */
  purgeReplayIds(): number {
    const nowMs = this.#opts.clocks.wallNowMs();
    if (!this.#opts.clockTrust.check(nowMs).trusted) return 0;
    return this.#opts.replay.purge(nowMs);
  }

  /**
   * Remembers the id until expiresAt + skew (the last instant a copy could
   * pass checkFresh). A store that cannot persist cannot promise "never twice":
   * refuse, fail closed (rule 5).
   */
  #checkReplay({ command, view }: Stage): Refusal | null {
    const keepUntil = Date.parse(command.expiresAt) + view.skewMs;
    let fresh: boolean;
    try {
      fresh = this.#opts.replay.remember(command.id, keepUntil);
    } catch (err) {
      this.#opts.log?.error('replay store cannot record a command id', err, {
        commandId: command.id,
      });
      const detail = `replay store write failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#opts.onStoreFailure?.(detail);
      return { reason: 'journal-unwritable', detail };
    }
    if (fresh) return null;
    return { reason: 'replay', detail: `command ${command.id} was already received` };
  }
}
