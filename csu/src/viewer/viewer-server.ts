/**
 * The receiving centre's web viewer: HTTPS pages for named, approved viewers
 * and one WebSocket per camera carrying fMP4 from the relay's memory to the
 * browser's Media Source. Nothing is written to disk, there is no download or
 * replay endpoint, and a page of an ended session no longer exists.
 */
import type https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import type { LiveSessions, Viewer } from '../live-sessions.js';
import {
  cookie,
  parseCookies,
  redirect,
  requestUrl,
  sameOrigin,
  send,
} from '../../../lib/src/web/http-util.js';
import { LoginLimiter } from '../../../lib/src/web/login-limiter.js';
import {
  LoginSessions,
  readLoginForm,
  type LoginSession,
} from '../../../lib/src/web/login-sessions.js';
import { MediaBridge } from './media-bridge.js';
import { closeHttps, listenHttps } from '../../../lib/src/web/https-listen.js';
import { LoginFlow } from '../../../lib/src/web/login-flow.js';
import { PLAYER_JS } from './static/player-script.js';
import { VIEWER_CSS } from './static/viewer-css.js';
import { SYSTEM_WEB_CLOCK, type WebClock } from '../../../lib/src/web/web-clock.js';
import { isWithinValidity, type ApprovedViewer, type ViewerConfig } from './viewer-config.js';
import * as pages from './viewer-pages.js';

export const SESSION_COOKIE = '__Host-vigie-session';
export const LOGIN_COOKIE = '__Host-vigie-login'; // the login form's CSRF token, before any session
const MAX_SOCKETS_PER_LOGIN = 32; // a wall of 4 sessions × 8 cameras; beyond, refused

export interface ViewerServerOptions {
  config: ViewerConfig;
  live: LiveSessions;
  log: Logger;
  clock?: WebClock; // default: Date.now and performance.now
}

interface Authenticated {
  login: LoginSession;
  viewer: ApprovedViewer;
}

export class ViewerServer {
  readonly #clock: WebClock;
  readonly #logins: LoginSessions;
  readonly #loginFlow: LoginFlow;
  readonly #bridges = new Set<MediaBridge>();
  readonly #socketsPerLogin = new Map<string, number>();
  #server: https.Server | null = null;
  #wss: WebSocketServer | null = null;
  #starting: Promise<{ url: string }> | null = null;
  #stopped = false;

