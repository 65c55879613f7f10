/**
 * Ed25519 through node:crypto, with the checks we do not delegate: key type,
 * signature length, and the scalar S < L (RFC 8032 §5.1.7). OpenSSL checks S < L
 * too, but a signature with S + L verifies under some libraries, and a check in
 * our own code is one we can test and cannot lose in a library upgrade.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { VigieError } from '../../lib/src/errors.js';

export const SIGNATURE_BYTES = 64;

/** The order L of the Ed25519 base point: 2^252 + 27742317777372353535851937790883648493. */
export const ED25519_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;

/** Reads the little-endian scalar S, the second half of a 64-byte signature. */
export function signatureScalar(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = SIGNATURE_BYTES - 1; i >= SIGNATURE_BYTES / 2; i--) {
    s = (s << 8n) | BigInt(signature[i] ?? 0);
  }
  return s;
}

/** True when the signature has 64 bytes and its S is reduced (S < L). */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  return signature.length === SIGNATURE_BYTES && signatureScalar(signature) < ED25519_ORDER;
}

/** Parses an SPKI PEM public key and insists that it is Ed25519. */
export function parsePublicKeyPem(pem: string, what = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new VigieError('config-invalid', `${what} is not a PEM public key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new VigieError(
      'config-invalid',
      `${what} is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not an Ed25519 key`,
    );
  }
  return key;
}

/** Parses a PKCS#8 PEM private key and insists that it is Ed25519. */
export function parsePrivateKeyPem(pem: string, what = 'private key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new VigieError('config-invalid', `${what} is not a PEM private key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new VigieError(
      'config-invalid',
      `${what} is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not an Ed25519 key`,
    );
  }
  return key;
}

/** `SHA256:` + base64url of the SHA-256 of the SPKI DER: short enough to read on the phone. */
export function publicKeyFingerprint(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return `SHA256:${createHash('sha256').update(der).digest('base64url')}`;
}

export function signBytes(privateKey: KeyObject, data: Uint8Array): Buffer {
  return sign(null, data, privateKey);
}

/** Verifies with the S < L check first; never throws on malformed input. */
export function verifyBytes(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!isCanonicalSignature(signature)) return false;
  return verify(null, data, publicKey, signature);
}
