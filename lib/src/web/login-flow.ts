/**
 * The login of our web pages (the centre's viewer, the register's page): a
 * form whose CSRF token is bound to a cookie (double submit), failures
 * counted per account and per address before any scrypt check, the password
 * checked in constant time (scrypt even for an unknown account), then an
 * in-memory login session in an HttpOnly, Secure, SameSite=Strict cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { escapeHtml } from './html.js';
import { cookie, parseCookies, readForm, redirect, sameOrigin, send } from './http-util.js';
import type { LoginLimiter } from './login-limiter.js';
import { randomToken, tokensEqual, type LoginSessions } from './login-sessions.js';
import { verifyPassword } from './password-hash.js';

const TOKEN = /^[A-Za-z0-9_-]{43}$/; // randomToken(): 32 bytes, base64url
const FORM_COOKIE_MAX_AGE_SEC = 900;
/** What submit() reads of the id and the password (the form says the same to the browser). */
const ID_MAX = 64;
const PASSWORD_MAX = 1024;

/**
 * The form submit() reads (csrf, the id field, password), with the error
 * above it, for a page to place under its own heading.
 */
export function loginFormHtml(csrfToken: string, idField: string, error: string | null): string {
  const message = error === null ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>\n`;
  const id = escapeHtml(idField);
  return `${message}<form method="post" action="/login">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
<label for="${id}">Identifiant</label>
<input id="${id}" name="${id}" autocomplete="username" required maxlength="${ID_MAX}">
<label for="password">Mot de passe</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="${PASSWORD_MAX}">
<button type="submit">Se connecter</button>
</form>`;
}

export interface LoginAccount {
  readonly id: string;
  readonly passwordHash: string;
}

export interface LoginRefusal {
  /** Shown on the form (French). */
  readonly message: string;
  /** Logged in English, with `fields`. */
  readonly log: string;
  readonly fields: Record<string, unknown>;
}

export interface LoginFlowOptions {
  /** Who logs in, for the logs: 'viewer', 'register user'. */
  readonly who: string;
  readonly sessionCookie: string;
  /** The form's CSRF cookie, before any session. */
  readonly formCookie: string;
  readonly sessionTtlSec: number;
  /** The form field holding the account id. */
  readonly idField: string;
  /** Where a successful login lands. */
  readonly landing: string;
  /** Extra response headers (a stricter CSP). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly limiter: LoginLimiter;
  readonly logins: LoginSessions;
  readonly log: Logger;
  page(token: string, error: string | null): string;
  find(id: string): LoginAccount | undefined;
  /** Null when the account may log in now, or why not. */
  refusal(account: LoginAccount): LoginRefusal | null;
}

export class LoginFlow {
  constructor(readonly o: LoginFlowOptions) {}

  /**
   * The login form, with a CSRF token bound to a cookie (double submit). A
   * token already in the cookie is kept: a second tab or the browser's own
   * favicon fetch must not invalidate the form on screen.
   */
  form(req: IncomingMessage, res: ServerResponse, error: string | null, status: number): void {
    const current = parseCookies(req.headers.cookie).get(this.o.formCookie);
    const token = current !== undefined && TOKEN.test(current) ? current : randomToken();
    send(res, status, this.o.page(token, error), undefined, {
      ...this.o.headers,
      'Set-Cookie': cookie(this.o.formCookie, token, FORM_COOKIE_MAX_AGE_SEC),
    });
  }

  async submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const expected = parseCookies(req.headers.cookie).get(this.o.formCookie);
    if (
      form === null ||
      !sameOrigin(req) ||
      expected === undefined ||
      !tokensEqual(form.get('csrf') ?? undefined, expected)
    ) {
      return this.form(req, res, 'Formulaire expiré ou invalide : réessayez.', 403);
    }
    const id = (form.get(this.o.idField) ?? '').trim().toLowerCase().slice(0, ID_MAX);
    const password = (form.get('password') ?? '').slice(0, PASSWORD_MAX);
    const ip = req.socket.remoteAddress ?? 'unknown';
    const key = this.o.idField;
    if (!this.o.limiter.allowed(id, ip)) {
      this.o.log.warn('login refused: too many failures', { [key]: id, ip });
      return this.form(req, res, 'Trop de tentatives : réessayez plus tard.', 429);
    }
    const account = this.o.find(id);
    const passwordOk = await verifyPassword(password, account?.passwordHash ?? null);
    if (account === undefined || !passwordOk) {
      this.o.limiter.failed(id, ip);
      this.o.log.warn('login refused: wrong id or password', { [key]: id, ip });
      return this.form(req, res, 'Identifiant ou mot de passe incorrect.', 401);
    }
    const refusal = this.o.refusal(account);
    if (refusal !== null) {
      this.o.log.warn(refusal.log, { [key]: account.id, ...refusal.fields });
      return this.form(req, res, refusal.message, 403);
    }
    this.o.limiter.succeeded(account.id);
    const login = this.o.logins.create(account.id);
    this.o.log.info(`${this.o.who} logged in`, { [key]: account.id, ip });
    redirect(res, this.o.landing, {
      ...this.o.headers,
      'Set-Cookie': [
        cookie(this.o.sessionCookie, login.id, this.o.sessionTtlSec),
        cookie(this.o.formCookie, '', 0),
      ],
    });
  }
}
