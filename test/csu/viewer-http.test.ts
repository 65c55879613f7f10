import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { Browser, PASSWORD, startViewer } from './viewer-helpers/viewer-fixture.js';
import { sessionInfo } from './viewer-helpers/fake-live-sessions.js';
import { SESSION_COOKIE, ViewerServer } from '../../csu/src/viewer/viewer-server.js';

t.test('refuses a wrong password and logs a viewer in with the right one', async (t) => {
  const { url } = await startViewer(t);
  const browser = new Browser(url);
  const wrong = await browser.login('agent-dupont', 'not the password');
  t.equal(wrong.status, 401);
  t.match(wrong.body, 'Identifiant ou mot de passe incorrect');
  t.notOk(browser.cookies.has(SESSION_COOKIE));
  const unknown = await browser.login('nobody', PASSWORD);
  t.equal(unknown.status, 401);
  const ok = await browser.login();
  t.equal(ok.status, 303);
  t.equal(ok.headers.location, '/sessions');
  const setCookie = String(ok.headers['set-cookie']);
  t.match(setCookie, /__Host-vigie-session=[A-Za-z0-9_-]{43};/);
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) {
    t.ok(setCookie.includes(attr), `session cookie has ${attr}`);
  }
  const list = await browser.request('GET', '/sessions');
  t.equal(list.status, 200);
  t.match(list.body, 'Aucune transmission en cours');
  t.match(list.body, 'Brigadier Dupont');
});

t.test('refuses a login form without the right CSRF token', async (t) => {
  const { url } = await startViewer(t);
  const browser = new Browser(url);
  await browser.request('GET', '/login');
  const res = await browser.request('POST', '/login', {
    csrf: 'forged',
    viewer: 'agent-dupont',
    password: PASSWORD,
  });
  t.equal(res.status, 403);
  t.notOk(browser.cookies.has(SESSION_COOKIE));
});

t.test('refuses a POST with a wrong CSRF token or from another origin', async (t) => {
  const { url, live } = await startViewer(t);
  live.open(sessionInfo());
  const browser = new Browser(url);
  await browser.login();
  const page = await browser.request('GET', '/sessions/sess-0001');
  const csrf = Browser.csrfOf(page.body);
  const forged = await browser.request('POST', '/sessions/sess-0001/intervention-over', {
    csrf: 'x'.repeat(csrf.length),
  });
  t.equal(forged.status, 403);
  const foreign = await browser.request(
    'POST',
    '/sessions/sess-0001/intervention-over',
    { csrf },
    { origin: 'https://evil.example' },
  );
  t.equal(foreign.status, 403);
  t.same(live.interventions, []);
  const ok = await browser.request('POST', '/sessions/sess-0001/intervention-over', {
    csrf,
    note: 'interpellation faite',
  });
  t.equal(ok.status, 200);
  t.match(ok.body, /Fin d’intervention signalée/);
  t.same(live.interventions, [
    {
      sessionId: 'sess-0001',
      viewer: { id: 'agent-dupont', name: 'Brigadier Dupont' },
      note: 'interpellation faite',
    },
  ]);
});

t.test('rate-limits login failures per viewer, then lets the window pass', async (t) => {
  const { url, clock } = await startViewer(t, {
    config: { login: { maxFailuresPerViewer: 3, maxFailuresPerIp: 50, windowSec: 60 } },
  });
  const browser = new Browser(url);
  for (let i = 0; i < 3; i++) {
    t.equal((await browser.login('agent-dupont', 'wrong')).status, 401);
  }
  const limited = await browser.login('agent-dupont', PASSWORD);
  t.equal(limited.status, 429, 'even the right password is not checked while limited');
  t.match(limited.body, 'Trop de tentatives');
  clock.advanceMs(61_000);
  t.equal((await browser.login()).status, 303);
});

t.test('rate-limits login failures per address across viewer ids', async (t) => {
  const { url } = await startViewer(t, {
    config: { login: { maxFailuresPerViewer: 50, maxFailuresPerIp: 4, windowSec: 60 } },
  });
  const browser = new Browser(url);
  for (let i = 0; i < 4; i++) {
    t.equal((await browser.login(`guess-${i}`, 'wrong')).status, 401);
  }
  t.equal((await browser.login()).status, 429);
});

t.test('refuses a viewer whose approval has lapsed', async (t) => {
  const { url, logLines } = await startViewer(t);
  const browser = new Browser(url);
  const res = await browser.login('agent-ancien', PASSWORD);
  t.equal(res.status, 403);
  t.match(res.body, 'Habilitation hors de sa période de validité');
  t.notOk(browser.cookies.has(SESSION_COOKIE));
  t.ok(logLines.some((l) => l.includes('approval not in force')));
});

t.test('logs a viewer out when the approval lapses during the login', async (t) => {
  const { url, clock } = await startViewer(t);
  const browser = new Browser(url);
  await browser.login();
  t.equal((await browser.request('GET', '/sessions')).status, 200);
  clock.stepWallMs(2 * 86_400_000);
  const res = await browser.request('GET', '/sessions');
  t.equal(res.status, 303);
  t.equal(res.headers.location, '/login');
});

