import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { resolveRegisterWebConfig } from '../../central/src/register/read/register-web-config.js';
import { runRegisterWeb } from '../../central/src/register/read/web/run-register-web.js';
import { hashPassword } from '../../lib/src/web/password-hash.js';
import { PURGE_ACTOR } from '../../central/src/register/read/web/register-upkeep.js';
import { REGISTER_CSP } from '../../central/src/register/read/web/register-web-server.js';
import { ACCESS_LOG_RETENTION_MS } from '../../central/src/register/register-port.js';
import {
  Browser,
  selfSignedCert,
  tempDir,
  TEST_SCRYPT,
} from '../csu/viewer-helpers/viewer-fixture.js';
import { FakeBox, MemoryRegisterStore } from './register-read-fixture.js';
import { AUDITOR, startRegisterWeb } from './register-web-fixture.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');

function register(): { store: MemoryRegisterStore; ids: string[]; box: FakeBox } {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const other = new FakeBox('box-patrotte-01', 'patrotte-barres');
  const ids = [
    box.session({
      start: '2026-11-28T10:00:00.000Z',
      cameras: ['cam-01'],
      viewers: [{ id: 'agent-dupont', name: 'Brigadier Dupont', from: 10, to: 100 }],
    }),
    other.session({ start: '2026-11-29T09:00:00.000Z', cameras: ['cam-07'], recipient: 'dipn-57' }),
    box.session({ start: '2026-10-01T09:00:00.000Z', cameras: ['cam-02'] }),
  ];
  const store = new MemoryRegisterStore({ wallNowMs: () => NOW });
  store.load(box);
  store.load(other);
  return { store, ids, box };
}

async function loggedIn(url: string, login = AUDITOR.login, password = AUDITOR.password) {
  const browser = new Browser(url);
  const page = await browser.request('GET', '/login');
  const reply = await browser.request('POST', '/login', {
    csrf: Browser.csrfOf(page.body),
    login,
    password,
  });
  return { browser, reply };
}

void t.test(
  'login: refused without the form token, with a wrong password, when expired',
  async (t) => {
    const { store } = register();
    const web = await startRegisterWeb(t, store);
    const anonymous = new Browser(web.url);
    const redirected = await anonymous.request('GET', '/transmissions');
    t.equal(redirected.status, 303);
    t.equal(redirected.headers.location, '/login');
    const form = await anonymous.request('GET', '/login');
    t.equal(form.status, 200);
    t.equal(form.headers['content-security-policy'], REGISTER_CSP);
    t.notMatch(form.body, /<script/i, 'no script at all');
    t.match(form.body, 'Registre de consignation');
    const noToken = await anonymous.request('POST', '/login', {
      login: AUDITOR.login,
      password: AUDITOR.password,
    });
    t.equal(noToken.status, 403, 'CSRF: the form token is required');
    const wrongToken = await anonymous.request('POST', '/login', {
      csrf: 'x'.repeat(43),
      login: AUDITOR.login,
      password: AUDITOR.password,
    });
    t.equal(wrongToken.status, 403);
    const wrong = await loggedIn(web.url, AUDITOR.login, 'wrong');
    t.equal(wrong.reply.status, 401);
    t.match(wrong.reply.body, 'Identifiant ou mot de passe incorrect');
    const expired = await loggedIn(web.url, 'auditeur-ancien');
    t.equal(expired.reply.status, 403);
    t.match(expired.reply.body, 'Accès expiré');
    const ok = await loggedIn(web.url);
    t.equal(ok.reply.status, 303);
    t.equal(ok.reply.headers.location, '/transmissions');
    t.ok(ok.browser.cookies.has('__Host-vigie-register'));
    t.same(await store.accessLog({}), [], 'logging in shows no register data');
    t.end();
  },
);

void t.test('logins are rate-limited', async (t) => {
  const { store } = register();
  const web = await startRegisterWeb(t, store, {
    config: { login: { maxFailuresPerUser: 2, maxFailuresPerIp: 50, windowSec: 60 } },
  });
  t.equal((await loggedIn(web.url, AUDITOR.login, 'a')).reply.status, 401);
  t.equal((await loggedIn(web.url, AUDITOR.login, 'b')).reply.status, 401);
  const blocked = await loggedIn(web.url);
  t.equal(blocked.reply.status, 429, 'even the right password waits');
  web.clock.advanceMs(61_000);
  t.equal((await loggedIn(web.url)).reply.status, 303);
  t.end();
});

