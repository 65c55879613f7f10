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
 * What the box sees of its cameras against the annex (agent/src/cameras):
 * one item per annex entry, then one per device that matches none. Matching
 * is by ONVIF identity; `address` is for the technician only.
 */
export const INVENTORY_STATUSES = [
  'annexed-present', // in the annex and answering with an H.264 profile
  'annexed-missing', // in the annex, not answering: coverage lost (an alarm)
  'annexed-unusable', // in the annex, answers discovery but not ONVIF (credentials, timeout)
  'h265-only', // annexed and answering, but only H.265: browsers cannot decode it
  'identity-conflict', // two devices claim one annexed identity: neither is trusted
  'not-annexed', // answering, not in the annex: never transmissible
] as const;
export type InventoryStatus = (typeof INVENTORY_STATUSES)[number];

const text = (max: number) => z.string().max(max);
export const InventoryItemSchema = z.strictObject({
  status: z.enum(INVENTORY_STATUSES),
  camera: IdSchema.nullable(), // the annex id, when the device matches an annex entry
  manufacturer: text(100),
  model: text(100),
  serial: text(100),
  endpointUrn: text(200).nullable(),
  address: text(100).nullable(), // host:port of its device service, as last seen
  transmissible: z.boolean(),
  live: text(100).nullable(), // the stream chosen for live view, e.g. "H264 1920x1080"
  reason: text(400),
});
export type InventoryItemState = z.infer<typeof InventoryItemSchema>;
/** The annex holds up to 256 cameras a site; as many unknown devices again at most. */
export const MAX_INVENTORY_ITEMS = 512;
export const InventorySchema = z.array(InventoryItemSchema).max(MAX_INVENTORY_ITEMS);

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