t.test('sends the security headers on every page and asset', async (t) => {
  const { url } = await startViewer(t);
  const browser = new Browser(url);
  await browser.login();
  for (const path of ['/login', '/sessions', '/static/player.js', '/static/viewer.css', '/nope']) {
    const res = await browser.request('GET', path);
    const csp = String(res.headers['content-security-policy']);
    t.match(csp, "script-src 'self'", path);
    t.notMatch(csp, 'unsafe-inline', path);
    t.match(csp, "frame-ancestors 'none'", path);
    t.equal(res.headers['x-frame-options'], 'DENY', path);
    t.equal(res.headers['cache-control'], 'no-store', path);
    t.equal(res.headers['referrer-policy'], 'no-referrer', path);
    t.equal(res.headers['x-content-type-options'], 'nosniff', path);
  }
  const page = await browser.request('GET', '/sessions');
  t.notMatch(page.body, /<script>|<script [^>]*>[^<]/, 'no inline script');
  t.notMatch(page.body, /style=/, 'no inline style');
});

t.test('shows a live session and nothing once it has ended', async (t) => {
  const { url, live } = await startViewer(t);
  const browser = new Browser(url);
  t.equal((await browser.request('GET', '/sessions/sess-0001')).status, 303, 'login first');
  await browser.login();
  const none = await browser.request('GET', '/sessions/sess-0001');
  t.equal(none.status, 404);
  t.match(none.body, 'Aucune transmission en cours');
  live.open(sessionInfo());
  const list = await browser.request('GET', '/sessions');
  for (const text of [
    'Résidence Belleville',
    'Hall A',
    'Flagrant délit en cours',
    'Claire Martin',
  ]) {
    t.match(list.body, text);
  }
  t.match(list.body, /1[45] min/);
  const page = await browser.request('GET', '/sessions/sess-0001');
  t.equal(page.status, 200);
  t.match(page.body, 'controlslist="nodownload');
  t.match(page.body, 'Intervention terminée');
  t.match(page.body, 'class="watermark"');
  t.match(page.body, 'id="countdown"');
  live.close('sess-0001', 'ttl-expired');
  const after = await browser.request('GET', '/sessions/sess-0001');
  t.equal(after.status, 404);
  t.notMatch(after.body, 'Belleville');
  t.notMatch((await browser.request('GET', '/sessions')).body, 'Belleville');
});

t.test('logout forgets the login server-side', async (t) => {
  const { url } = await startViewer(t);
  const browser = new Browser(url);
  await browser.login();
  const stolen = browser.cookies.get(SESSION_COOKIE);
  const page = await browser.request('GET', '/sessions');
  const out = await browser.request('POST', '/logout', { csrf: Browser.csrfOf(page.body) });
  t.equal(out.status, 303);
  t.notOk(browser.cookies.has(SESSION_COOKIE));
  const replay = new Browser(url);
  replay.cookies.set(SESSION_COOKIE, stolen ?? '');
  t.equal((await replay.request('GET', '/sessions')).status, 303, 'old cookie is dead');
});

t.test('media socket: refused without login or from another origin', async (t) => {
  const { url, live } = await startViewer(t);
  live.open(sessionInfo());
  const wsUrl = `${url.replace('https', 'wss')}media?session=sess-0001&camera=cam-hall`;
  const anonymous = new WebSocket(wsUrl, { rejectUnauthorized: false, origin: url.slice(0, -1) });
  const [err] = (await once(anonymous, 'error')) as [Error];
  t.match(err.message, '403');
  const browser = new Browser(url);
  await browser.login();
  const cookie = `${SESSION_COOKIE}=${browser.cookies.get(SESSION_COOKIE)}`;
  const foreign = new WebSocket(wsUrl, {
    rejectUnauthorized: false,
    origin: 'https://evil.example',
    headers: { cookie },
  });
  const [err2] = (await once(foreign, 'error')) as [Error];
  t.match(err2.message, '403');
  t.same(live.joins, []);
});

t.test('start and stop are safe twice, and stop before start', async (t) => {
  const early = await startViewer(t);
  await early.server.stop();
  await early.server.stop();
  const unstarted = new ViewerServer(early.server.options);
  await unstarted.stop();
  await t.rejects(
    unstarted.start(),
    { code: 'viewer-listen-failed' },
    'stopped first: never listens',
  );
  const { server } = await startViewer(t);
  const again = await server.start();
  t.match(again.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  await server.stop();
  await t.rejects(new Browser(again.url).request('GET', '/login'), /ECONNREFUSED/);
});

t.test('never logs a password', async (t) => {
  const { url, logLines } = await startViewer(t);
  const browser = new Browser(url);
  await browser.login('agent-dupont', 'a wrong secret guess');
  await browser.login();
  t.ok(logLines.length > 0);
  t.notOk(logLines.some((l) => l.includes(PASSWORD) || l.includes('a wrong secret guess')));
});
