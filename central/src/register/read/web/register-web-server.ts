/**
 * The register's read-only web page (issue 6): HTTPS, named users with scrypt
 * hashes, French. It shows the transmissions with filters, one session's
 * timeline, and the integrity status per box (re-verified periodically and on
 * demand). Every page that shows register data records the access with the
 * user's login first. Nothing can be changed or deleted through it; the only
 * deletion anywhere, the access log past its three-year retention, it runs
 * itself once a day (with a purge record).
 *
 * The building blocks are the centre's viewer's (lib/src/web): login form with
 * a double-submit CSRF cookie, rate-limited logins, in-memory login sessions
 * with a CSRF token for every POST, strict security headers. No script at all.
 */
import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VigieError } from '../../../../../lib/src/errors.js';
import type { Logger } from '../../../../../lib/src/log.js';
import {
  cookie,
  parseCookies,
  redirect,
  requestUrl,
  sameOrigin,
  send,
} from '../../../../../lib/src/web/http-util.js';
import { LoginLimiter } from '../../../../../lib/src/web/login-limiter.js';
import {
  LoginSessions,
  readLoginForm,
  type LoginSession,
} from '../../../../../lib/src/web/login-sessions.js';
import { closeHttps, listenHttps } from '../../../../../lib/src/web/https-listen.js';
import { LoginFlow } from '../../../../../lib/src/web/login-flow.js';
import type { WebClock } from '../../../../../lib/src/web/web-clock.js';
import { parisParts } from '../../../../../protocol/src/paris-time.js';
import type { RegisterStore } from '../../register-port.js';
import { periodText } from '../exports.js';
import {
  RegisterUpkeep,
  SYSTEM_TIMERS,
  type LastVerification,
  type Timers,
} from './register-upkeep.js';
import { integrityOf } from '../integrity.js';
import { findSession, findTransmissions, parsePeriod } from '../queries.js';
import {
  isUserValid,
  type RegisterWebConfig,
  type RegisterWebUser,
} from '../register-web-config.js';
import { camerasOf } from '../transmissions.js';
import * as pages from './register-web-pages.js';

export const SESSION_COOKIE = '__Host-vigie-register';
export const LOGIN_COOKIE = '__Host-vigie-register-login';
const DAY_MS = 86_400_000;

/** No script at all, styles from this origin only, forms only here, never framed. */
export const REGISTER_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
const CSP = { 'Content-Security-Policy': REGISTER_CSP };

interface Authenticated {
  readonly login: LoginSession;
  readonly user: RegisterWebUser;
}

export class RegisterWebServer {
  readonly #logins: LoginSessions;
  readonly #loginFlow: LoginFlow;
  readonly #upkeep: RegisterUpkeep;
  #server: https.Server | null = null;
  #starting: Promise<{ url: string }> | null = null;
  #stopped = false;

