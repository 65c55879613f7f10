/**
 * Whether a verified `session.open` may become a session on this box, before
 * anything is journaled: the agent is running, a policy is in force, the
 * session id is new (duplicate delivery never acts twice), the box has room,
 * and the TTL rule (rule 2) leaves a usable lifetime.
 */
import type { SessionOpen } from '../../../protocol/src/commands.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import type { Refusal } from '../pipeline/verification.js';
import { grantTtl, ttlCaps, type CertificateBounds } from './ttl.js';

export interface AdmissionState {
  readonly stopping: boolean;
  readonly policy: Policy | null;
  readonly activeCount: number;
  readonly maxSessions: number;
  readonly idInUse: (sessionId: string) => boolean;
  readonly certificates: CertificateBounds;
  readonly wallNowMs: number;
}

export type Admission = Refusal | { readonly ttlSec: number; readonly limitedBy: string };

export function admitOpen(c: SessionOpen, s: AdmissionState): Admission {
  if (s.stopping) return { reason: 'session-limit', detail: 'the agent is stopping' };
  if (s.policy === null) return { reason: 'policy-missing', detail: 'no policy in force' };
  if (s.idInUse(c.sessionId)) {
    const detail = `session ${c.sessionId} already exists on this box`;
    return { reason: 'session-exists', params: { sessionId: c.sessionId }, detail };
  }
  if (s.activeCount >= s.maxSessions) {
    const detail = `${s.activeCount} sessions open, maximum ${s.maxSessions}`;
    return { reason: 'session-limit', detail };
  }
  const caps = ttlCaps(s.policy, c.recipient, s.certificates, s.wallNowMs);
  const verdict = grantTtl(c.requestedTtlSec, caps);
  if (!verdict.ok) return { reason: verdict.reason, detail: verdict.detail };
  return { ttlSec: verdict.ttlSec, limitedBy: verdict.limitedBy };
}
