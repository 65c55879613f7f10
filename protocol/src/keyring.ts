/**
 * A keyring maps a key id to a parsed KeyObject. It is built once (per policy
 * version, or once for the pinned administrator key): parsing PEM on every
 * verification halves throughput, and a keyring that cannot change under a
 * verifier is one less race.
 */
import type { KeyObject } from 'node:crypto';
import { ID_PATTERN } from './ids.js';
import { parsePublicKeyPem } from './ed25519.js';
import { VigieError } from '../../lib/src/errors.js';

export interface KeyringEntry {
  readonly kid: string;
  readonly publicKeyPem: string;
}

export class Keyring {
  readonly #keys: ReadonlyMap<string, KeyObject>;

  constructor(keys: ReadonlyMap<string, KeyObject>) {
    this.#keys = new Map(keys);
  }

  /** Parses every PEM once; refuses duplicate kids and non-Ed25519 keys. */
  static fromPems(entries: Iterable<KeyringEntry>): Keyring {
    const keys = new Map<string, KeyObject>();
    for (const { kid, publicKeyPem } of entries) {
      if (!ID_PATTERN.test(kid))
        throw new VigieError('config-invalid', `key id ${JSON.stringify(kid)} is not a valid id`);
      if (keys.has(kid)) throw new VigieError('config-invalid', `key id ${kid} appears twice`);
      keys.set(kid, parsePublicKeyPem(publicKeyPem, `public key of ${kid}`));
    }
    return new Keyring(keys);
  }

  get(kid: string): KeyObject | undefined {
    return this.#keys.get(kid);
  }

  has(kid: string): boolean {
    return this.#keys.has(kid);
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }
}
