/**
 * Logged-in viewers, in memory only: a random 256-bit id in an HttpOnly,
 * Secure, SameSite=Strict cookie maps to the viewer and a CSRF token that
 * every POST must carry. A login ends at its absolute lifetime, after its idle
 * timeout, on logout, or when the relay stops; a restart logs everyone out.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readForm } from './http-util.js';
import type { WebClock } from './web-clock.js';

export interface LoginSession {
  readonly id: string;
  readonly viewerId: string;
  readonly csrfToken: string;
  readonly createdMonoMs: number;
  lastSeenMonoMs: number;
}

export interface LoginSessionsOptions {
  ttlSec: number;
  idleTimeoutSec: number;
  clock: WebClock;
  maxSessions?: number; // default 10_000; the oldest login goes first beyond it
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two tokens without leaking where they differ. */
export function tokensEqual(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * A logged-in user's POST: its form when it carries that login's CSRF token,
 * null when the body is not a form or the token is missing or wrong (403).
 */
export async function readLoginForm(
  req: IncomingMessage,
  csrfToken: string,
): Promise<URLSearchParams | null> {
  const form = await readForm(req);
  return form !== null && tokensEqual(form.get('csrf') ?? undefined, csrfToken) ? form : null;
}

export class LoginSessions {
  readonly #sessions = new Map<string, LoginSession>();
  readonly #maxSessions: number;

  constructor(readonly options: LoginSessionsOptions) {
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  create(viewerId: string): LoginSession {
    while (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const now = this.options.clock.monoMs();
    const session: LoginSession = {
      id: randomToken(),
      viewerId,
      csrfToken: randomToken(),
      createdMonoMs: now,
      lastSeenMonoMs: now,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live login for a cookie value, touched; undefined when unknown or expired. */
  get(id: string | undefined): LoginSession | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.options.clock.monoMs();
    const expired =
      now - session.createdMonoMs > this.options.ttlSec * 1000 ||
      now - session.lastSeenMonoMs > this.options.idleTimeoutSec * 1000;
    if (expired) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenMonoMs = now;
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }

  get size(): number {
    return this.#sessions.size;
  }
}
