/**
 * Publishes the signed policy bundle, retained, on vigie/v1/policy. The bundle
 * is verified first, exactly as a box will (signature by the pinned
 * administrator key, schema, cross-field rules): the central service never
 * publishes a bundle that boxes would refuse, because a retained bad bundle
 * would greet every box at each reconnection. reload() moves only to a
 * strictly newer version and keeps the one in force otherwise.
 */
import { promises as fs } from 'node:fs';
import { isVigieError, VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import type { Keyring } from '../../../protocol/src/keyring.js';
import { verifyPolicyBundle } from '../../../protocol/src/policy.js';
import { POLICY_TOPIC } from '../../../protocol/src/topics.js';

export type PublishRetained = (topic: string, payload: Buffer) => Promise<void>;

export interface PolicyPublisherOptions {
  readonly bundleFile: string;
  readonly adminKeyring: Keyring;
  readonly publish: PublishRetained;
  readonly log: Logger;
}

export type ReloadResult =
  | { readonly status: 'published'; readonly version: number; readonly previous: number | null }
  | { readonly status: 'unchanged'; readonly version: number }
  | { readonly status: 'refused'; readonly version: number | null; readonly reason: string };

export class PolicyPublisher {
  readonly #options: PolicyPublisherOptions;
  #inForce: { version: number; bytes: Buffer } | null = null;
  #prepared: Promise<{ version: number; bytes: Buffer }> | null = null;
  #starting: Promise<void> | null = null;
  #stopped = false;

  constructor(options: PolicyPublisherOptions) {
    this.#options = options;
  }

  /** Version published, or null before start. */
  get version(): number | null {
    return this.#inForce?.version ?? null;
  }

  /** Reads, verifies and publishes the bundle; throws `central-policy-refused` if it does not verify. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /**
   * Reads and verifies the bundle without publishing, so that the service can
   * refuse to start before its broker listens. start() calls it too.
   */
  prepare(): Promise<{ version: number; bytes: Buffer }> {
    this.#prepared ??= this.#read().then((bytes) => ({
      version: this.#verify(bytes, undefined),
      bytes,
    }));
    return this.#prepared;
  }

  async #start(): Promise<void> {
    const { version, bytes } = await this.prepare();
    if (this.#stopped) return;
    await this.#options.publish(POLICY_TOPIC, bytes);
    this.#inForce = { version, bytes };
    this.#options.log.info('policy published', { version, topic: POLICY_TOPIC });
  }

  /** Nothing to release: the retained bundle stays with the broker, which stops after us. */
  stop(reason: string): Promise<void> {
    if (!this.#stopped) this.#options.log.debug('policy publisher stopped', () => ({ reason }));
    this.#stopped = true;
    return Promise.resolve();
  }

  /**
   * Re-reads the file (SIGHUP). A newer valid bundle is published; the same
   * bytes change nothing; anything else is refused, logged, and the bundle in
   * force stays retained. Never throws for a bad file: the service keeps running.
   */
  async reload(): Promise<ReloadResult> {
    const current = this.#inForce;
    if (current === null || this.#stopped) {
      return { status: 'refused', version: null, reason: 'the policy publisher is not running' };
    }
    try {
      const bytes = await this.#read();
      if (bytes.equals(current.bytes)) return { status: 'unchanged', version: current.version };
      const version = this.#verify(bytes, current.version);
      await this.#options.publish(POLICY_TOPIC, bytes);
      this.#inForce = { version, bytes };
      this.#options.log.info('policy republished', { version, previous: current.version });
      return { status: 'published', version, previous: current.version };
    } catch (err) {
      if (!isVigieError(err)) throw err;
      this.#options.log.warn('policy reload refused; the version in force stays published', {
        inForce: current.version,
        reason: err.message,
        code: err.code,
      });
      return { status: 'refused', version: current.version, reason: err.message };
    }
  }

  async #read(): Promise<Buffer> {
    const file = this.#options.bundleFile;
    try {
      return await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new VigieError('file-unreadable', `cannot read policy bundle ${file}: ${code}`, {
        cause: err,
      });
    }
  }

  #verify(bytes: Buffer, inForceVersion: number | undefined): number {
    try {
      const verified = verifyPolicyBundle(bytes, {
        adminKeyring: this.#options.adminKeyring,
        ...(inForceVersion === undefined ? {} : { inForceVersion }),
      });
      return verified.payload.version;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      const code = isVigieError(err) ? ` [${err.code}]` : '';
      throw new VigieError(
        'central-policy-refused',
        `policy bundle ${this.#options.bundleFile} refused, not published: ${why}${code}`,
        { cause: err },
      );
    }
  }
}
