/**
 * WS-Security UsernameToken with PasswordDigest, as ONVIF Core 5.12.2 requires:
 * Digest = Base64(SHA1(nonce bytes + Created + password)). A token is accepted
 * once: Created must lie within the freshness window, and a nonce seen within
 * that window is refused as a replay (OASIS UsernameToken Profile 1.0, 3.1).
 * The nonce cache is bounded; when it is full of still-fresh nonces, tokens
 * are refused rather than forgetting a nonce that could then be replayed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PASSWORD_DIGEST_TYPE, type UsernameToken } from './soap.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface DigestVerifierOptions {
  /** Wall clock in ms (injected for tests). */
  now?: () => number; // default Date.now
  maxSkewMs?: number; // default 5 min either side, as common cameras allow
  maxNonces?: number; // default 10000
}

export type AuthRefusal =
  | 'auth-missing-token'
  | 'auth-unknown-user'
  | 'auth-not-digest'
  | 'auth-bad-nonce'
  | 'auth-bad-created'
  | 'auth-stale-created'
  | 'auth-bad-digest'
  | 'auth-replayed-nonce'
  | 'auth-nonce-cache-full';

export class DigestVerifier {
  readonly #now: () => number;
  readonly #maxSkewMs: number;
  readonly #maxNonces: number;
  /** nonce (base64) -> expiry time in ms; insertion order is expiry order only roughly. */
  readonly #seen = new Map<string, number>();

  constructor(options: DigestVerifierOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
    this.#maxNonces = options.maxNonces ?? 10_000;
  }

  /** 'ok' or the stable reason of the refusal. */
  verify(token: UsernameToken | undefined, creds: Credentials): 'ok' | AuthRefusal {
    if (!token) return 'auth-missing-token';
    if (token.passwordType !== PASSWORD_DIGEST_TYPE) return 'auth-not-digest';
    const nonce = decodeBase64(token.nonceBase64);
    if (!nonce || nonce.length < 8 || nonce.length > 64) return 'auth-bad-nonce';
    const createdMs = Date.parse(token.created);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(token.created))
      return 'auth-bad-created';
    if (Number.isNaN(createdMs)) return 'auth-bad-created';
    const now = this.#now();
    if (Math.abs(now - createdMs) > this.#maxSkewMs) return 'auth-stale-created';
    const expected = createHash('sha1')
      .update(
        Buffer.concat([
          nonce,
          Buffer.from(token.created, 'utf8'),
          Buffer.from(creds.password, 'utf8'),
        ]),
      )
      .digest();
    const given = decodeBase64(token.password);
    // The user name is compared after the digest so both checks cost the same.
    const digestOk =
      given !== undefined && given.length === expected.length && timingSafeEqual(given, expected);
    if (token.username !== creds.username) return 'auth-unknown-user';
    if (!digestOk) return 'auth-bad-digest';
    return this.#remember(token.nonceBase64, now);
  }

  #remember(nonce: string, now: number): 'ok' | AuthRefusal {
    if (this.#seen.has(nonce) && (this.#seen.get(nonce) ?? 0) > now) return 'auth-replayed-nonce';
    if (this.#seen.size >= this.#maxNonces) {
      for (const [k, expiry] of this.#seen) if (expiry <= now) this.#seen.delete(k);
      if (this.#seen.size >= this.#maxNonces) return 'auth-nonce-cache-full';
    }
    // A Created up to maxSkew in the future stays acceptable for 2 * maxSkew.
    this.#seen.set(nonce, now + 2 * this.#maxSkewMs);
    return 'ok';
  }
}

function decodeBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0 || s.length === 0) return undefined;
  return Buffer.from(s, 'base64');
}

/** Builds a token the way ONVIF clients do (used by tests and by the agent's probe later). */
export function makeUsernameToken(
  creds: Credentials,
  nonce: Buffer,
  created: string,
): UsernameToken {
  const digest = createHash('sha1')
    .update(
      Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(creds.password, 'utf8')]),
    )
    .digest('base64');
  return {
    username: creds.username,
    password: digest,
    passwordType: PASSWORD_DIGEST_TYPE,
    nonceBase64: nonce.toString('base64'),
    created,
  };
}
