/**
 * The CPU ceiling of chain verification (ANCHORS: SHA-256 chain ~260k/s): a
 * SHA-256 chain over `count` inputs of `bytes` bytes, each input ending with
 * the previous hash, with the one-shot crypto.hash (what the verifiers use)
 * or createHash (the ANCHORS figure: an object per entry costs more than the
 * hashing). Returns hashes per second. Used by the journal and register
 * verification benches.
 */
import { createHash, hash } from 'node:crypto';

export function bareChainRate(count: number, bytes: number, oneShot: boolean): number {
  const input = Buffer.alloc(bytes, 7);
  let prev: Buffer = Buffer.alloc(32);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    prev.copy(input, bytes - 32);
    prev = oneShot ? hash('sha256', input, 'buffer') : createHash('sha256').update(input).digest();
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}
