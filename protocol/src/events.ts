/**
 * Agent events on `vigie/v1/sites/{site}/evt` (QoS 1, not retained): the
 * acknowledgement or refusal of each command, session lifecycle, and alarms.
 */
import { z } from 'zod';
import { AlarmCodeSchema, AlarmSeveritySchema } from './alarms.js';
import { CloseReasonSchema } from './close-reasons.js';
import { COMMAND_TYPES } from './commands.js';
import { boundedText, IdSchema, uniqueArray, UtcDateTimeSchema, UuidSchema } from './ids.js';
import { RefusalCodeSchema } from './refusal-reasons.js';

const base = {
  id: UuidSchema,
  siteId: IdSchema,
  boxId: IdSchema,
  time: UtcDateTimeSchema,
};

/** Small typed parameters quoted by a refusal message (camera id, policy version...). */
const ParamsSchema = z
  .record(z.string().regex(/^[a-zA-Z]{1,32}$/), z.union([z.string().max(200), z.number()]))
  .refine((params) => Object.keys(params).length <= 16, 'at most 16 parameters');

export const CommandAckSchema = z.strictObject({
  ...base,
  type: z.literal('command.ack'),
  commandId: UuidSchema,
  commandType: z.enum(COMMAND_TYPES),
  sessionId: UuidSchema.optional(),
  grantedTtlSec: z.number().int().positive().optional(),
});

export const CommandRejectSchema = z.strictObject({
  ...base,
  type: z.literal('command.reject'),
  // null when the command was too broken to read its id
  commandId: UuidSchema.nullable(),
  reason: RefusalCodeSchema,
  params: ParamsSchema.optional(),
  detail: boundedText(500).optional(),
});

export const SessionOpenedSchema = z.strictObject({
  ...base,
  type: z.literal('session.opened'),
  sessionId: UuidSchema,
  commandId: UuidSchema,
  recipient: IdSchema,
  cameras: uniqueArray(IdSchema, 1, 32),
  ttlSec: z.number().int().positive(),
  expiresAt: UtcDateTimeSchema,
});

export const SessionClosedSchema = z.strictObject({
  ...base,
  type: z.literal('session.closed'),
  sessionId: UuidSchema,
  reason: CloseReasonSchema,
  durationSec: z.number().int().nonnegative(),
});

export const AlarmEventSchema = z.strictObject({
  ...base,
  type: z.literal('alarm'),
  alarm: AlarmCodeSchema,
  severity: AlarmSeveritySchema,
  camera: IdSchema.optional(),
  detail: boundedText(500).optional(),
});

export const AgentEventSchema = z.discriminatedUnion('type', [
  CommandAckSchema,
  CommandRejectSchema,
  SessionOpenedSchema,
  SessionClosedSchema,
  AlarmEventSchema,
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];
