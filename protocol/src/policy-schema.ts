/**
 * The policy bundle: what the EMH administrator signs and every box and relay
 * obeys. This file is the shape; policy-checks.ts adds the cross-field rules
 * and policy.ts joins both into PolicySchema, the one source of the Policy type.
 */
import { z } from 'zod';
import { MAX_SESSION_TTL_SEC, MIN_SESSION_TTL_SEC } from './commands.js';
import {
  boundedNote,
  boundedText,
  CalendarDateSchema,
  DnsNameSchema,
  HostPortSchema,
  IdSchema,
  uniqueArray,
  UtcDateTimeSchema,
} from './ids.js';
import { PurposeSchema } from './purposes.js';
import { RoleSchema } from './roles.js';
import { TimeWindowSchema } from './time-windows.js';

const PemSchema = (label: string) =>
  z
    .string()
    .max(16 * 1024)
    .regex(
      new RegExp(`^\\s*-----BEGIN ${label}-----[\\s\\S]+-----END ${label}-----\\s*$`),
      `must be a PEM ${label}`,
    );

const TtlSecSchema = z.number().int().min(MIN_SESSION_TTL_SEC).max(MAX_SESSION_TTL_SEC);

/**
 * Article 8: one year from signature, renewed tacitly unless a party gives
 * notice six months ahead. The decree behind L272-2 asks for express renewal;
 * the policy says which applies. Dates are calendar days in Europe/Paris.
 */
export const RenewalSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('tacit'),
    noticeMonths: z.number().int().min(0).max(24), // 6 per Article 8
    terminationNoticeAt: CalendarDateSchema.optional(), // the day a party gave notice
  }),
  z.strictObject({
    mode: z.literal('express'),
    renewedUntil: CalendarDateSchema.optional(), // exclusive: in force before 00:00 Paris that day
  }),
]);

export const ConventionSchema = z.strictObject({
  id: IdSchema,
  title: boundedText(300).optional(),
  signedAt: CalendarDateSchema,
  startsAt: CalendarDateSchema,
  periodMonths: z.number().int().min(1).max(120), // 12 per Article 8
  renewal: RenewalSchema,
});
export type Convention = z.infer<typeof ConventionSchema>;

export const OperatorSchema = z.strictObject({
  kid: IdSchema,
  name: boundedText(120),
  publicKey: PemSchema('PUBLIC KEY'),
  roles: uniqueArray(RoleSchema, 1, 4),
  validFrom: UtcDateTimeSchema,
  validUntil: UtcDateTimeSchema,
  recipients: uniqueArray(IdSchema, 0, 64), // recipients this operator may open sessions to
});

export const RecipientSchema = z.strictObject({
  id: IdSchema,
  name: boundedText(200),
  relay: HostPortSchema,
  caPem: PemSchema('CERTIFICATE'),
  serverName: DnsNameSchema, // expected in the relay's certificate
  maxTtlSec: TtlSecSchema,
  territory: boundedText(200),
});

export const OnvifIdentitySchema = z.strictObject({
  manufacturer: boundedText(100),
  model: boundedText(100),
  serial: boundedText(100),
  hardwareId: boundedText(100).optional(),
  endpointUrn: z
    .string()
    .max(200)
    .regex(/^urn:[a-z0-9][a-z0-9-]{0,31}:[\x21-\x7e]+$/i, 'must be a URN')
    .optional(),
});

/** A zone the camera must mask (configured on the camera; checked through ONVIF). Normalised 0..1. */
export const MaskZoneSchema = z.strictObject({
  x: z.number().min(0).max(1),
  y: z.number().min(0).max(1),
  width: z.number().gt(0).max(1),
  height: z.number().gt(0).max(1),
});

export const CameraSchema = z.strictObject({
  id: IdSchema,
  onvif: OnvifIdentitySchema,
  label: boundedText(120),
  location: boundedText(300),
  owner: z.enum(['emh', 'metropole']), // Article 7: metropolitan equipment on EMH buildings
  transmissible: z.boolean(),
  privacyMask: z.array(MaskZoneSchema).max(16).optional(),
});

export const SiteSchema = z.strictObject({
  id: IdSchema,
  name: boundedText(200),
  address: boundedNote(400),
  boxIds: uniqueArray(IdSchema, 1, 8).optional(),
  cameras: z.array(CameraSchema).max(256),
});

export const PolicyShape = z.strictObject({
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  issuedAt: UtcDateTimeSchema,
  convention: ConventionSchema,
  operators: z.array(OperatorSchema).max(500),
  recipients: z.array(RecipientSchema).min(1).max(32),
  sites: z.array(SiteSchema).min(1).max(2000),
  timeWindows: z.array(TimeWindowSchema).max(100),
  purposes: uniqueArray(PurposeSchema, 1, 5),
  maxTtlSec: TtlSecSchema,
  clockSkewSec: z.number().int().min(0).max(300),
});

export type Policy = z.infer<typeof PolicyShape>;
export type Operator = Policy['operators'][number];
export type Recipient = Policy['recipients'][number];
export type Site = Policy['sites'][number];
export type Camera = Site['cameras'][number];
