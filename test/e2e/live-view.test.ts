/**
 * Live view end to end, in headless Debian Chromium: a simulated building's
 * H.264 cameras (GStreamer RTSP), the box remuxing them with ffmpeg through
 * its mTLS tunnel to the relay, the viewer on that relay. A named viewer logs
 * in, the console opens a session, the page decodes the cameras' frames under
 * a watermark with the viewer's name; the session ends at its TTL (the player
 * says so, the box journals `ttl-expired`) or when the viewer clicks
 * « Intervention terminée » (the box journals `intervention-ended`, after the
 * viewer's join).
 */
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { MIN_SESSION_TTL_SEC } from '../../protocol/src/commands.js';
import { evtTopic } from '../../protocol/src/topics.js';
import type { AgentEvent } from '../../protocol/src/events.js';
import { BORNY, eventWhere, readJournal } from './harness.js';
import {
  VIEWER,
  launchChromium,
  logIn,
  openLive,
  startLiveView,
  type LiveView,
  type PageDocument,
} from './live-view-fixture.js';

declare const document: PageDocument;

const WAIT_MS = 20_000;
const CAMERAS = 2;

/** The box's `session.closed` event for this session (the op client is subscribed to evt). */
function closedEvent(live: LiveView, sessionId: string, timeoutMs: number): Promise<AgentEvent> {
  return eventWhere(
    live.op,
    (e) => e.type === 'session.closed' && e.sessionId === sessionId,
    timeoutMs,
  );
}

/** Every camera's video has decoded frames and its clock moves; returns the widths. */
async function waitForPlayback(t: Test, page: Page, cameras: number): Promise<void> {
  const options = { timeout: WAIT_MS };
  await page.waitForFunction(
    (n) => {
      const videos = Array.from(document.querySelectorAll('video'));
      return videos.length === n && videos.every((v) => v.videoWidth > 0 && v.currentTime > 0);
    },
    cameras,
    options,
  );
  const times = () =>
    page.evaluate(() => Array.from(document.querySelectorAll('video')).map((v) => v.currentTime));
  const from = await times();
  await page.waitForFunction(
    (t0) =>
      Array.from(document.querySelectorAll('video')).every(
        (v, i) => v.currentTime > (t0[i] ?? Infinity) + 0.3,
      ),
    from,
    options,
  );
  const widths = await page.evaluate(() =>
    Array.from(document.querySelectorAll('video')).map((v) => v.videoWidth),
  );
  t.same(widths, Array(cameras).fill(640), 'every camera decodes frames at the source size');
  t.pass(`currentTime advances on every camera (from ${from.map((x) => x.toFixed(2)).join(', ')})`);
}

/** Logs in, checks the session is listed, opens its page and waits for the picture. */
async function watch(t: Test, live: LiveView, page: Page, sessionId: string): Promise<void> {
  await logIn(page, live.viewerUrl);
  await page.waitForSelector(`a[href="/sessions/${sessionId}"]`, { timeout: WAIT_MS });
  t.pass('the session is listed in the viewer');
  await Promise.all([
    page.waitForURL(`**/sessions/${sessionId}`),
    page.click(`a[href="/sessions/${sessionId}"]`),
  ]);
  await waitForPlayback(t, page, live.cameraIds.length);
  await page.waitForFunction(
    () => /\d\d:\d\d:\d\d/.test(document.querySelector('.watermark')?.textContent ?? ''),
    undefined,
    { timeout: WAIT_MS },
  );
  const marks = await page.locator('.watermark').allTextContents();
  t.equal(marks.length, live.cameraIds.length, 'one watermark per camera');
  for (const mark of marks)
    t.match(
      mark,
      new RegExp(`^${VIEWER.name} · .*\\d\\d:\\d\\d:\\d\\d`),
      'watermark names the viewer',
    );
}

function journalOf(live: LiveView, sessionId: string) {
  return readJournal(live.journalFile).filter(
    (e) => (e.data as { sessionId?: string }).sessionId === sessionId,
  );
}

t.test(
  'a session at the minimum TTL plays in Chromium and ends at its deadline (cold remux)',
  async (t) => {
    const live = await startLiveView(t, { cameras: CAMERAS, warmCache: false });
    await live.op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const browser = await launchChromium(t);
    const page = await browser.newPage();

    const sessionId = await openLive(live, MIN_SESSION_TTL_SEC);
    const closed = closedEvent(live, sessionId, (MIN_SESSION_TTL_SEC + 20) * 1000);
    await watch(t, live, page, sessionId);

    await page.waitForSelector('#ended:not([hidden])', {
      timeout: (MIN_SESSION_TTL_SEC + 15) * 1000,
    });
    t.equal(
      await page.textContent('#ended'),
      'Transmission terminée : durée autorisée écoulée',
      'the player says the authorised duration elapsed',
    );
    t.ok(
      await page.evaluate(() =>
        Array.from(document.querySelectorAll('video')).every(
          (v) => v.paused && v.getAttribute('src') === null,
        ),
      ),
      'every player stopped',
    );
    t.match(await closed, { reason: 'ttl-expired' }, 'the box reports the session closed at TTL');
    const entries = journalOf(live, sessionId);
    t.match(
      entries.filter((e) => e.type === 'session.closed').map((e) => e.data),
      [{ sessionId, reason: 'ttl-expired' }],
      "the box's journal shows session.closed with ttl-expired",
    );
    t.ok(
      entries.some((e) => e.type === 'session.viewer-joined'),
      "the viewer's join is in the box's journal",
    );

    const reload = await page.reload();
    t.equal(reload?.status(), 404, 'reloading shows nothing of the ended session');
  },
);

t.test(
  '"Intervention terminée" in Chromium closes the session on the box (warm cache)',
  async (t) => {
    const live = await startLiveView(t, { cameras: CAMERAS, warmCache: true });
    await live.op.subscribeAsync(evtTopic(BORNY.siteId), { qos: 1 });
    const browser = await launchChromium(t);
    const page = await browser.newPage();

    const sessionId = await openLive(live, 10 * 60);
    await watch(t, live, page, sessionId);

    const closed = closedEvent(live, sessionId, WAIT_MS);
    await page.fill('#note', 'individu interpellé');
    await page.click('#intervention-over');
    t.match(await closed, { reason: 'intervention-ended' }, 'the box closes the session');
    // The answer to the form is the confirmation: the session page is gone.
    await page.waitForSelector('#intervention-reported', { timeout: WAIT_MS });
    t.match(await page.textContent('main'), /la transmission est fermée/, 'the viewer is told');
    t.equal(await page.$$eval('video', (v) => v.length), 0, 'no player is left');
    const reload = await page.goto(`${live.viewerUrl}sessions/${sessionId}`);
    t.equal(reload?.status(), 404, 'the session page shows nothing any more');
    const entries = journalOf(live, sessionId);
    const joined = entries.filter((e) => e.type === 'session.viewer-joined');
    t.ok(joined.length >= 1, 'a viewer-joined entry is in the journal');
    t.match(joined[0]?.data, { viewerName: VIEWER.name }, 'naming the viewer');
    t.match(
      entries.filter((e) => e.type === 'session.closed').map((e) => e.data),
      [{ sessionId, reason: 'intervention-ended' }],
      "the box's journal shows session.closed with intervention-ended",
    );
  },
);
