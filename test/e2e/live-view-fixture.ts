/**
 * The whole live view on loopback, for the end-to-end test and the bench: a
 * world whose annex lists the simulated building's H.264 cameras, their RTSP
 * streams (GStreamer), the central broker, the agent with its cameras and
 * media sections, the viewer on the world's relay, an operator's MQTT client
 * and a headless Debian Chromium logged in as a named viewer. Everything it
 * starts is stopped by `t.teardown` (processes by their own handles).
 */
import path from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { Logger } from '../../lib/src/log.js';
import { SimulatedBuilding, type SimulatedBuildingOptions } from '../../sim/src/building.js';
import { simAnnex } from '../../sim/src/annex.js';
import { RtspSimulator } from '../../sim/src/rtsp-server.js';
import { hashPassword } from '../../lib/src/web/password-hash.js';
import { parseViewerConfig } from '../../csu/src/viewer/viewer-config.js';
import { ViewerServer } from '../../csu/src/viewer/viewer-server.js';
import { openSession } from '../../central/src/console/op-actions.js';
import type { AgentApp } from '../../agent/src/app.js';
import { connect, connected } from '../central/helpers.js';
import {
  BORNY,
  makeWorld,
  onlineStateWhere,
  startAgent,
  startEmbeddedCentral,
  type World,
} from './harness.js';

export const VIEWER = { id: 'agent-dupont', name: 'Brigadier Dupont' };
export const PASSWORD = 'correct horse battery staple';
const TEST_SCRYPT = { N: 1024, r: 8, p: 1 }; // cheap for tests; production uses 2^15
const DAY_MS = 86_400_000;
const quiet = (name: string): Logger =>
  new Logger(name, { level: 'error', sink: { write: () => undefined } });

export interface LiveViewOptions {
  cameras: number; // H.264 cameras in the building, all annexed
  warmCache: boolean;
}

export interface LiveView {
  world: World;
  building: SimulatedBuilding;
  rtsp: RtspSimulator;
  agent: AgentApp;
  agentLog: string[];
  dataDir: string;
  journalFile: string;
  opFile: string;
  op: MqttClient;
  viewerUrl: string;
  cameraIds: string[];
}

/** The building and its RTSP streams; GetStreamUri answers with the simulator's ephemeral port. */
async function startCameras(
  t: Test,
  n: number,
  credentialsFile: string,
): Promise<{ building: SimulatedBuilding; rtsp: RtspSimulator }> {
  const options: SimulatedBuildingOptions = {
    cameras: n,
    credentialsFile,
    discovery: { port: 0 },
    log: quiet('sim'),
  };
  const building = new SimulatedBuilding(options);
  t.teardown(() => building.stop());
  await building.start();
  const rtsp = new RtspSimulator({
    cameras: building.cameras.map((c) => ({
      id: c.identity.id,
      name: c.identity.name,
      username: c.credentials.username,
      password: c.credentials.password,
      codec: 'h264' as const,
    })),
    logger: quiet('sim:rtsp'),
  });
  t.teardown(() => rtsp.stop('test-teardown'));
  await rtsp.start();
  // The passwords exist only once the building started, and the RTSP port only
  // once the simulator did (an ephemeral port, no race on a fixed one).
  building.useRtspPort(rtsp.port);
  return { building, rtsp };
}

