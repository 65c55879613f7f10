/**
 * Journal (register) entries and their canonical hash.
 *
 * hash = SHA-256 over, in this order:
 *   "vigie.journal.entry.v1"   domain tag, length-prefixed like the fields
 *   source                     u32be byte length + UTF-8 bytes
 *   seq                        u64be
 *   time                       u32be length + UTF-8 (the ISO string exactly as stored)
 *   bootId                     u32be length + UTF-8
 *   type                       u32be length + UTF-8
 *   data                       u32be length + UTF-8 of canonicalJson(data)
 *   prevHash                   32 raw bytes (hex-decoded)
 * Length prefixes make the encoding injective: no two different entries give
 * the same bytes, whatever their contents. The first entry of a source (seq 1)
 * has prevHash = 64 zeros.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { hash32, lp, u64 } from './binary-encoding.js';
import { canonicalJson } from './canonical-json.js';
import { IdSchema, Sha256HexSchema, UtcDateTimeSchema, UuidSchema } from './ids.js';

export const ENTRY_HASH_TAG = 'vigie.journal.entry.v1';
export const GENESIS_HASH = '0'.repeat(64);
/** Bound on one entry's data, canonical JSON bytes. */
export const MAX_ENTRY_DATA_BYTES = 16 * 1024;

export const EntryTypeSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+){0,7}$/,
    'must be a dotted lowercase name like session.opened',
  );

const JsonValueSchema: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.string().max(4096),
    z.array(JsonValueSchema).max(256),
    z.record(z.string().max(128), JsonValueSchema),
  ]),
);

export const JournalEntrySchema = z.strictObject({
  source: IdSchema,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  time: UtcDateTimeSchema,
  bootId: UuidSchema,
  type: EntryTypeSchema,
  data: z
    .record(z.string().max(128), JsonValueSchema)
    .refine(
      (data) => Buffer.byteLength(canonicalJson(data)) <= MAX_ENTRY_DATA_BYTES,
      `data must be at most ${MAX_ENTRY_DATA_BYTES} bytes of canonical JSON`,
    ),
  prevHash: Sha256HexSchema,
  hash: Sha256HexSchema,
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;
export type UnhashedEntry = Omit<JournalEntry, 'hash'>;

/** The exact bytes hashed for an entry (see the file comment). */
export function entryHashInput(entry: UnhashedEntry): Buffer {
  return Buffer.concat([
    lp(ENTRY_HASH_TAG),
    lp(entry.source),
    u64(entry.seq),
    lp(entry.time),
    lp(entry.bootId),
    lp(entry.type),
    lp(canonicalJson(entry.data)),
    hash32(entry.prevHash),
  ]);
}

/** Lowercase hex SHA-256 of the entry's canonical encoding; ignores `entry.hash` if present. */
export function hashEntry(entry: UnhashedEntry): string {
  return createHash('sha256').update(entryHashInput(entry)).digest('hex');
}

/** Builds the next entry after `prev` (or the first one, seq 1), hash included. */
export function appendEntry(
  prev: Pick<JournalEntry, 'seq' | 'hash'> | null,
  fields: Omit<UnhashedEntry, 'seq' | 'prevHash'>,
): JournalEntry {
  const unhashed: UnhashedEntry = {
    ...fields,
    seq: prev ? prev.seq + 1 : 1,
    prevHash: prev ? prev.hash : GENESIS_HASH,
  };
  return { ...unhashed, hash: hashEntry(unhashed) };
}
