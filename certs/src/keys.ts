/**
 * Key material for the PKI: ECDSA P-256 key pairs from Node's WebCrypto,
 * PKCS#8 PEM on disk, and random positive 16-byte serial numbers.
 */
import { randomBytes, webcrypto } from 'node:crypto';

export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Node's WebCrypto: what @peculiar/x509 is given, explicitly, at every call. */
export function nodeCrypto(): webcrypto.Crypto {
  return webcrypto;
}

/**
 * A fresh key pair. The private key is extractable once, to be written to a
 * 0600 file; keys read back from disk are imported non-extractable.
 */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return nodeCrypto().subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await nodeCrypto().subtle.exportKey('pkcs8', key);
  return toPem('PRIVATE KEY', new Uint8Array(der));
}

export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = fromPem('PRIVATE KEY', pem);
  return nodeCrypto().subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, false, ['sign']);
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(label: string, pem: string): Uint8Array {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
  const body = re.exec(pem)?.[1];
  if (body === undefined) throw new Error(`no ${label} block in PEM text`);
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
}

/**
 * A random positive serial of exactly 16 bytes, as uppercase hex (the form
 * node:crypto and node:tls print). The top bit is cleared so the DER INTEGER
 * is positive, the next one set so its encoding is always 16 bytes long
 * (no leading zero byte): 126 random bits, far above RFC 5280's 64.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex').toUpperCase();
}

/** Canonical form of a serial typed by a person: hex digits only, uppercase, no separators. */
export function normaliseSerial(serial: string): string {
  return serial.replace(/[:\s]/g, '').toUpperCase();
}