async function startViewer(t: Test, world: World): Promise<string> {
  const certDir = await world.pki.issue({
    kind: 'service',
    name: 'viewer',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const now = Date.now();
  const config = parseViewerConfig({
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: path.join(certDir, 'chain.pem'), keyFile: path.join(certDir, 'key.pem') },
    viewers: [
      {
        ...VIEWER,
        approvalRef: 'PP-2026-0042',
        validFrom: new Date(now - DAY_MS).toISOString(),
        validUntil: new Date(now + DAY_MS).toISOString(),
        passwordHash: await hashPassword(PASSWORD, TEST_SCRYPT),
      },
    ],
  });
  const server = new ViewerServer({ config, live: world.relay, log: quiet('csu:viewer') });
  t.teardown(() => server.stop());
  const { url } = await server.start();
  return url;
}

/** Everything up, the agent online with every annexed camera present in its inventory. */
export async function startLiveView(t: Test, o: LiveViewOptions): Promise<LiveView> {
  const world = await makeWorld(t, 12, (p) => {
    const site = p.sites.find((s) => s.id === BORNY.siteId);
    if (!site) throw new Error('the test policy has no Borny site');
    site.cameras = simAnnex('vigie', o.cameras, []);
  });
  const credentialsFile = path.join(world.dir, 'cameras.json');
  const { building, rtsp } = await startCameras(t, o.cameras, credentialsFile);
  const port = await startEmbeddedCentral(t, world);
  const dataDir = path.join(world.dir, 'agent-data');
  const configFile = await world.agentConfigFile(port, dataDir, {
    policyFile: world.bundleFile,
    cameras: {
      lanAddress: '127.0.0.1',
      lanCidrs: ['127.0.0.0/8'],
      multicast: false,
      probe: [`127.0.0.1:${building.discoveryPort}`],
      credentialsFile,
      answerWaitMs: 300,
    },
    media: { warmCache: o.warmCache },
  });
  const viewerUrl = await startViewer(t, world);
  const { app: agent, log: agentLog } = await startAgent(t, configFile);
  const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:live-view');
  await connected(op);
  const cameraIds = building.cameras.map((c) => c.identity.id);
  await onlineStateWhere(
    op,
    (s) =>
      cameraIds.every((id) =>
        s.inventory.some((i) => i.camera === id && i.status === 'annexed-present'),
      ),
    20_000,
  );
  return {
    world,
    building,
    rtsp,
    agent,
    agentLog,
    dataDir,
    journalFile: path.join(dataDir, 'journal.db'),
    opFile: await world.opConfigFile(port),
    op,
    viewerUrl,
    cameraIds,
  };
}

/** `vigie op open` for the building's cameras; returns the session id. */
export async function openLive(live: LiveView, ttlSec: number, cameras = live.cameraIds) {
  const printed = await openSession(live.opFile, {
    siteId: BORNY.siteId,
    cameras,
    recipient: 'csu-metz',
    purpose: 'occupation-parties-communes',
    trigger: { kind: 'occupation' },
    callRef: 'CSU-2026-0142',
    requestedTtlSec: ttlSec,
  });
  const sessionId = /transmission ouverte : ([0-9a-f-]{36})/.exec(printed)?.[1];
  if (sessionId === undefined) throw new Error(`no session id in: ${printed}`);
  return sessionId;
}

export async function launchChromium(t: Test): Promise<Browser> {
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

export async function logIn(page: Page, viewerUrl: string): Promise<void> {
  await page.goto(new URL('login', viewerUrl).href);
  await page.fill('#viewer', VIEWER.id);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL('**/sessions'), page.click('button[type=submit]')]);
}

/**
 * What the page functions touch. The project is type-checked without the DOM
 * library (Node only), so these declarations are module-local; the functions
 * run in Chromium, passed as functions because the viewer's CSP forbids eval.
 */
export interface PageVideo {
  readonly videoWidth: number;
  readonly currentTime: number;
  readonly paused: boolean;
  getAttribute(name: string): string | null;
}
export interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<PageVideo>;
}

/** A minimal teardown collector for code outside tap (the bench): LIFO, each in its own try. */
export class Teardowns {
  readonly #fns: (() => unknown)[] = [];

  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }

  get asTest(): Test {
    return this as unknown as Test; // makeWorld and friends only call t.teardown
  }

  async run(): Promise<void> {
    for (const fn of this.#fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('teardown failed:', err);
      }
    }
  }
}
