/**
 * Strict base64url (RFC 4648 §5, no padding). Decoding accepts exactly one
 * spelling per byte string: Node's decoder silently ignores stray characters and
 * non-zero trailing bits, which would let one signature travel under several
 * envelope texts. We check the charset, then re-encode and compare.
 */
const CHARSET = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Returns the decoded bytes, or null if `text` is not canonical unpadded base64url. */
export function decodeBase64url(text: string): Buffer | null {
  if (!CHARSET.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

/** Length in characters of the unpadded base64url encoding of `byteLength` bytes. */
export function base64urlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3);
}