  constructor(
    readonly config: RegisterWebConfig,
    readonly store: RegisterStore,
    readonly clocks: WebClock,
    readonly log: Logger,
    timers: Timers = SYSTEM_TIMERS,
  ) {
    this.#upkeep = new RegisterUpkeep(store, clocks, log, timers, config.verifyEveryMs);
    this.#logins = new LoginSessions({
      ttlSec: config.sessionTtlSec,
      idleTimeoutSec: config.idleTimeoutSec,
      clock: clocks,
    });
    const limiter = new LoginLimiter({
      maxFailuresPerViewer: config.login.maxFailuresPerUser,
      maxFailuresPerIp: config.login.maxFailuresPerIp,
      windowSec: config.login.windowSec,
      clock: clocks,
    });
    this.#loginFlow = new LoginFlow({
      who: 'register user',
      sessionCookie: SESSION_COOKIE,
      formCookie: LOGIN_COOKIE,
      sessionTtlSec: config.sessionTtlSec,
      idField: 'login',
      landing: '/transmissions',
      headers: CSP,
      limiter,
      logins: this.#logins,
      log,
      page: (token, error) => pages.loginPage(token, error),
      find: (id) => {
        const user = config.users.find((u) => u.login === id);
        return user && { id: user.login, passwordHash: user.scryptHash };
      },
      refusal: (account) => {
        const user = config.users.find((u) => u.login === account.id);
        if (user === undefined || isUserValid(user, clocks.wallMs())) return null;
        return {
          message: 'Accès expiré : demandez sa prolongation à EMH.',
          log: 'login refused: access expired',
          fields: { validUntil: user.validUntil },
        };
      },
    });
  }

  /** Listens, then verifies and purges in the background; safe to call twice. */
  start(): Promise<{ url: string }> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Closes the server and the background tasks; safe twice and before start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#upkeep.stop();
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    this.#logins.clear();
    const server = this.#server;
    this.#server = null;
    if (server !== null) {
      await closeHttps(server);
    }
  }

  /** The last verification, or null before the first one ends. */
  get lastVerification(): LastVerification | null {
    return this.#upkeep.last;
  }

  async #start(): Promise<{ url: string }> {
    if (this.#stopped) throw new VigieError('register-listen-failed', 'stopped before it started');
    const { server, url } = await listenHttps({
      tls: this.config.tls,
      listen: this.config.listen,
      what: 'register web page',
      listenFailed: 'register-listen-failed',
      handler: (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.log.error('register page request failed', err, { path: req.url });
          if (!res.headersSent) this.#send(res, 500, pages.simplePage('Erreur', 'Erreur interne.'));
          else res.destroy();
        });
      },
    });
    this.#server = server;
    if (this.#stopped) {
      await closeHttps(server); // stop() came while we were starting: it wins
      throw new VigieError(
        'register-listen-failed',
        'the register web page was stopped while it started',
      );
    }
    this.#upkeep.start();
    this.log.info('register web page listening', { url, users: this.config.users.length });
    return { url };
  }

  #authenticate(req: IncomingMessage): Authenticated | null {
    const login = this.#logins.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (login === undefined) return null;
    const user = this.config.users.find((u) => u.login === login.viewerId);
    if (user === undefined || !isUserValid(user, this.clocks.wallMs())) {
      this.#logins.delete(login.id);
      return null;
    }
    return { login, user };
  }

  #send(
    res: ServerResponse,
    status: number,
    body: string,
    extra: Record<string, string | string[]> = {},
  ): void {
    send(res, status, body, undefined, { ...CSP, ...extra });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/static/register.css') {
      return send(res, 200, pages.REGISTER_CSS, 'text/css; charset=utf-8', CSP);
    }
    if (path === '/favicon.ico') return send(res, 204, '', 'text/plain', CSP); // none, and no console error
    if (path === '/login') {
      if (req.method === 'GET') return this.#loginFlow.form(req, res, null, 200);
      if (req.method === 'POST') return this.#loginFlow.submit(req, res);
    }
    if (req.method === 'POST' && !sameOrigin(req)) {
      return this.#send(
        res,
        403,
        pages.simplePage('Refusé', 'Requête d’une autre origine refusée.'),
      );
    }
    const auth = this.#authenticate(req);
    if (auth === null) {
      if (req.method === 'GET') return redirect(res, '/login', CSP);
      return this.#send(
        res,
        403,
        pages.simplePage('Refusé', 'Session expirée : reconnectez-vous.'),
      );
    }
    if (req.method === 'GET') return this.#get(path, url.searchParams, auth, res);
    if (req.method === 'POST') return this.#post(path, auth, req, res);
    return this.#send(res, 405, pages.simplePage('Refusé', 'Méthode non permise.'));
  }

  #pageUser(auth: Authenticated): pages.PageUser {
    return { login: auth.user.login, name: auth.user.name, csrf: auth.login.csrfToken };
  }

  async #get(
    path: string,
    query: URLSearchParams,
    auth: Authenticated,
    res: ServerResponse,
  ): Promise<void> {
    if (path === '/' || path === '/transmissions') return this.#transmissions(query, auth, res);
    const match = /^\/sessions\/([^/]+)$/.exec(path);
    if (match?.[1] !== undefined) return this.#session(decodeURIComponent(match[1]), auth, res);
    if (path === '/integrity') return this.#integrity(auth, res);
    return this.#send(
      res,
      404,
      pages.simplePage('Introuvable', 'Cette page n’existe pas.', this.#pageUser(auth)),
    );
  }

  async #transmissions(
    query: URLSearchParams,
    auth: Authenticated,
    res: ServerResponse,
  ): Promise<void> {
    const value = (name: string): string => (query.get(name) ?? '').trim().slice(0, 64);
    const filter = {
      from: value('from'),
      to: value('to'),
      site: value('site'),
      camera: value('camera'),
      recipient: value('recipient'),
      operator: value('operator'),
    };
    const user = this.#pageUser(auth);
    let period;
    try {
      const defaultFrom = parisParts(
        new Date(this.clocks.wallMs() - this.config.defaultDays * DAY_MS),
      ).date;
      period = parsePeriod(
        filter.from || (filter.to ? undefined : defaultFrom),
        filter.to || undefined,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return this.#send(res, 400, pages.transmissionsPage([], filter, '—', user, message));
    }
    const rows = await findTransmissions(this.store, {
      period,
      ...(filter.site ? { site: filter.site } : {}),
      ...(filter.camera ? { camera: filter.camera } : {}),
      ...(filter.recipient ? { recipient: filter.recipient } : {}),
      ...(filter.operator ? { operator: filter.operator } : {}),
    });
    const detail = Object.entries(filter)
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}=${v}`);
    await this.#record(
      auth,
      [
        'web transmissions',
        `period=${period.from?.toISOString() ?? '-'}/${period.to?.toISOString() ?? '-'}`,
        ...detail,
      ].join(' '),
      camerasOf(rows),
    );
    this.#send(res, 200, pages.transmissionsPage(rows, filter, periodText(period, 'fr'), user));
  }

  async #session(sessionId: string, auth: Authenticated, res: ServerResponse): Promise<void> {
    const row = await findSession(this.store, sessionId.slice(0, 128));
    const user = this.#pageUser(auth);
    if (row === null) {
      return this.#send(
        res,
        404,
        pages.simplePage('Introuvable', 'Le registre ne contient pas cette transmission.', user),
      );
    }
    await this.#record(auth, `web session ${sessionId}`, [...row.cameras]);
    this.#send(res, 200, pages.sessionPage(row, user));
  }

  async #integrity(auth: Authenticated, res: ServerResponse): Promise<void> {
    const sources = integrityOf(await this.store.sources(), this.#upkeep.last?.report ?? null);
    await this.#record(auth, 'web integrity', []);
    this.#send(
      res,
      200,
      pages.integrityPage(sources, this.#upkeep.last, this.store.backend, this.#pageUser(auth)),
    );
  }

  #record(
    auth: Authenticated,
    detail: string,
    cameras: readonly string[],
    action: 'consult' | 'verify' = 'consult',
  ) {
    return this.store.recordAccess({
      who: `${auth.user.login} (${auth.user.name})`,
      action,
      why: '',
      toWhom: '',
      cameras,
      detail,
    });
  }

  async #post(
    path: string,
    auth: Authenticated,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const form = await readLoginForm(req, auth.login.csrfToken);
    if (form === null) {
      this.log.warn('POST refused: missing or wrong CSRF token', { path, login: auth.user.login });
      return this.#send(res, 403, pages.simplePage('Refusé', 'Jeton de formulaire invalide.'));
    }
    if (path === '/logout') {
      this.#logins.delete(auth.login.id);
      return redirect(res, '/login', { ...CSP, 'Set-Cookie': cookie(SESSION_COOKIE, '', 0) });
    }
    if (path === '/integrity/verify') {
      await this.#record(auth, 'web verify', [], 'verify');
      await this.#upkeep.verifyNow(auth.user.login);
      return redirect(res, '/integrity', CSP);
    }
    return this.#send(
      res,
      404,
      pages.simplePage('Introuvable', 'Cette page n’existe pas.', this.#pageUser(auth)),
    );
  }
}
