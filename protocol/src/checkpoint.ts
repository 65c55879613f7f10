/**
 * Register checkpoints: a Merkle tree head over every stored entry hash, in
 * ingestion order, signed by the register key. Leaf and node hashing follow
 * RFC 9162 §2.1 (SHA-256, 0x00 prefix for leaves, 0x01 for nodes), so an
 * auditor can check inclusion and consistency with standard tooling.
 *
 * sig = Ed25519 over lp("vigie.register.checkpoint.v1") || u64be(treeSize) ||
 *       rootHash (32 bytes) || lp(time) || lp(kid)
 */
import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { base64urlLength, decodeBase64url, encodeBase64url } from './base64url.js';
import { hash32, lp, u64 } from './binary-encoding.js';
import { signBytes, SIGNATURE_BYTES, verifyBytes } from './ed25519.js';
import { IdSchema, Sha256HexSchema, UtcDateTimeSchema } from './ids.js';

export const CHECKPOINT_SIGNATURE_TAG = 'vigie.register.checkpoint.v1';

export const CheckpointSchema = z.strictObject({
  treeSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  rootHash: Sha256HexSchema,
  time: UtcDateTimeSchema,
  kid: IdSchema,
  sig: z
    .string()
    .length(base64urlLength(SIGNATURE_BYTES))
    .regex(/^[A-Za-z0-9_-]+$/),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
}

/** RFC 9162 Merkle tree hash over leaf data (here: the 32-byte entry hashes). */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0] ?? Buffer.alloc(0));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2; // largest power of two smaller than n
  return sha256(Buffer.from([1]), merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

export function checkpointSigningInput(c: Omit<Checkpoint, 'sig'>): Buffer {
  return Buffer.concat([
    lp(CHECKPOINT_SIGNATURE_TAG),
    u64(c.treeSize),
    hash32(c.rootHash),
    lp(c.time),
    lp(c.kid),
  ]);
}

export function signCheckpoint(c: Omit<Checkpoint, 'sig'>, privateKey: KeyObject): Checkpoint {
  return { ...c, sig: encodeBase64url(signBytes(privateKey, checkpointSigningInput(c))) };
}

export function verifyCheckpoint(c: Checkpoint, publicKey: KeyObject): boolean {
  const sig = decodeBase64url(c.sig);
  return sig !== null && verifyBytes(publicKey, checkpointSigningInput(c), sig);
}
