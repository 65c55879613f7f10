/**
 * The fixed binary encodings behind every hash and signature input that is not
 * an envelope: a string is its UTF-8 byte length as u32 big-endian followed by
 * the bytes; an integer is u64 big-endian. Length prefixes make concatenations
 * injective: two different field lists never give the same bytes.
 */
export function lp(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}

export function u64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

/** 32 raw bytes from 64 hex digits (callers validate the hex first). */
export function hash32(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}
