/**
 * The protocol's entry hash (protocol/src/journal-entry.ts, `hashEntry`)
 * computed straight from a stored row: the stored `data` text is the canonical
 * JSON that was hashed and `time` the exact string, so nothing is parsed or
 * re-serialised, and the whole input is laid out in one reused buffer and
 * hashed with one call. This is what lets `vigie journal verify` run near the
 * speed of a bare SHA-256 chain. A property test keeps it byte-for-byte equal
 * to `hashEntry`.
 *
 * `hashHex` gives the hash as lowercase hex from a hex previous hash: Node 20's
 * one-shot crypto.hash returns a string about four times faster than a Buffer
 * (~0.3 us against ~1.3 us a call here: a Buffer is an ArrayBuffer allocation),
 * and a verifier that reads stored hashes as hex compares strings.
 */
import { hash } from 'node:crypto';
import { ENTRY_HASH_TAG } from './journal-entry.js';

const TAG = Buffer.from(ENTRY_HASH_TAG, 'utf8');
const TWO_POW_32 = 0x1_0000_0000;
const HASH_BYTES = 32;

export class EntryHasher {
  #buffer = Buffer.allocUnsafe(64 * 1024);

  /**
   * SHA-256 of the entry's canonical encoding. `dataJson` must be the canonical
   * JSON of `data` (as stored by the journal); `prevHash` is 32 raw bytes.
   */
  hash(
    source: string,
    seq: number,
    time: string,
    bootId: string,
    type: string,
    dataJson: string,
    prevHash: Uint8Array,
  ): Buffer {
    const at = this.#layout(source, seq, time, bootId, type, dataJson);
    this.#buffer.set(prevHash, at);
    return hash('sha256', this.#buffer.subarray(0, at + prevHash.length), 'buffer');
  }

  /** The same hash as lowercase hex, `prevHashHex` being 64 hex digits. */
  hashHex(
    source: string,
    seq: number,
    time: string,
    bootId: string,
    type: string,
    dataJson: string,
    prevHashHex: string,
  ): string {
    const at = this.#layout(source, seq, time, bootId, type, dataJson);
    if (
      prevHashHex.length !== 2 * HASH_BYTES ||
      this.#buffer.write(prevHashHex, at, 'hex') !== HASH_BYTES
    ) {
      throw new RangeError('prevHashHex must be 64 hex digits');
    }
    return hash('sha256', this.#buffer.subarray(0, at + HASH_BYTES), 'hex');
  }

  /** Lays out everything before the previous hash; returns where it goes. */
  #layout(
    source: string,
    seq: number,
    time: string,
    bootId: string,
    type: string,
    dataJson: string,
  ): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; 6 length prefixes + u64 + hash.
    const chars = source.length + time.length + bootId.length + type.length + dataJson.length;
    const needed = TAG.length + 3 * chars + 6 * 4 + 8 + HASH_BYTES;
    if (needed > this.#buffer.length) this.#buffer = Buffer.allocUnsafe(needed * 2);
    const buf = this.#buffer;
    let at = this.#lpBytes(0, TAG);
    at = this.#lp(at, source);
    buf.writeUInt32BE(Math.floor(seq / TWO_POW_32), at);
    buf.writeUInt32BE(seq >>> 0, at + 4);
    at = this.#lp(at + 8, time);
    at = this.#lp(at, bootId);
    at = this.#lp(at, type);
    return this.#lp(at, dataJson);
  }

  #lp(at: number, text: string): number {
    const written = this.#buffer.write(text, at + 4, 'utf8');
    this.#buffer.writeUInt32BE(written, at);
    return at + 4 + written;
  }

  #lpBytes(at: number, bytes: Buffer): number {
    this.#buffer.writeUInt32BE(bytes.length, at);
    bytes.copy(this.#buffer, at + 4);
    return at + 4 + bytes.length;
  }
}
