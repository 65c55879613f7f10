/**
 * Why the relay refuses a tunnel (Rejected.reason): one stable code per check,
 * in the order the checks run. The box journals the code with `open-failed`,
 * so a code never changes meaning once released.
 */
export const RELAY_REJECTIONS = [
  /** The first message was not a Hello, or a Hello without ticket, session id or box id. */
  'hello',
  /** The client certificate is not a box certificate from the boxes CA. */
  'certificate',
  /** Hello.box_id is not the box of the client certificate. */
  'box',
  /** The relay has no valid policy (file missing or not signed by the administrator). */
  'policy-missing',
  // From the envelope and its signature (the agent's codes, protocol/src/refusal-reasons.ts).
  'size',
  'malformed',
  'schema',
  'signature',
  'unknown-key',
  /** The ticket is a signed command but not a session.open. */
  'not-an-open',
  /** Hello.session_id is not the ticket's sessionId. */
  'session-id',
  'key-not-valid',
  'role',
  /** The ticket is for another receiving centre, or its operator may not open to this one. */
  'recipient',
  /** The ticket's site is not the site of the box certificate (or the site does not list the box). */
  'site',
  'camera-not-annexed',
  'camera-not-transmissible',
  /** The ticket's command is expired (or issued in the future) beyond the policy's clock skew. */
  'stale',
  'convention',
  /** The session was closed on this relay: its ticket cannot open it again. */
  'replay',
  /** The session is live from another connection that is not a redial of the same ticket and box. */
  'session-live',
  'session-limit',
] as const;
export type RelayRejection = (typeof RELAY_REJECTIONS)[number];

export interface Rejection {
  readonly reason: RelayRejection;
  readonly detail: string;
}
