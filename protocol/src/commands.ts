/**
 * Commands from the EMH console to a site's agent, published on
 * `vigie/v1/sites/{site}/cmd` (QoS 1, never retained) inside a signed envelope.
 * One schema per command; the types are inferred from them.
 */
import { z } from 'zod';
import { boundedText, IdSchema, uniqueArray, UtcDateTimeSchema, UuidSchema } from './ids.js';
import { PurposeSchema } from './purposes.js';

export const COMMAND_TYPES = [
  'session.open',
  'session.close',
  'session.extend',
  'sessions.close-all',
] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** A command is valid for seconds to a few minutes after it is issued. */
export const MAX_COMMAND_LIFETIME_SEC = 300;
/** Bounds of a session's lifetime; the policy and the recipient lower the upper bound. */
export const MIN_SESSION_TTL_SEC = 30;
export const MAX_SESSION_TTL_SEC = 4 * 3600;
export const MAX_CAMERAS_PER_SESSION = 32;

const TtlSecSchema = z.number().int().min(MIN_SESSION_TTL_SEC).max(MAX_SESSION_TTL_SEC);

/** Phone-call reference, as written in the watch room's log (e.g. "CSU-2025-004711"). */
export const CallRefSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._:/#-]{0,63}$/,
    'must be 1-64 chars: letters, digits, space . _ : / # -',
  );

/** Why the agent may transmit: an occupation of common areas, or an emergency decided by an officer. */
export const TriggerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('occupation') }),
  z.strictObject({
    kind: z.literal('urgence'),
    officer: boundedText(120).describe('deciding officer: name, rank or badge number'),
  }),
]);
export type Trigger = z.infer<typeof TriggerSchema>;

const base = {
  id: UuidSchema,
  siteId: IdSchema,
  issuedAt: UtcDateTimeSchema,
  expiresAt: UtcDateTimeSchema,
};

export const SessionOpenSchema = z.strictObject({
  ...base,
  type: z.literal('session.open'),
  sessionId: UuidSchema,
  cameras: uniqueArray(IdSchema, 1, MAX_CAMERAS_PER_SESSION),
  recipient: IdSchema,
  purpose: PurposeSchema,
  trigger: TriggerSchema,
  callRef: CallRefSchema,
  requestedTtlSec: TtlSecSchema,
});

/** Why an operator closes a session; the agent journals `close-command` or `intervention-ended`. */
export const OPERATOR_CLOSE_REASONS = [
  'intervention-ended',
  'operator-decision',
  'recipient-request',
] as const;

export const SessionCloseSchema = z.strictObject({
  ...base,
  type: z.literal('session.close'),
  sessionId: UuidSchema,
  reason: z.enum(OPERATOR_CLOSE_REASONS).optional(),
  note: boundedText(200).optional(),
});

/**
 * Extension sets the session's new total lifetime, counted from its opening on
 * the agent's monotonic clock. Absolute rather than "add N seconds": a second
 * extend with the same value changes nothing, and the cap check against the
 * recipient's and the policy's maximum is a plain comparison.
 */
export const SessionExtendSchema = z.strictObject({
  ...base,
  type: z.literal('session.extend'),
  sessionId: UuidSchema,
  newTtlSec: TtlSecSchema,
});

/** Every box (`{all: true}`, broadcast topic) or one site (`{siteId}`, that site's topic). */
export const CloseAllScopeSchema = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ siteId: IdSchema }),
]);

export const SessionsCloseAllSchema = z.strictObject({
  id: base.id,
  issuedAt: base.issuedAt,
  expiresAt: base.expiresAt,
  type: z.literal('sessions.close-all'),
  scope: CloseAllScopeSchema,
  note: boundedText(200).optional(),
});

/** Any command; cross-field rule: 0 < expiresAt - issuedAt <= MAX_COMMAND_LIFETIME_SEC. */
export const CommandSchema = z
  .discriminatedUnion('type', [
    SessionOpenSchema,
    SessionCloseSchema,
    SessionExtendSchema,
    SessionsCloseAllSchema,
  ])
  .superRefine((command, ctx) => {
    const lifetimeSec = (Date.parse(command.expiresAt) - Date.parse(command.issuedAt)) / 1000;
    if (lifetimeSec <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: `expiresAt ${command.expiresAt} is not after issuedAt ${command.issuedAt}`,
      });
    } else if (lifetimeSec > MAX_COMMAND_LIFETIME_SEC) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: `command lifetime of ${lifetimeSec}s is more than the maximum ${MAX_COMMAND_LIFETIME_SEC}s`,
      });
    }
  });

export type Command = z.infer<typeof CommandSchema>;
export type SessionOpen = z.infer<typeof SessionOpenSchema>;
export type SessionClose = z.infer<typeof SessionCloseSchema>;
export type SessionExtend = z.infer<typeof SessionExtendSchema>;
export type SessionsCloseAll = z.infer<typeof SessionsCloseAllSchema>;

/** The site a command is addressed to, or null for a broadcast close-all. */
export function commandSiteId(command: Command): string | null {
  switch (command.type) {
    case 'session.open':
    case 'session.close':
    case 'session.extend':
      return command.siteId;
    case 'sessions.close-all':
      return 'siteId' in command.scope ? command.scope.siteId : null;
  }
}
