/**
 * The register's web page in a real browser (Debian's Chromium, headless,
 * through playwright-core): an auditor logs in, filters the transmissions,
 * opens a session's timeline and re-runs the verification; the page works
 * with its strict CSP (no console error), and every view is in the access log.
 */
import t from 'tap';
import { chromium } from 'playwright-core';
import { FakeBox, MemoryRegisterStore } from '../central/register-read-fixture.js';
import { AUDITOR, startRegisterWeb } from '../central/register-web-fixture.js';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--ignore-certificate-errors', // the test's throwaway self-signed certificate
];

interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<unknown>;
}
declare const document: PageDocument;

void t.test('an auditor reads the register in Chromium', async (t) => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const ids = [
    box.session({
      start: '2026-11-29T09:00:00.000Z',
      cameras: ['cam-01', 'cam-02'],
      trigger: { kind: 'urgence', officer: 'Cdt Lefèvre' },
      viewers: [{ id: 'agent-dupont', name: 'Brigadier Dupont', from: 5, to: 300 }],
    }),
    box.session({ start: '2026-11-29T10:00:00.000Z', cameras: ['cam-03'] }),
  ];
  const store = new MemoryRegisterStore({ wallNowMs: () => now });
  store.load(box);
  const web = await startRegisterWeb(t, store, { wallStartMs: now });

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));

  await page.goto(new URL('transmissions', web.url).href);
  t.match(page.url(), /\/login$/, 'sent to the login first');
  await page.fill('#login', AUDITOR.login);
  await page.fill('#password', AUDITOR.password);
  await Promise.all([page.waitForURL('**/transmissions'), page.click('button[type=submit]')]);
  t.equal(await page.textContent('#count'), '2');
  t.match(await page.textContent('table.register'), 'urgence (décidée par Cdt Lefèvre)');

  await page.fill('input[name=camera]', 'cam-03');
  await Promise.all([
    page.waitForURL('**/transmissions?*camera=cam-03*'),
    page.click('form.filters button'),
  ]);
  t.equal(await page.textContent('#count'), '1');
  await page.fill('input[name=camera]', '');
  await Promise.all([page.waitForURL('**/transmissions?*'), page.click('form.filters button')]);

  await Promise.all([
    page.waitForURL(`**/sessions/${ids[0] ?? ''}`),
    page.click(`a[href="/sessions/${ids[0] ?? ''}"]`),
  ]);
  const timeline = await page.evaluate(() => document.querySelectorAll('ol.timeline li').length);
  t.equal(timeline, box.entries.filter((e) => e.data.sessionId === ids[0]).length);
  t.match(await page.textContent('dl.facts'), 'Brigadier Dupont (agent-dupont)');

  await page.click('nav a[href="/integrity"]');
  await page.waitForURL('**/integrity');
  await Promise.all([page.waitForURL('**/integrity'), page.click('text=Vérifier maintenant')]);
  t.match(await page.textContent('#verdict'), /Registre intègre : 1 source\(s\)/);

  t.same(problems, [], 'no console error, no CSP violation');
  const log = await store.accessLog({});
  t.ok(log.length >= 5, `every view recorded (${log.length})`);
  t.ok(log.every((r) => r.who === `${AUDITOR.login} (${AUDITOR.name})`));
  t.ok(log.some((r) => r.action === 'verify'));
  t.end();
});
