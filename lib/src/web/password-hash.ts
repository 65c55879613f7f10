/**
 * Viewer passwords, hashed with scrypt (RFC 7914) and stored in the relay's
 * config as `scrypt$N$r$p$saltb64$hashb64`. The check runs scrypt even for an
 * unknown login (so timing does not tell which logins exist) and compares with
 * timingSafeEqual.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  readonly N: number; // CPU/memory cost, a power of two
  readonly r: number; // block size
  readonly p: number; // parallelism
}

/** 2^15 × 8 × 128 B = 32 MiB and about 0.1 s a check: OWASP's minimum for scrypt. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 32_768, r: 8, p: 1 };
const MAX_N = 1 << 20; // a config cannot make one login cost more than 1 GiB
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export interface ParsedScryptHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses `scrypt$N$r$p$salt$hash`; null when malformed or the parameters are out of bounds. */
export function parseScryptHash(text: string): ParsedScryptHash | null {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText = '', rText = '', pText = '', saltText = '', hashText = ''] = parts;
  const [N = NaN, r = NaN, p = NaN] = [nText, rText, pText].map((v) =>
    /^\d{1,8}$/.test(v) ? Number(v) : NaN,
  );
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) {
    return null;
  }
  if (!B64.test(saltText) || !B64.test(hashText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

function scrypt(password: string, salt: Buffer, length: number, params: ScryptParams) {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r * params.p, // twice what scrypt needs
  };
  return new Promise<Buffer>((resolve, reject) => {
    scryptCb(password.normalize('NFC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password into the config's `passwordHash` format. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, HASH_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

/**
 * Checks a password against a stored hash in constant time. With `stored`
 * null (unknown login) it still spends one scrypt and answers false.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored === null ? null : parseScryptHash(stored);
  if (parsed === null) {
    await scrypt(password, DUMMY_SALT, HASH_BYTES, DEFAULT_SCRYPT_PARAMS);
    return false;
  }
  const candidate = await scrypt(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}
