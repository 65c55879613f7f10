/**
 * Size and depth limits per kind of signed message, checked before any parsing
 * (size) and before JSON.parse (depth). The numbers leave room for the largest
 * legitimate message of each kind and nothing more.
 */
export interface EnvelopeLimits {
  readonly maxBytes: number; // whole envelope, as received
  readonly maxDepth: number; // bracket nesting, envelope and payload alike
}

export const ENVELOPE_LIMITS = {
  // A session.open with 32 cameras is about 1.5 KiB; 16 KiB leaves room for notes.
  command: { maxBytes: 16 * 1024, maxDepth: 16 },
  // A policy with hundreds of cameras and a few CA certificates; base64 adds a third.
  policy: { maxBytes: 1024 * 1024, maxDepth: 16 },
  // Agent events carry bounded detail and a loosely typed inventory.
  event: { maxBytes: 64 * 1024, maxDepth: 16 },
  // A batch of journal entries sent in one message (the gRPC path streams entries
  // one by one instead; a batch is for exports and MQTT fallbacks).
  'journal-batch': { maxBytes: 4 * 1024 * 1024, maxDepth: 16 },
} as const satisfies Record<string, EnvelopeLimits>;

export type EnvelopeKind = keyof typeof ENVELOPE_LIMITS;
