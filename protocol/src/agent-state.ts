/**
 * The retained state of an agent on `vigie/v1/sites/{site}/state`: `online`
 * with health and inventory while connected, `offline` as its MQTT last will.
 */
import { z } from 'zod';
import { IdSchema, UtcDateTimeSchema, UuidSchema } from './ids.js';

export const HealthSchema = z.strictObject({
  uptimeSec: z.number().int().nonnegative(),
  clockSynced: z.boolean(),
  journalWritable: z.boolean(),
  openSessions: z.number().int().nonnegative().max(1000),
  load1: z.number().nonnegative().optional(),
  memFreeBytes: z.number().int().nonnegative().optional(),
  diskFreeBytes: z.number().int().nonnegative().optional(),
  temperatureC: z.number().min(-50).max(150).optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/**
 * Inventory is typed loosely on purpose (its shape will follow the ONVIF
 * adapter), but bounded: at most 64 items of at most 32 scalar fields.
 */
const InventoryValue = z.union([z.string().max(256), z.number(), z.boolean(), z.null()]);
export const InventoryItemSchema = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/), InventoryValue)
  .refine((item) => Object.keys(item).length <= 32, 'at most 32 fields per inventory item');
export const InventorySchema = z.array(InventoryItemSchema).max(64);

const base = { boxId: IdSchema, siteId: IdSchema, time: UtcDateTimeSchema };

/** A live session as the operators' console lists it (`vigie op sessions`). */
export const LiveSessionSchema = z.strictObject({
  sessionId: UuidSchema,
  recipient: IdSchema,
  cameras: z.array(IdSchema).min(1).max(32),
  operator: IdSchema,
  openedAt: UtcDateTimeSchema,
  expiresAt: UtcDateTimeSchema,
});
export type LiveSession = z.infer<typeof LiveSessionSchema>;

export const AgentStateSchema = z.discriminatedUnion('status', [
  z.strictObject({
    ...base,
    status: z.literal('online'),
    bootId: UuidSchema,
    agentVersion: z.string().regex(/^[0-9A-Za-z.+-]{1,32}$/),
    policyVersion: z.number().int().positive().nullable(),
    health: HealthSchema,
    inventory: InventorySchema,
    sessions: z.array(LiveSessionSchema).max(16).default([]),
  }),
  // The last will is registered at connect time: its `time` is when the box connected.
  z.strictObject({ ...base, status: z.literal('offline') }),
]);
export type AgentState = z.infer<typeof AgentStateSchema>;