void t.test(
  'the transmissions page filters, and each view is in the access log first',
  async (t) => {
    const { store, ids } = register();
    const web = await startRegisterWeb(t, store, { wallStartMs: NOW });
    const { browser } = await loggedIn(web.url);
    const page = await browser.request('GET', '/transmissions');
    t.equal(page.status, 200);
    t.equal(page.headers['content-security-policy'], REGISTER_CSP);
    t.match(page.body, '<strong id="count">2</strong>', 'default: the last 30 days');
    t.match(page.body, `/sessions/${ids[0] ?? ''}`);
    t.match(page.body, '2026-11-28 11:00 (UTC+01:00)');
    t.notMatch(page.body, ids[2] ?? '', 'October is older than 30 days');
    const filtered = await browser.request(
      'GET',
      '/transmissions?from=2026-10-01&to=2026-11-30&camera=cam-07',
    );
    t.match(filtered.body, '<strong id="count">1</strong>');
    t.match(filtered.body, ids[1] ?? '');
    const all = await browser.request('GET', '/transmissions?from=2026-09-01&site=borny-hauts');
    t.match(all.body, '<strong id="count">2</strong>');
    const bad = await browser.request('GET', '/transmissions?from=hier');
    t.equal(bad.status, 400);
    t.match(bad.body, /--from &#34;hier&#34; is not a date/);
    const session = await browser.request('GET', `/sessions/${ids[0] ?? ''}`);
    t.equal(session.status, 200);
    t.match(session.body, 'Brigadier Dupont (agent-dupont)');
    t.match(session.body, 'session.viewer-joined');
    t.equal((await browser.request('GET', '/sessions/nope')).status, 404);
    const log = await store.accessLog({});
    t.same(
      log.map((r) => [r.who, r.action, r.cameras]),
      [
        ['dpo-emh (Claire Dubois)', 'consult', ['cam-01', 'cam-07']],
        ['dpo-emh (Claire Dubois)', 'consult', ['cam-07']],
        ['dpo-emh (Claire Dubois)', 'consult', ['cam-01', 'cam-02']],
        ['dpo-emh (Claire Dubois)', 'consult', ['cam-01']],
      ],
    );
    t.match(log[1]?.detail, /web transmissions .*camera=cam-07/);
    t.match(log[3]?.detail, `web session ${ids[0] ?? ''}`);
    t.end();
  },
);

void t.test('integrity: per box, verified periodically and on demand with CSRF', async (t) => {
  const { store } = register();
  const web = await startRegisterWeb(t, store, { wallStartMs: NOW });
  const { browser } = await loggedIn(web.url);
  const before = await browser.request('GET', '/integrity');
  t.match(before.body, 'Vérification pas encore faite');
  t.equal(web.timers.fire(0), 2, 'the first verification and purge run at start');
  await t.resolveMatch(
    new Promise((resolve) => {
      const check = (): void => {
        if (web.server.lastVerification) resolve(web.server.lastVerification);
        else setImmediate(check);
      };
      check();
    }),
    { report: { ok: true }, by: 'vérification périodique' },
  );
  const page = await browser.request('GET', '/integrity');
  t.match(page.body, /Registre intègre : 2 source\(s\)/);
  t.match(page.body, /box-borny-01<\/td><td>borny-hauts/);
  store.tamper('box-borny-01', 2, (e) => ({ ...e, data: { sessionId: 'forged' } }));
  const noToken = await browser.request('POST', '/integrity/verify', {});
  t.equal(noToken.status, 403, 'CSRF on every POST');
  const verify = await browser.request('POST', '/integrity/verify', {
    csrf: Browser.csrfOf(page.body),
  });
  t.equal(verify.status, 303);
  const after = await browser.request('GET', '/integrity');
  t.match(after.body, /REGISTRE ALTÉRÉ : 1 problème/);
  t.match(after.body, /box-borny-01 seq 2: hash-mismatch/);
  t.match(after.body, /ALTÉRÉ : hash-mismatch \(seq 2\)/);
  const actions = (await store.accessLog({})).map((r) => r.action);
  t.same(actions, ['consult', 'consult', 'verify', 'consult']);
  t.end();
});

void t.test('the page purges the access log past three years once a day, on its own', async (t) => {
  let nowMs = NOW - ACCESS_LOG_RETENTION_MS - 1000;
  const store = new MemoryRegisterStore({ wallNowMs: () => nowMs });
  await store.recordAccess({
    who: 'old',
    action: 'consult',
    why: '',
    toWhom: '',
    cameras: [],
    detail: 'x',
  });
  nowMs = NOW;
  await store.recordAccess({
    who: 'new',
    action: 'consult',
    why: '',
    toWhom: '',
    cameras: [],
    detail: 'y',
  });
  const web = await startRegisterWeb(t, store, { wallStartMs: NOW });
  web.timers.fire(0);
  const wait = async (): Promise<void> => {
    for (let i = 0; i < 1000 && (await store.purges()).length === 0; i++)
      await new Promise(setImmediate);
  };
  await wait();
  const [purge] = await store.purges();
  t.match(purge, { removed: 1, who: PURGE_ACTOR });
  t.same(
    (await store.accessLog({})).map((r) => r.who),
    ['new'],
  );
  t.ok(
    [...web.timers.pending.values()].some((p) => p.ms === 86_400_000),
    'the next purge is in a day',
  );
  t.end();
});

void t.test('logout needs the token and ends the session; nothing can be changed', async (t) => {
  const { store } = register();
  const web = await startRegisterWeb(t, store);
  const { browser } = await loggedIn(web.url);
  const page = await browser.request('GET', '/integrity');
  t.equal(
    (await browser.request('POST', '/transmissions', { csrf: Browser.csrfOf(page.body) })).status,
    404,
  );
  t.equal((await browser.request('DELETE', '/transmissions')).status, 405);
  const foreign = await browser.request(
    'POST',
    '/logout',
    { csrf: Browser.csrfOf(page.body) },
    { origin: 'https://evil.example' },
  );
  t.equal(foreign.status, 403, 'another origin');
  const out = await browser.request('POST', '/logout', { csrf: Browser.csrfOf(page.body) });
  t.equal(out.status, 303);
  t.equal((await browser.request('GET', '/transmissions')).status, 303, 'back to the login');
  t.end();
});

void t.test(
  'the web section: every problem as path: message, TLS paths from the file',
  async (t) => {
    t.throws(
      () =>
        resolveRegisterWebConfig(
          {
            tls: { certFile: 'web.crt' },
            users: [
              { login: 'Bad Login', name: 'x', scryptHash: 'nope' },
              { login: 'a', name: 'A', scryptHash: 'nope' },
            ],
            verifyEveryMs: 5,
          },
          '/etc/vigie/register.yaml',
        ),
      {
        code: 'config-invalid',
        message:
          /tls\.keyFile: .*\n.*users\.0\.login: lowercase letters.*\n.*users\.0\.scryptHash: must be `scrypt\$N/s,
      },
    );
    t.throws(() => resolveRegisterWebConfig(undefined, 'r.yaml'), {
      message: /has no web section/,
    });
    const hash = 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0$' + Buffer.alloc(32).toString('base64');
    const user = { login: 'dpo', name: 'DPO', scryptHash: hash };
    t.throws(
      () =>
        resolveRegisterWebConfig(
          { tls: { certFile: 'a', keyFile: 'b' }, users: [user, user] },
          '/etc/vigie/register.yaml',
        ),
      { message: /users\.1\.login: login "dpo" appears twice/ },
    );
    const ok = resolveRegisterWebConfig(
      { tls: { certFile: 'tls/web.crt', keyFile: '/abs/web.key' }, users: [user] },
      '/etc/vigie/register.yaml',
    );
    t.same(ok.tls, { certFile: '/etc/vigie/tls/web.crt', keyFile: '/abs/web.key' });
    t.match(ok, {
      listen: { host: '127.0.0.1', port: 8444 },
      verifyEveryMs: 3_600_000,
      defaultDays: 30,
    });
    t.end();
  },
);

void t.test('vigie register web serves a register from its config until SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const tls = await selfSignedCert(dir);
  const keyFile = path.join(dir, 'register-1.key');
  const key = generateKeyPairSync('ed25519').privateKey;
  await writeFile(keyFile, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const scryptHash = await hashPassword(AUDITOR.password, TEST_SCRYPT);
  const configFile = path.join(dir, 'register.yaml');
  await writeFile(
    configFile,
    [
      `dataDir: ${dir}`,
      'logLevel: error',
      'tls: { caFile: ca.pem, certFile: c.pem, keyFile: k.pem, crlFile: crl.pem }',
      `signing: { keyFile: ${keyFile}, kid: register-1 }`,
      'web:',
      '  listen: { host: 127.0.0.1, port: 0 }',
      `  tls: { certFile: ${tls.certFile}, keyFile: ${tls.keyFile} }`,
      `  users: [{ login: ${AUDITOR.login}, name: ${AUDITOR.name}, scryptHash: '${scryptHash}' }]`,
      '',
    ].join('\n'),
  );
  const signals = new EventEmitter();
  const printed: string[] = [];
  let url = '';
  const ready = new Promise<void>((resolve) => {
    void runRegisterWeb(configFile, {
      signals,
      out: { write: (text: string) => printed.push(text) },
      onReady: (_server, u) => {
        url = u;
        resolve();
      },
    }).then(() => printed.push('stopped'));
  });
  await ready;
  t.match(
    printed[0],
    /^vigie register web: https:\/\/127\.0\.0\.1:\d+\/ \(1 users, sqlite store\)/,
  );
  const { browser, reply } = await loggedIn(url);
  t.equal(reply.status, 303);
  const page = await browser.request('GET', '/transmissions');
  t.match(page.body, '<strong id="count">0</strong>');
  signals.emit('SIGTERM', 'SIGTERM');
  for (let i = 0; i < 1000 && !printed.includes('stopped'); i++) await new Promise(setImmediate);
  t.ok(printed.includes('stopped'), 'stopped on SIGTERM');
  t.end();
});