  constructor(readonly options: ViewerServerOptions) {
    this.#clock = options.clock ?? SYSTEM_WEB_CLOCK;
    const { config } = options;
    this.#logins = new LoginSessions({
      ttlSec: config.sessionTtlSec,
      idleTimeoutSec: config.idleTimeoutSec,
      clock: this.#clock,
    });
    const limiter = new LoginLimiter({ ...config.login, clock: this.#clock });
    this.#loginFlow = new LoginFlow({
      who: 'viewer',
      sessionCookie: SESSION_COOKIE,
      formCookie: LOGIN_COOKIE,
      sessionTtlSec: config.sessionTtlSec,
      idField: 'viewer',
      landing: '/sessions',
      limiter,
      logins: this.#logins,
      log: options.log,
      page: (token, error) => pages.loginPage(token, error),
      find: (id) => config.viewers.find((v) => v.id === id),
      refusal: (account) => {
        const viewer = config.viewers.find((v) => v.id === account.id);
        if (viewer === undefined || isWithinValidity(viewer, this.#clock.wallMs())) return null;
        return {
          message: 'Habilitation hors de sa période de validité.',
          log: 'login refused: approval not in force',
          fields: { validFrom: viewer.validFrom, validUntil: viewer.validUntil },
        };
      },
    });
  }

  /** Listens; safe to call twice (the second call gets the first one's answer). */
  start(): Promise<{ url: string }> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<{ url: string }> {
    if (this.#stopped) {
      throw new VigieError('viewer-listen-failed', 'the viewer was stopped before it started');
    }
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
    this.#wss = wss;
    const { server, url } = await listenHttps({
      tls: this.options.config.tls,
      listen: this.options.config.listen,
      what: 'viewer',
      listenFailed: 'viewer-listen-failed',
      handler: (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          this.options.log.error('viewer request failed', err, { path: req.url });
          if (!res.headersSent) send(res, 500, pages.simplePage('Erreur', 'Erreur interne.'));
          else res.destroy();
        });
      },
      created: (created) => {
        this.#server = created;
        created.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
          this.#upgrade(wss, req, socket, head),
        );
      },
    });
    this.#server = server;
    if (this.#stopped) {
      await this.#close(); // stop() came while we were starting: it wins
      throw new VigieError('viewer-listen-failed', 'the viewer was stopped while it started');
    }
    this.options.log.info('viewer listening', { url, viewers: this.options.config.viewers.length });
    return { url };
  }

  /** Ends every media socket, forgets every login, closes the server; safe twice and before start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    await this.#close();
  }

  async #close(): Promise<void> {
    for (const bridge of this.#bridges) bridge.end('relay-closed');
    this.#bridges.clear();
    this.#logins.clear();
    for (const client of this.#wss?.clients ?? []) client.terminate();
    this.#wss?.close();
    this.#wss = null;
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    await closeHttps(server);
  }

  #authenticate(req: IncomingMessage): Authenticated | null {
    const login = this.#logins.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (login === undefined) return null;
    const viewer = this.options.config.viewers.find((v) => v.id === login.viewerId);
    if (viewer === undefined || !isWithinValidity(viewer, this.#clock.wallMs())) {
      this.#logins.delete(login.id); // approval lapsed while logged in
      return null;
    }
    return { login, viewer };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/static/player.js') {
      return send(res, 200, PLAYER_JS, 'text/javascript; charset=utf-8');
    }
    if (req.method === 'GET' && path === '/static/viewer.css') {
      return send(res, 200, VIEWER_CSS, 'text/css; charset=utf-8');
    }
    if (path === '/favicon.ico') return send(res, 404, '', 'text/plain');
    if (path === '/login') {
      if (req.method === 'GET') return this.#loginFlow.form(req, res, null, 200);
      if (req.method === 'POST') return this.#loginFlow.submit(req, res);
    }
    if (req.method === 'POST' && !sameOrigin(req)) {
      return send(res, 403, pages.simplePage('Refusé', 'Requête d’une autre origine refusée.'));
    }
    const auth = this.#authenticate(req);
    if (auth === null) {
      if (req.method === 'GET') return redirect(res, '/login');
      return send(res, 403, pages.simplePage('Refusé', 'Session expirée : reconnectez-vous.'));
    }
    if (req.method === 'GET') return this.#get(path, auth, res);
    if (req.method === 'POST') return this.#post(path, auth, req, res);
    return send(res, 405, pages.simplePage('Refusé', 'Méthode non permise.'));
  }

  #get(path: string, auth: Authenticated, res: ServerResponse): void {
    const { viewer, login } = auth;
    const now = this.#clock.wallMs();
    if (path === '/' || path === '/sessions') {
      const list = this.options.live.list().filter((s) => s.expiresAtMs > now);
      return send(res, 200, pages.sessionListPage(list, viewer.name, login.csrfToken, now));
    }
    const match = /^\/sessions\/([^/]+)$/.exec(path);
    if (match?.[1] !== undefined) {
      const session = this.options.live.get(decodeURIComponent(match[1]));
      if (session === undefined || session.expiresAtMs <= now) {
        return send(res, 404, pages.noSessionPage(viewer.name, login.csrfToken));
      }
      return send(res, 200, pages.sessionPage(session, viewer.name, login.csrfToken, now));
    }
    return send(res, 404, pages.noSessionPage(viewer.name, login.csrfToken));
  }

  async #post(
    path: string,
    auth: Authenticated,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const form = await readLoginForm(req, auth.login.csrfToken);
    if (form === null) {
      this.options.log.warn('POST refused: missing or wrong CSRF token', { path });
      return send(res, 403, pages.simplePage('Refusé', 'Jeton de formulaire invalide.'));
    }
    if (path === '/logout') {
      this.#logins.delete(auth.login.id);
      this.options.log.info('viewer logged out', { viewer: auth.viewer.id });
      return redirect(res, '/login', { 'Set-Cookie': cookie(SESSION_COOKIE, '', 0) });
    }
    const match = /^\/sessions\/([^/]+)\/intervention-over$/.exec(path);
    if (match?.[1] !== undefined) {
      const sessionId = decodeURIComponent(match[1]);
      const note = (form.get('note') ?? '').slice(0, 500);
      const ok = this.options.live.interventionOver(sessionId, viewerOf(auth.viewer), note);
      this.options.log.info('intervention over', { sessionId, viewer: auth.viewer.id, ok });
      return send(
        res,
        ok ? 200 : 409,
        pages.interventionReportedPage(auth.viewer.name, auth.login.csrfToken, sessionId, ok),
      );
    }
    return send(res, 404, pages.simplePage('Introuvable', 'Cette page n’existe pas.'));
  }

  #upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = requestUrl(req);
    const auth = this.#authenticate(req);
    const sessionId = url.searchParams.get('session');
    const camera = url.searchParams.get('camera');
    if (
      url.pathname !== '/media' ||
      this.#stopped ||
      !sameOrigin(req) ||
      auth === null ||
      sessionId === null ||
      camera === null
    ) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const loginId = auth.login.id;
    const open = this.#socketsPerLogin.get(loginId) ?? 0;
    if (open >= MAX_SOCKETS_PER_LOGIN) {
      this.options.log.warn('media socket refused: too many for one login', {
        viewer: auth.viewer.id,
      });
      socket.end(
        'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    this.#socketsPerLogin.set(loginId, open + 1);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('close', () => {
        const left = (this.#socketsPerLogin.get(loginId) ?? 1) - 1;
        if (left <= 0) this.#socketsPerLogin.delete(loginId);
        else this.#socketsPerLogin.set(loginId, left);
      });
      ws.on('message', () => ws.close(1008, 'the viewer sends nothing')); // read-only
      const bridge = new MediaBridge({
        socket: ws,
        live: this.options.live,
        sessionId,
        camera,
        viewer: viewerOf(auth.viewer),
        maxBufferedBytes: this.options.config.maxBufferedBytes,
        log: this.options.log.child('media'),
      });
      this.#bridges.add(bridge);
      ws.on('close', () => this.#bridges.delete(bridge));
      this.options.log.info('viewer joined', { sessionId, camera, viewer: auth.viewer.id });
      if (!bridge.start()) this.#bridges.delete(bridge);
    });
  }
}

function viewerOf(viewer: ApprovedViewer): Viewer {
  return { id: viewer.id, name: viewer.name };
}
