/**
 * Signed heads: `{source, seq, hash, sig}`. A valid head vouches for the entry
 * at `seq` and, through the hash chain, for every entry before it, so an
 * auditor checks one signature per head and one hash per entry.
 *
 * sig = Ed25519 over: lp("vigie.journal.head.v1") || lp(source) || u64be(seq) || hash (32 raw bytes),
 * where lp(x) is a u32be byte length followed by the UTF-8 bytes.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { hash32, lp, u64 } from './binary-encoding.js';
import { decodeBase64url, encodeBase64url, base64urlLength } from './base64url.js';
import { signBytes, SIGNATURE_BYTES, verifyBytes } from './ed25519.js';
import { IdSchema, Sha256HexSchema } from './ids.js';

export const HEAD_SIGNATURE_TAG = 'vigie.journal.head.v1';

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

export function signHead(head: Omit<SignedHead, 'sig'>, privateKey: KeyObject): SignedHead {
  return { ...head, sig: encodeBase64url(signBytes(privateKey, headSigningInput(head))) };
}

/** True when the head's signature verifies under `publicKey` (S < L checked first). */
export function verifyHead(head: SignedHead, publicKey: KeyObject): boolean {
  const sig = decodeBase64url(head.sig);
  return sig !== null && verifyBytes(publicKey, headSigningInput(head), sig);
}
