/**
 * Signed heads: `{source, seq, hash, sig}`. A valid head vouches for the entry
 * at `seq` and, through the hash chain, for every entry before it, so an
 * auditor checks one signature per head and one hash per entry.
 *
 * input = lp("vigie.journal.head.v1") || lp(source) || u64be(seq) || hash (32 raw bytes),
 * where lp(x) is a u32be byte length followed by the UTF-8 bytes.
 *
 * sig is 64 bytes whatever the key, so the head's format does not depend on it:
 * - Ed25519 (operator-style keys): the RFC 8032 signature of `input`, S < L checked;
 * - ECDSA P-256 (the key of a box's X.509 certificate, which is what a box
 *   holds and what the register knows it by): ECDSA with SHA-256 over `input`,
 *   r || s as two 32-byte big-endian integers (IEEE P1363, not DER), with
 *   s <= n/2 ("low S"). (r, n - s) verifies as well as (r, s) under OpenSSL;
 *   we sign low-S and refuse high-S so that nobody without the key can make a
 *   second spelling of a head, as the S < L check does for Ed25519.
 * Any other key type is refused: a head must be checkable by every verifier.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { VigieError } from '../../lib/src/errors.js';
import { hash32, lp, u64 } from './binary-encoding.js';
import { decodeBase64url, encodeBase64url, base64urlLength } from './base64url.js';
import { signBytes, SIGNATURE_BYTES, verifyBytes } from './ed25519.js';
import { IdSchema, Sha256HexSchema } from './ids.js';

export const HEAD_SIGNATURE_TAG = 'vigie.journal.head.v1';

/** The key kinds a head may be signed with. */
export type HeadKeyKind = 'ed25519' | 'p256';

export const SignedHeadSchema = z.strictObject({
  source: IdSchema,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  hash: Sha256HexSchema,
  sig: z
    .string()
    .length(base64urlLength(SIGNATURE_BYTES))
    .regex(/^[A-Za-z0-9_-]+$/),
});
export type SignedHead = z.infer<typeof SignedHeadSchema>;

export function headSigningInput(head: Omit<SignedHead, 'sig'>): Buffer {
  return Buffer.concat([lp(HEAD_SIGNATURE_TAG), lp(head.source), u64(head.seq), hash32(head.hash)]);
}

/**
 * Which head algorithm `key` (public or private) calls for; throws
 * `journal-key-unsupported` for anything but Ed25519 and ECDSA P-256.
 */
export function headKeyKind(key: KeyObject): HeadKeyKind {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'p256';
    throw new VigieError(
      'journal-key-unsupported',
      `journal heads are signed with Ed25519 or ECDSA P-256; this EC key is on curve ${curve ?? 'unknown'}`,
    );
  }
  throw new VigieError(
    'journal-key-unsupported',
    `journal heads are signed with Ed25519 or ECDSA P-256; this is a ${type ?? 'non-asymmetric'} key`,
  );
}

/** The order n of the P-256 base point (SEC 2, secp256r1). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_ORDER = P256_ORDER >> 1n;

function scalarOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** True when a 64-byte r || s P-256 signature has s <= n/2. */
export function isLowS(signature: Uint8Array): boolean {
  return (
    signature.length === SIGNATURE_BYTES && scalarOf(signature.subarray(32)) <= P256_HALF_ORDER
  );
}

/** The 64-byte signature of `input` with `privateKey` (see the file comment). */
export function signHeadInput(input: Uint8Array, privateKey: KeyObject): Buffer {
  if (headKeyKind(privateKey) === 'ed25519') return signBytes(privateKey, input);
  const sig = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (isLowS(sig)) return sig;
  const lowS = P256_ORDER - scalarOf(sig.subarray(32));
  Buffer.from(lowS.toString(16).padStart(64, '0'), 'hex').copy(sig, 32);
  return sig;
}

/** Verifies a 64-byte head signature; false on any malformed input, throws only for an unsupported key. */
export function verifyHeadInput(
  input: Uint8Array,
  signature: Uint8Array,
  publicKey: KeyObject,
): boolean {
  if (headKeyKind(publicKey) === 'ed25519') return verifyBytes(publicKey, input, signature);
  // r and s are checked in [1, n-1] by OpenSSL; length and low S are ours.
  if (!isLowS(signature)) return false;
  return verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
}

export function signHead(head: Omit<SignedHead, 'sig'>, privateKey: KeyObject): SignedHead {
  return { ...head, sig: encodeBase64url(signHeadInput(headSigningInput(head), privateKey)) };
}

/**
 * True when the head's signature verifies under `publicKey` (Ed25519 with the
 * S < L check first, or ECDSA P-256). Throws `journal-key-unsupported` for any
 * other key type: that is a caller's mistake, not a bad head.
 */
export function verifyHead(head: SignedHead, publicKey: KeyObject): boolean {
  headKeyKind(publicKey);
  const sig = decodeBase64url(head.sig);
  return sig !== null && verifyHeadInput(headSigningInput(head), sig, publicKey);
}
