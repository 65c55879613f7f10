/**
 * The relay verifies every ticket itself (DESIGN rule 6, issue 5): the signed
 * session.open bytes against the policy it holds, with the same pure checks as
 * the box's pipeline (agent/src/pipeline), plus what only the relay knows: the
 * ticket must name this recipient, and its site and box those of the client
 * certificate. Extensions are verified the same way.
 */
import type { SessionExtend, SessionOpen } from '../../../protocol/src/commands.js';
import type { Operator, Policy, Recipient } from '../../../protocol/src/policy-schema.js';
import { operatorKeyring } from '../../../protocol/src/policy.js';
import {
  checkKeyValidity,
  checkRecipient,
  checkRole,
} from '../../../agent/src/pipeline/authority-checks.js';
import { checkSize, openSignedCommand } from '../../../agent/src/pipeline/envelope-checks.js';
import type { PolicyView } from '../../../agent/src/pipeline/policy-view.js';
import { checkCameras, checkSite } from '../../../agent/src/pipeline/scope-checks.js';
import { checkConvention, checkFresh } from '../../../agent/src/pipeline/time-checks.js';
import type { Refusal } from '../../../agent/src/pipeline/verification.js';
import type { Rejection, RelayRejection } from './rejection-reasons.js';

/** The policy as the relay reads it: keyring built once per version, views per box. */
export class RelayPolicy {
  readonly policy: Policy;
  readonly #keyring;
  readonly #operators: ReadonlyMap<string, Operator>;
  readonly #recipients: ReadonlyMap<string, Recipient>;
  readonly #views = new Map<string, PolicyView>();

  constructor(policy: Policy) {
    this.policy = policy;
    this.#keyring = operatorKeyring(policy);
    this.#operators = new Map(policy.operators.map((op) => [op.kid, op]));
    this.#recipients = new Map(policy.recipients.map((r) => [r.id, r]));
  }

  get version(): number {
    return this.policy.version;
  }

  recipient(id: string): Recipient | undefined {
    return this.#recipients.get(id);
  }

  /** The pipeline's view for one box (its site only if the site lists that box or no box). */
  viewFor(siteId: string, boxId: string): PolicyView {
    const key = `${siteId}\u0000${boxId}`;
    const cached = this.#views.get(key);
    if (cached) return cached;
    const found = this.policy.sites.find((s) => s.id === siteId);
    const site =
      found && (found.boxIds === undefined || found.boxIds.includes(boxId)) ? found : null;
    const view: PolicyView = {
      policy: this.policy,
      version: this.policy.version,
      keyring: this.#keyring,
      operators: this.#operators,
      recipients: this.#recipients,
      site,
      cameras: new Map((site?.cameras ?? []).map((c) => [c.id, c])),
      skewMs: this.policy.clockSkewSec * 1000,
    };
    this.#views.set(key, view);
    return view;
  }
}

export interface BoxIdentity {
  readonly siteId: string;
  readonly boxId: string;
}

export interface TicketContext {
  readonly recipientId: string;
  readonly box: BoxIdentity;
  readonly wallNowMs: number;
  /**
   * A redial of a live session: its ticket was fresh when first accepted and
   * may have expired since; the session's own deadline is what bounds it.
   */
  readonly redial?: boolean;
}

export interface VerifiedTicket {
  readonly command: SessionOpen;
  readonly operator: Operator;
  readonly recipient: Recipient;
  readonly view: PolicyView;
  /** min(requested, recipient max, policy max) */
  readonly ttlSec: number;
}

function rejection(r: Refusal | { reason: RelayRejection; detail: string }): Rejection {
  return { reason: r.reason as RelayRejection, detail: r.detail };
}

type Opened<T> = { ok: true; command: T; operator: Operator; view: PolicyView } | Rejection;

/** Envelope, signature, schema, type, then the operator's key and role. */
function openCommand<T extends SessionOpen | SessionExtend>(
  bytes: Uint8Array,
  type: T['type'],
  policy: RelayPolicy,
  ctx: TicketContext,
): Opened<T> {
  const early = checkSize(bytes);
  if (early) return rejection(early);
  const view = policy.viewFor(ctx.box.siteId, ctx.box.boxId);
  const signed = openSignedCommand(bytes, view.keyring);
  if ('ok' in signed) return rejection(signed);
  const { command } = signed;
  if (command.type !== type) {
    return { reason: 'not-an-open', detail: `a ${command.type} command is not a ${type}` };
  }
  const operator = view.operators.get(signed.kid);
  if (!operator) return { reason: 'unknown-key', detail: `key ${signed.kid} is not in the policy` };
  const refusal =
    checkKeyValidity(operator, ctx.wallNowMs, true) ??
    checkRole(operator, command) ??
    checkSite(command, view, ctx.box.siteId);
  if (refusal) return rejection(refusal);
  return { ok: true, command: command as T, operator, view };
}

/** Every check of a Hello's ticket, cheapest first; the first failure is the answer. */
export function verifyTicket(
  bytes: Uint8Array,
  sessionId: string,
  policy: RelayPolicy,
  ctx: TicketContext,
): VerifiedTicket | Rejection {
  const opened = openCommand<SessionOpen>(bytes, 'session.open', policy, ctx);
  if (!('ok' in opened)) return opened;
  const { command, operator, view } = opened;
  if (command.sessionId !== sessionId) {
    const detail = `hello names session ${sessionId}; the ticket opens ${command.sessionId}`;
    return { reason: 'session-id', detail };
  }
  if (command.recipient !== ctx.recipientId) {
    const detail = `ticket is for recipient ${command.recipient}; this relay is ${ctx.recipientId}`;
    return { reason: 'recipient', detail };
  }
  const recipient = policy.recipient(ctx.recipientId);
  const refusal =
    checkRecipient(operator, command, view) ??
    checkCameras(command, view) ??
    (ctx.redial ? null : checkFresh(command, ctx.wallNowMs, view.skewMs, true)) ??
    checkConvention(command, view, ctx.wallNowMs);
  if (refusal) return rejection(refusal);
  if (!recipient) {
    return { reason: 'recipient', detail: `recipient ${ctx.recipientId} is not in the policy` };
  }
  const ttlSec = Math.min(command.requestedTtlSec, recipient.maxTtlSec, view.policy.maxTtlSec);
  return { command, operator, recipient, view, ttlSec };
}

export interface VerifiedExtension {
  readonly command: SessionExtend;
  /** min(newTtlSec, recipient max, policy max): the session's new total lifetime. */
  readonly ttlSec: number;
}

/** A session.extend for a live session: same signature, key, role, site and freshness checks. */
export function verifyExtension(
  bytes: Uint8Array,
  sessionId: string,
  policy: RelayPolicy,
  ctx: TicketContext,
): VerifiedExtension | Rejection {
  const opened = openCommand<SessionExtend>(bytes, 'session.extend', policy, ctx);
  if (!('ok' in opened)) return opened;
  const { command, view } = opened;
  if (command.sessionId !== sessionId) {
    const detail = `extension for session ${command.sessionId} arrived on session ${sessionId}`;
    return { reason: 'session-id', detail };
  }
  const refusal = checkFresh(command, ctx.wallNowMs, view.skewMs, true);
  if (refusal) return rejection(refusal);
  const recipient = policy.recipient(ctx.recipientId);
  if (!recipient) {
    return { reason: 'recipient', detail: `recipient ${ctx.recipientId} is not in the policy` };
  }
  const ttlSec = Math.min(command.newTtlSec, recipient.maxTtlSec, view.policy.maxTtlSec);
  return { command, ttlSec };
}
