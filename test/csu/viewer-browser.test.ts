/**
 * The viewer in headless Debian Chromium: real H.264 fMP4 from ffmpeg through
 * the WebSocket into Media Source Extensions, the watermark and countdown in
 * the page, the end of a session, and "Intervention terminée".
 */
import t, { type Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSWORD, startViewer, type ViewerFixture } from './viewer-helpers/viewer-fixture.js';
import { sessionInfo } from './viewer-helpers/fake-live-sessions.js';
import { testMedia } from './viewer-helpers/fmp4.js';

const WAIT_MS = 15_000;

async function launch(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--ignore-certificate-errors',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

async function logIn(page: Page, fixture: ViewerFixture): Promise<void> {
  await page.goto(`${fixture.url}login`);
  await page.fill('#viewer', 'agent-dupont');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL('**/sessions'), page.click('button[type=submit]')]);
}

/**
 * What the page functions below touch. The project is type-checked without
 * the DOM library (Node only), so these declarations are module-local; the
 * functions run in Chromium, passed as functions rather than strings because
 * the viewer's CSP forbids eval, as it should.
 */
interface PageElement {
  readonly videoWidth: number;
  readonly currentTime: number;
  readonly paused: boolean;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: { querySelector(selector: string): PageElement | null };
declare const MediaSource: { isTypeSupported(type: string): boolean };

/** Waits until the page's video has decoded frames and its clock moves. */
async function waitForPlayback(page: Page): Promise<{ width: number; from: number; to: number }> {
  const options = { timeout: WAIT_MS };
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video');
      return v !== null && v.videoWidth > 0 && v.currentTime > 0;
    },
    undefined,
    options,
  );
  const from = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
  await page.waitForFunction(
    (t0) => (document.querySelector('video')?.currentTime ?? 0) > t0 + 0.3,
    from,
    options,
  );
  const to = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
  const width = await page.evaluate(() => document.querySelector('video')?.videoWidth ?? 0);
  return { width, from, to };
}

t.test('plays a live camera with watermark and countdown, then stops when it ends', async (t) => {
  const media = await testMedia();
  const fixture = await startViewer(t, { media });
  fixture.live.open(sessionInfo());
  fixture.live.feed('sess-0001');
  const browser = await launch(t);
  const page = await browser.newPage();
  const supported = await page.evaluate((mime) => MediaSource.isTypeSupported(mime), media.mime);
  t.ok(supported, `this Chromium plays ${media.mime} in MSE (Debian's does)`);
  if (!supported) throw new Error(`Chromium cannot play ${media.mime} in Media Source`);
  await logIn(page, fixture);
  t.match(await page.textContent('table.sessions'), 'Résidence Belleville');
  await Promise.all([
    page.waitForURL('**/sessions/sess-0001'),
    page.click('text=Résidence Belleville'),
  ]);

  const { width, from, to } = await waitForPlayback(page);
  t.equal(width, 640, 'frames decoded at the source size');
  t.ok(to > from, `currentTime advances (${from} → ${to})`);
  t.match(await page.getAttribute('video', 'controlslist'), 'nodownload');
  await page.waitForFunction(
    () => /\d\d:\d\d:\d\d/.test(document.querySelector('.watermark')?.textContent ?? ''),
    undefined,
    { timeout: WAIT_MS },
  );
  t.match(await page.textContent('.watermark'), /^Brigadier Dupont · .*\d\d:\d\d:\d\d/);
  t.match(await page.textContent('#countdown'), /^1[45] min \d\d s$/);
  t.match(await page.textContent('#purpose'), 'Flagrant délit en cours');
  t.match(await page.textContent('#operator'), 'Claire Martin');
  t.equal(fixture.live.joins.length, 1, 'the join reached LiveSessions');

  fixture.live.close('sess-0001', 'ttl-expired');
  await page.waitForSelector('#ended:not([hidden])', { timeout: WAIT_MS });
  t.equal(await page.textContent('#ended'), 'Transmission terminée : durée autorisée écoulée');
  t.ok(
    await page.evaluate(() => {
      const v = document.querySelector('video');
      return v !== null && v.paused && v.getAttribute('src') === null;
    }),
    'player stopped',
  );

  const reload = await page.reload();
  t.equal(reload?.status(), 404);
  t.match(await page.textContent('h1'), 'Aucune transmission en cours');
  t.notMatch(await page.content(), 'Belleville');
  t.equal(await page.$('video'), null);
});

t.test('"Intervention terminée" reaches LiveSessions with the viewer', async (t) => {
  const media = await testMedia();
  const fixture = await startViewer(t, { media });
  fixture.live.open(sessionInfo());
  fixture.live.feed('sess-0001');
  const browser = await launch(t);
  const page = await browser.newPage();
  await logIn(page, fixture);
  await page.goto(`${fixture.url}sessions/sess-0001`);
  await waitForPlayback(page);
  const called = new Promise<void>((resolve) => {
    fixture.live.onIntervention = resolve;
  });
  await page.fill('#note', 'individu interpellé');
  await page.click('#intervention-over');
  await called;
  t.same(fixture.live.interventions, [
    {
      sessionId: 'sess-0001',
      viewer: { id: 'agent-dupont', name: 'Brigadier Dupont' },
      note: 'individu interpellé',
    },
  ]);
  // The box then closes at once: the answer tells the viewer so.
  await page.waitForSelector('#intervention-reported', { timeout: WAIT_MS });
  t.match(await page.textContent('main'), /la transmission est fermée/);
  fixture.live.close('sess-0001', 'intervention-ended');
});
