/**
 * Nesting depth of JSON text, measured on raw bytes before any parsing, so a
 * message made of a million `[` costs one linear scan and no recursion. Brackets
 * inside strings do not count; a backslash escapes the next byte. The scan does
 * not validate JSON: JSON.parse does that afterwards, on bytes known to be shallow.
 * UTF-8 multi-byte sequences never contain ASCII bytes, so scanning bytes is exact.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/** True when some bracket in `bytes` (outside strings) nests deeper than `maxDepth`. */
export function exceedsJsonDepth(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte !== undefined && OPENERS.has(byte)) {
      depth++;
      if (depth > maxDepth) return true;
    } else if (byte !== undefined && CLOSERS.has(byte)) {
      depth = Math.max(0, depth - 1);
    }
  }
  return false;
}
