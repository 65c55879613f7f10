/**
 * Protobuf base-128 varints for our hand-written codecs (tunnel-wire.ts,
 * register-wire.ts): non-negative safe integers only, as both callers check.
 */

/** Bytes the varint of `value` takes. */
export function varintBytes(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Writes the varint of `value` at `at`; returns the offset after it. */
export function writeVarint(buf: Buffer, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    buf[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[at++] = v;
  return at;
}
