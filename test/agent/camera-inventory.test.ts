/**
 * The camera inventory against a simulated building on loopback (unicast
 * discovery; multicast is tested in a namespace): 32 cameras discovered and
 * fully described, one unplugged mid-run reported missing once it is
 * forgotten, one plugged in reported not annexed, the H.265-only camera
 * marked, a camera that hangs does not stall the others, and no camera
 * password reaches a log line, a change or the inventory.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  CameraInventory,
  inventoryState,
  type Describe,
  type InventoryChange,
} from '../../agent/src/cameras/camera-inventory.js';
import type { InventoryItem } from '../../agent/src/cameras/annex-matcher.js';
import { CredentialStore } from '../../agent/src/cameras/credential-store.js';
import { describeCamera } from '../../agent/src/cameras/onvif-adapter.js';
import type { CamerasConfig } from '../../agent/src/config/agent-config.js';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import { simAnnex } from '../../sim/src/annex.js';
import { SimulatedBuilding } from '../../sim/src/building.js';

function config(discoveryPort: number, credentialsFile: string): CamerasConfig {
  return {
    lanAddress: '127.0.0.1',
    lanCidrs: ['127.0.0.0/8'],
    multicast: false,
    probe: [`127.0.0.1:${discoveryPort}`],
    credentialsFile,
    probeIntervalSec: 60,
    answerWaitMs: 300,
    forgetAfterSec: 30,
    describeTimeoutMs: 3000,
    describeConcurrency: 8,
    redescribeEverySec: 900,
  };
}

interface Rig {
  building: SimulatedBuilding;
  inventory: CameraInventory;
  changes: InventoryChange[];
  logs: string[];
  clock: { ms: number };
  passwords: () => string[];
}

async function rig(
  t: Test,
  cameras: number,
  options: { h265Only?: number[]; annexCount?: number; timeoutMs?: number } = {},
  describe?: Describe,
): Promise<Rig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-inv-'));
  const credentialsFile = path.join(dir, 'cameras.json');
  const building = new SimulatedBuilding({
    cameras,
    h265Only: options.h265Only,
    credentialsFile,
    discovery: { port: 0 },
    log: new Logger('sim', { sink: { write: () => true }, level: 'error' }),
  });
  await building.start();
  t.teardown(() => building.stop());
  const annex = simAnnex('vigie', options.annexCount ?? cameras, options.h265Only ?? []);
  const logs: string[] = [];
  const redactor = new Redactor();
  const log = new Logger('agent', {
    sink: { write: (line: string) => logs.push(line) },
    level: 'debug',
    redactor,
  });
  const credentials = await CredentialStore.load(credentialsFile, redactor);
  const changes: InventoryChange[] = [];
  const clock = { ms: 1_000_000 };
  const c = config(building.discoveryPort ?? 0, credentialsFile);
  const inventory = new CameraInventory({
    config: { ...c, describeTimeoutMs: options.timeoutMs ?? c.describeTimeoutMs },
    credentials,
    annex: () => annex,
    log,
    periodic: false,
    monotonicMs: () => clock.ms,
    onChange: (_items, ch) => changes.push(...ch),
    redact: (text) => redactor.redact(text),
    describe,
  });
  await inventory.start();
  t.teardown(() => inventory.stop());
  return {
    building,
    inventory,
    changes,
    logs,
    clock,
    passwords: () => building.cameras.map((cam) => cam.credentials.password),
  };
}

const statusOf = (items: readonly InventoryItem[], id: string) =>
  items.find((i) => i.cameraId === id)?.status;

t.test(
  '32 cameras discovered and described; one unplugged is missing, one plugged in is not annexed',
  async (t) => {
    const r = await rig(t, 32, { h265Only: [7] });
    const first = await r.inventory.refresh();
    t.equal(first.length, 32, 'one item per annexed camera, no strangers');
    const present = first.filter((i) => i.status === 'annexed-present');
    t.equal(present.length, 31, '31 H.264 cameras present and transmissible');
    t.ok(present.every((i) => i.transmissible && i.live?.startsWith('H264 ')));
    t.match(
      first.find((i) => i.cameraId === 'cam-07'),
      {
        status: 'h265-only',
        transmissible: false,
        reason: /offers only H265: browsers decode H\.264/,
      },
    );
    t.same(
      r.changes.map((c) => [c.kind, c.key]),
      [['coverage-lost', 'cam-07']],
      'the first inventory reports the camera that cannot be shown',
    );
    const stream = r.inventory.liveStream('cam-01');
    t.match(stream, { cameraId: 'cam-01', streamUri: /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-01$/ });
    t.match(r.inventory.liveStream('cam-07'), { unavailable: /only H265/ });
    t.match(r.inventory.liveStream('cam-99'), { unavailable: /not in the annex/ });

    r.changes.length = 0;
    t.ok(await r.building.unplug(5), 'cam-05 unplugged (no Bye)');
    const soon = await r.inventory.refresh();
    t.equal(statusOf(soon, 'cam-05'), 'annexed-present', 'not forgotten before forgetAfterSec');
    r.clock.ms += 31_000; // forgetAfterSec (30 s) without an answer
    const later = await r.inventory.refresh();
    t.match(
      later.find((i) => i.cameraId === 'cam-05'),
      {
        status: 'annexed-missing',
        transmissible: false,
        xaddr: null,
        reason: /cam-05 .* does not answer: the parties must be told that coverage is lost/,
      },
    );
    t.same(
      r.changes.map((c) => [c.kind, c.key, c.from, c.to]),
      [['coverage-lost', 'cam-05', 'annexed-present', 'annexed-missing']],
    );
    t.match(r.inventory.liveStream('cam-05'), { unavailable: /does not answer/ });

    r.changes.length = 0;
    const added = await r.building.addCamera();
    const withNew = await r.inventory.refresh();
    t.equal(withNew.length, 33);
    t.match(withNew.at(-1), {
      status: 'not-annexed',
      cameraId: null,
      transmissible: false,
      identity: {
        endpointUrn: added.identity.endpointReference,
        serial: added.identity.serialNumber,
      },
      reason: /is not in the annex: never transmitted/,
    });
    t.same(
      r.changes.map((c) => [c.kind, c.to]),
      [['unknown-device', 'not-annexed']],
    );

    const state = inventoryState(withNew);
    t.equal(state.length, 33);
    t.match(state[0], {
      status: 'annexed-present',
      camera: 'cam-01',
      address: /^127\.0\.0\.1:\d+$/,
    });
    const everything = JSON.stringify({ withNew, state, changes: r.changes }) + r.logs.join('');
    for (const password of r.passwords()) {
      t.notOk(everything.includes(password), 'no camera password in the inventory or logs');
    }
  },
);

t.test('a camera that hangs mid-request does not stall the others', async (t) => {
  const hanging = http.createServer(() => undefined); // accepts, never answers
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    hanging.closeAllConnections();
    return new Promise<void>((resolve) => hanging.close(() => resolve()));
  });
  const hangPort = (hanging.address() as AddressInfo).port;
  const ref: { rig?: Rig } = {};
  const describe: Describe = (target, c, ms) => {
    const third = ref.rig?.building.cameras[2];
    const redirected =
      third && target.port === third.httpPort ? { ...target, port: hangPort } : target;
    return describeCamera(redirected, c, ms);
  };
  const r = (ref.rig = await rig(t, 8, { timeoutMs: 800 }, describe));
  const started = performance.now();
  const items = await r.inventory.refresh();
  const elapsed = performance.now() - started;
  t.equal(
    items.filter((i) => i.status === 'annexed-present').length,
    7,
    'the seven others present',
  );
  t.match(
    items.find((i) => i.cameraId === 'cam-03'),
    {
      status: 'annexed-unusable',
      transmissible: false,
      reason:
        /answers discovery but not ONVIF: camera 127\.0\.0\.1:\d+ did not answer within 800 ms/,
    },
  );
  t.ok(
    elapsed < 300 + 800 + 2000,
    `one cycle stays near answerWait + one timeout (${Math.round(elapsed)} ms)`,
  );
});

t.test(
  'a wrong password makes the camera unusable, and the password is never repeated',
  async (t) => {
    const ref: { rig?: Rig } = {};
    const describe: Describe = (target, c, ms) => {
      const second = ref.rig?.building.cameras[1];
      const wrong = second && target.port === second.httpPort;
      return describeCamera(target, wrong ? { ...c, password: c.password + 'x' } : c, ms);
    };
    const r = (ref.rig = await rig(t, 3, {}, describe));
    const items = await r.inventory.refresh();
    t.match(
      items.find((i) => i.cameraId === 'cam-02'),
      { status: 'annexed-unusable', transmissible: false },
    );
    t.equal(statusOf(items, 'cam-01'), 'annexed-present');
    const everything = JSON.stringify(items) + r.logs.join('');
    for (const password of r.passwords()) t.notOk(everything.includes(password));
  },
);

t.test('a device outside the annex is reported once as unknown, never transmissible', async (t) => {
  const r = await rig(t, 3, { annexCount: 2 });
  const items = await r.inventory.refresh();
  t.same(
    items.map((i) => i.status),
    ['annexed-present', 'annexed-present', 'not-annexed'],
  );
  t.equal(r.changes.filter((c) => c.kind === 'unknown-device').length, 1);
  t.notOk(items[2]?.transmissible);
  await r.inventory.refresh();
  t.equal(r.changes.filter((c) => c.kind === 'unknown-device').length, 1, 'not again');
});
