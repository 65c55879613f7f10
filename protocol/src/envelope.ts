/**
 * Signed envelopes: "sign bytes, ship bytes". The payload travels as the
 * base64url of the exact bytes that were signed; a verifier checks the
 * signature over those bytes and only then parses them. Nobody re-serialises.
 *
 * Verification runs cheapest check first, each failure with its own code:
 * size -> depth (raw bytes) -> envelope shape -> v -> alg -> kid -> S < L ->
 * signature -> payload JSON (depth again) -> payload schema.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { VigieError, type ErrorCode } from '../../lib/src/errors.js';
import { formatIssues } from '../../lib/src/schema.js';
import { decodeBase64url, encodeBase64url, base64urlLength } from './base64url.js';
import { isCanonicalSignature, signBytes, SIGNATURE_BYTES } from './ed25519.js';
import { ID_PATTERN } from './ids.js';
import { exceedsJsonDepth } from './json-depth.js';
import type { Keyring } from './keyring.js';
import { ENVELOPE_LIMITS, type EnvelopeKind } from './limits.js';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_ALG = 'Ed25519';

const B64URL = /^[A-Za-z0-9_-]+$/;

/** The envelope as it travels. Values of v and alg are checked after the shape. */
export const EnvelopeSchema = z.strictObject({
  v: z.number().int(),
  kid: z.string().regex(ID_PATTERN, 'must be a key id'),
  alg: z.string().max(32),
  payload: z.string().regex(B64URL, 'must be base64url'),
  sig: z
    .string()
    .length(base64urlLength(SIGNATURE_BYTES), 'must encode exactly 64 bytes')
    .regex(B64URL, 'must be base64url'),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export interface Signer {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

export interface Verified<T> {
  readonly kid: string;
  readonly payloadBytes: Buffer;
  readonly payload: T;
}

export interface VerifyOptions<S extends z.ZodType> {
  readonly kind: EnvelopeKind;
  readonly keyring: Keyring;
  readonly schema: S;
}

/** Signs `payloadBytes` as they are and returns the envelope's JSON bytes. */
export function signEnvelope(payloadBytes: Uint8Array, signer: Signer): Buffer {
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    kid: signer.kid,
    alg: ENVELOPE_ALG,
    payload: encodeBase64url(payloadBytes),
    sig: encodeBase64url(signBytes(signer.privateKey, payloadBytes)),
  };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/** Serialises `value` once and signs those bytes. */
export function signJson(value: unknown, signer: Signer): Buffer {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined)
    throw new VigieError('payload-invalid', `a ${typeof value} value has no JSON form`);
  return signEnvelope(Buffer.from(text, 'utf8'), signer);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JSON.parse of UTF-8 bytes; a BOM or invalid UTF-8 is malformed, not tolerated. */
function parseJsonBytes(bytes: Uint8Array, code: ErrorCode, what: string): unknown {
  try {
    return JSON.parse(UTF8.decode(bytes)) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new VigieError(code, `${what} is not valid UTF-8 JSON: ${reason}`, { cause: err });
  }
}

export interface ParsedEnvelope {
  readonly envelope: Envelope;
  readonly payload: Buffer; // the signed bytes, decoded
  readonly sig: Buffer; // exactly 64 bytes
}

/** Checks size and depth, then the envelope's shape. No key material is touched. */
export function parseEnvelope(bytes: Uint8Array, kind: EnvelopeKind): ParsedEnvelope {
  const limits = ENVELOPE_LIMITS[kind];
  if (bytes.byteLength > limits.maxBytes) {
    throw new VigieError(
      'envelope-too-large',
      `${kind} envelope of ${bytes.byteLength} bytes exceeds the ${limits.maxBytes}-byte limit`,
    );
  }
  if (exceedsJsonDepth(bytes, limits.maxDepth)) {
    throw new VigieError(
      'envelope-too-deep',
      `${kind} envelope nests deeper than ${limits.maxDepth} levels`,
    );
  }
  const raw = parseJsonBytes(bytes, 'envelope-malformed', `${kind} envelope`);
  const shape = EnvelopeSchema.safeParse(raw);
  if (!shape.success) {
    const lines = formatIssues(shape.error.issues).join('; ');
    throw new VigieError('envelope-malformed', `${kind} envelope is malformed: ${lines}`);
  }
  const payload = decodeBase64url(shape.data.payload);
  const sig = decodeBase64url(shape.data.sig);
  if (!payload || !sig || sig.length !== SIGNATURE_BYTES) {
    throw new VigieError(
      'envelope-malformed',
      `${kind} envelope payload or sig is not canonical base64url`,
    );
  }
  return { envelope: shape.data, payload, sig };
}

/** Checks v, alg, kid and the signature over the shipped bytes. */
function checkSignature(parsed: ParsedEnvelope, keyring: Keyring, kind: EnvelopeKind): void {
  const { envelope, payload, sig } = parsed;
  if (envelope.v !== ENVELOPE_VERSION) {
    throw new VigieError(
      'envelope-bad-version',
      `${kind} envelope version ${envelope.v} is not ${ENVELOPE_VERSION}`,
    );
  }
  if (envelope.alg !== ENVELOPE_ALG) {
    throw new VigieError(
      'envelope-bad-alg',
      `${kind} envelope alg ${JSON.stringify(envelope.alg)} is not ${ENVELOPE_ALG}`,
    );
  }
  const key = keyring.get(envelope.kid);
  if (!key)
    throw new VigieError(
      'envelope-unknown-kid',
      `${kind} envelope is signed by unknown key ${envelope.kid}`,
    );
  if (!isCanonicalSignature(sig)) {
    throw new VigieError(
      'envelope-signature-not-canonical',
      `${kind} envelope signature by ${envelope.kid} has S >= L (malleable variant)`,
    );
  }
  // Our S < L check ran above with its own code; OpenSSL repeats it inside verify.
  if (!cryptoVerify(null, payload, key, sig)) {
    throw new VigieError(
      'envelope-bad-signature',
      `${kind} envelope signature by ${envelope.kid} does not verify`,
    );
  }
}

/** Full verification of a signed message of `kind`; see the order in the file comment. */
export function verifyEnvelope<S extends z.ZodType>(
  bytes: Uint8Array,
  options: VerifyOptions<S>,
): Verified<z.output<S>> {
  const { kind, keyring, schema } = options;
  const parsed = parseEnvelope(bytes, kind);
  checkSignature(parsed, keyring, kind);
  const payloadBytes = parsed.payload;
  const maxDepth = ENVELOPE_LIMITS[kind].maxDepth;
  if (exceedsJsonDepth(payloadBytes, maxDepth)) {
    throw new VigieError(
      'envelope-too-deep',
      `${kind} payload nests deeper than ${maxDepth} levels`,
    );
  }
  const raw = parseJsonBytes(payloadBytes, 'payload-malformed', `${kind} payload`);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw new VigieError('payload-invalid', `${kind} payload is invalid:\n  ${lines.join('\n  ')}`);
  }
  return { kid: parsed.envelope.kid, payloadBytes, payload: result.data };
}
