/**
 * Time in rule 1: the clock must be trusted to open or extend, the command
 * fresh (issuedAt/expiresAt with the policy's skew), the convention in force
 * (Article 8), and an open inside a time window (Article 4) unless its trigger
 * is `urgence`, which is let through and flagged so the journal records it.
 */
import type { Command } from '../../../protocol/src/commands.js';
import { conventionPeriodInForce } from '../../../protocol/src/convention-period.js';
import { inTimeWindow } from '../../../protocol/src/time-windows.js';
import type { PolicyView } from './policy-view.js';
import type { Refusal } from './verification.js';

/** Commands that start or lengthen a transmission; the others only end one. */
export function widensTransmission(command: Command): boolean {
  return command.type === 'session.open' || command.type === 'session.extend';
}

export function checkClockTrusted(
  command: Command,
  trust: { trusted: true } | { trusted: false; why: string },
): Refusal | null {
  if (trust.trusted || !widensTransmission(command)) return null;
  return { reason: 'clock-untrusted', detail: `box clock is not trusted: ${trust.why}` };
}

/**
 * Fresh: not issued beyond the skew in the future, not expired beyond the skew.
 * Skipped on an untrusted clock (only closes get this far then): the replay
 * store still stops a second delivery, and a close can only end a session.
 */
export function checkFresh(
  command: Command,
  nowMs: number,
  skewMs: number,
  clockTrusted: boolean,
): Refusal | null {
  if (!clockTrusted) return null;
  const issued = Date.parse(command.issuedAt);
  const expires = Date.parse(command.expiresAt);
  const now = new Date(nowMs).toISOString();
  if (issued - skewMs > nowMs) {
    return {
      reason: 'stale',
      detail: `issued at ${command.issuedAt}, beyond the ${skewMs / 1000}s skew after box time ${now}`,
    };
  }
  if (expires + skewMs < nowMs) {
    return {
      reason: 'stale',
      detail: `expired at ${command.expiresAt} (skew ${skewMs / 1000}s); box time ${now}`,
    };
  }
  return null;
}

/**
 * The period in force stays in force until its end, so one computation serves
 * every command until then (the Paris calendar arithmetic costs about a third
 * of a signature check). Keyed by view: a new policy starts afresh.
 */
const periodCache = new WeakMap<PolicyView, { readonly fromMs: number; readonly endMs: number }>();

function conventionInForce(view: PolicyView, nowMs: number): boolean {
  const cached = periodCache.get(view);
  if (cached && nowMs >= cached.fromMs && nowMs < cached.endMs) return true;
  const end = conventionPeriodInForce(view.policy, new Date(nowMs));
  if (end === null) return false;
  periodCache.set(view, { fromMs: nowMs, endMs: end.getTime() });
  return true;
}

export function checkConvention(command: Command, view: PolicyView, nowMs: number): Refusal | null {
  if (!widensTransmission(command)) return null;
  if (conventionInForce(view, nowMs)) return null;
  const c = view.policy.convention;
  return {
    reason: 'convention',
    detail: `convention ${c.id} (starts ${c.startsAt}, ${c.renewal.mode} renewal) is not in force at ${new Date(nowMs).toISOString()}`,
  };
}

export type WindowVerdict = { inside: true } | { inside: false; urgence: true } | Refusal;

export function checkTimeWindow(
  command: Command,
  view: PolicyView,
  siteId: string,
  nowMs: number,
): WindowVerdict {
  if (command.type !== 'session.open') return { inside: true };
  if (inTimeWindow(view.policy.timeWindows, siteId, new Date(nowMs))) return { inside: true };
  if (command.trigger.kind === 'urgence') return { inside: false, urgence: true };
  return {
    reason: 'time-window',
    detail: `${new Date(nowMs).toISOString()} is outside every time window of site ${siteId} and the trigger is not urgence`,
  };
}
