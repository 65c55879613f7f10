/**
 * Shared field schemas: identifiers, timestamps and bounded text. Every string
 * that crosses a trust boundary has a charset or a length bound, so a message
 * cannot smuggle megabytes or control characters into a log or the register.
 */
import { z } from 'zod';

/** Site, camera, recipient, box and operator key ids: lowercase, DNS-label-like. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const IdSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-63 chars of a-z, 0-9 and "-", starting with a letter or digit');

/**
 * Lowercase UUID only: ids are compared as strings (replay store, register), so
 * one UUID must have one spelling.
 */
const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const UuidSchema = z.string().regex(UUID_LOWER, 'must be a lowercase UUID');

/** ISO-8601 instant in UTC with a `Z` suffix (offsets refused: stored times are UTC). */
export const UtcDateTimeSchema = z.iso.datetime({
  message: 'must be an ISO-8601 UTC time ending in Z',
});

/** Calendar date YYYY-MM-DD, read in Europe/Paris (the convention's dates). */
export const CalendarDateSchema = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

// Printable text on one line: no C0/C1 controls, no line or paragraph separators.
// eslint-disable-next-line no-control-regex
const ONE_LINE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;

/** Human text on one line, 1..max characters. */
export function boundedText(max: number): z.ZodString {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max)
    .regex(ONE_LINE, 'must be one line of printable text');
}

/** Free-form multi-line text (addresses, notes), 1..max characters, no control chars but newline. */
export function boundedNote(max: number): z.ZodString {
  return (
    z
      .string()
      .min(1, 'must not be empty')
      .max(max)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u0009\u000b-\u001f\u007f-\u009f]*$/, 'must not contain control characters')
  );
}

/** An array whose items are distinct, reporting the first duplicate with its value. */
export function uniqueArray<T extends z.ZodType>(item: T, min: number, max: number) {
  return z
    .array(item)
    .min(min)
    .max(max)
    .superRefine((values, ctx) => {
      const seen = new Set<unknown>();
      values.forEach((value, index) => {
        if (seen.has(value)) {
          ctx.addIssue({
            code: 'custom',
            message: `duplicate value ${JSON.stringify(value)}`,
            path: [index],
          });
        }
        seen.add(value);
      });
    });
}

/** Hex-encoded SHA-256 digest, lowercase. */
export const Sha256HexSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** `host:port` with a DNS name, IPv4 address or bracketed IPv6 address. */
const HOST_PORT =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]{2,45}\]):(\d{1,5})$/i;
export const HostPortSchema = z
  .string()
  .max(260)
  .regex(HOST_PORT, 'must be host:port (DNS name, IPv4, or [IPv6])')
  .refine((value) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'port must be 1-65535');

/** A DNS name as expected in a server certificate. */
export const DnsNameSchema = z
  .string()
  .max(253)
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a DNS name',
  );
