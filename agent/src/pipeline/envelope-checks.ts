/**
 * The first steps of rule 1, before and including the signature: the retained
 * flag and the size (no parsing at all), then the envelope (protocol's
 * verifyEnvelope: shape, signature over the shipped bytes) and the command
 * schema. Nothing here trusts a byte of the payload before its signature.
 */
import { z } from 'zod';
import { isVigieError } from '../../../lib/src/errors.js';
import { formatIssues } from '../../../lib/src/schema.js';
import {
  CommandSchema,
  COMMAND_TYPES,
  type Command,
  type CommandType,
} from '../../../protocol/src/commands.js';
import { parseEnvelope, verifyEnvelope } from '../../../protocol/src/envelope.js';
import { UuidSchema } from '../../../protocol/src/ids.js';
import type { Keyring } from '../../../protocol/src/keyring.js';
import { ENVELOPE_LIMITS } from '../../../protocol/src/limits.js';
import { refusalForError } from '../../../protocol/src/refusal-reasons.js';
import { refused, type Refusal, type Refused } from './verification.js';

export const MAX_COMMAND_BYTES = ENVELOPE_LIMITS.command.maxBytes;

/** MQTT retained flag: no console publishes a retained command, and a retained one would replay at every subscription. */
export function checkRetained(retained: boolean): Refusal | null {
  return retained
    ? { reason: 'retained', detail: 'command arrived with the MQTT retained flag' }
    : null;
}

export function checkSize(bytes: Uint8Array): Refusal | null {
  if (bytes.byteLength <= MAX_COMMAND_BYTES) return null;
  return {
    reason: 'size',
    params: { sizeBytes: bytes.byteLength, maxBytes: MAX_COMMAND_BYTES },
    detail: `command of ${bytes.byteLength} bytes exceeds the ${MAX_COMMAND_BYTES}-byte limit`,
  };
}

export interface SignedCommand {
  readonly command: Command;
  readonly kid: string;
  readonly payloadBytes: Buffer;
}

/** The kid an unknown-key refusal quotes; only read on that error path. */
function kidOf(bytes: Uint8Array): string | undefined {
  try {
    return parseEnvelope(bytes, 'command').envelope.kid;
  } catch (err) {
    if (!isVigieError(err)) throw err;
    return undefined;
  }
}

// Any JSON value: the signature is checked by verifyEnvelope, the command schema
// by us, so that a schema refusal can still quote the (signed) command id.
const ANY_JSON = z.unknown();

function idAndType(raw: unknown): { id: string | null; type: CommandType | null } {
  if (typeof raw !== 'object' || raw === null) return { id: null, type: null };
  const record = raw as Record<string, unknown>;
  const id = UuidSchema.safeParse(record.id);
  const type = z.enum(COMMAND_TYPES).safeParse(record.type);
  return { id: id.success ? id.data : null, type: type.success ? type.data : null };
}

/** Envelope, signature and command schema; a refusal carries the id only once signed. */
export function openSignedCommand(bytes: Uint8Array, keyring: Keyring): SignedCommand | Refused {
  let verified;
  try {
    verified = verifyEnvelope(bytes, { kind: 'command', keyring, schema: ANY_JSON });
  } catch (err) {
    if (!isVigieError(err)) throw err;
    const reason = refusalForError(err.code);
    const kid = reason === 'unknown-key' ? kidOf(bytes) : undefined;
    return refused({ reason, params: kid ? { kid } : {}, detail: err.message }, null, null);
  }
  const parsed = CommandSchema.safeParse(verified.payload);
  if (!parsed.success) {
    const { id, type } = idAndType(verified.payload);
    const lines = formatIssues(parsed.error.issues);
    const first = parsed.error.issues[0]?.path.map(String).join('.');
    return refused(
      { reason: 'schema', params: first ? { detail: first } : {}, detail: lines.join('; ') },
      id,
      type,
    );
  }
  return { command: parsed.data, kid: verified.kid, payloadBytes: verified.payloadBytes };
}
