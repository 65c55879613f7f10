/**
 * Four simulated cameras read by the two ONVIF clients nobody on the team
 * wrote: identity, profiles and stream URIs per camera, the H.265-only camera,
 * and a wrong password refused by both.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Logger } from '../../lib/src/log.js';
import { SimulatedBuilding, type SimCamera } from '../../sim/src/building.js';
import { describeWithNodeOnvif, describeWithOnvif, type Login } from './onvif-clients.js';

const RTSP_PORT = 18554;

const logLines: string[] = [];
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vigie-sim-'));
const credentialsFile = path.join(dir, 'cameras.json');
const building = new SimulatedBuilding({
  cameras: 4,
  seed: 'onvif-clients-test',
  rtspPort: RTSP_PORT,
  h265Only: [4],
  credentialsFile,
  discovery: false,
  log: new Logger('sim', { level: 'debug', sink: { write: (l) => logLines.push(l) } }),
});
t.teardown(async () => {
  await building.stop('test-teardown');
  await fs.rm(dir, { recursive: true, force: true });
});
await building.start();

const login = (c: SimCamera, password = c.credentials.password): Login => ({
  xaddr: c.xaddr,
  username: c.credentials.username,
  password,
});

t.test('each camera has its own device service XAddr, identity and credentials', async (t) => {
  const cams = building.cameras;
  t.equal(cams.length, 4);
  for (const key of ['xaddr', 'username', 'password', 'serial', 'urn', 'hardwareId'] as const) {
    const values = cams.map((c) =>
      key === 'xaddr'
        ? c.xaddr
        : key === 'username'
          ? c.credentials.username
          : key === 'password'
            ? c.credentials.password
            : key === 'serial'
              ? c.identity.serialNumber
              : key === 'urn'
                ? c.identity.endpointReference
                : c.identity.hardwareId,
    );
    t.equal(new Set(values).size, 4, `${key} differs between cameras`);
  }
  for (const c of cams) t.match(c.identity.endpointReference, /^urn:uuid:[0-9a-f-]{36}$/);
  const again = new SimulatedBuilding({ cameras: 4, seed: 'onvif-clients-test', discovery: false });
  t.teardown(() => again.stop());
  await again.start();
  t.same(
    again.cameras.map((c) => c.identity.endpointReference),
    cams.map((c) => c.identity.endpointReference),
    'the endpoint URN is stable for a seed and camera number',
  );
});

t.test(
  'the credentials file is 0600, lists every camera, and no password reaches the log',
  async (t) => {
    const stat = await fs.stat(credentialsFile);
    t.equal(stat.mode & 0o777, 0o600);
    const file = JSON.parse(await fs.readFile(credentialsFile, 'utf8')) as {
      cameras: { id: string; xaddr: string; username: string; password: string }[];
    };
    t.same(
      file.cameras.map((c) => [c.id, c.xaddr, c.username, c.password]),
      building.cameras.map((c) => [
        c.identity.id,
        c.xaddr,
        c.credentials.username,
        c.credentials.password,
      ]),
    );
    t.ok(logLines.length > 0, 'the building logged something');
    const all = logLines.join('');
    for (const c of building.cameras)
      t.notOk(all.includes(c.credentials.password), `${c.identity.id} password not logged`);
  },
);

t.test(
  'the onvif package connects to each camera and reads identity, profiles and stream URIs',
  async (t) => {
    for (const c of building.cameras) {
      const view = await describeWithOnvif(login(c));
      t.equal(view.manufacturer, 'Vigie Sim');
      t.equal(view.serialNumber, c.identity.serialNumber);
      t.equal(view.hardwareId, c.identity.hardwareId);
      t.equal(view.model, c.identity.model);
      const expected =
        c.identity.codec === 'h265-only'
          ? [{ token: 'main', encoding: 'H265' }]
          : [
              { token: 'main', encoding: 'H264' },
              { token: 'sub', encoding: 'H264' },
            ];
      t.same(view.profiles, expected, `${c.identity.id} profiles`);
      for (const p of expected)
        t.equal(view.streamUris[p.token], `rtsp://127.0.0.1:${RTSP_PORT}/${c.identity.id}`);
    }
  },
);

t.test('node-onvif initialises each camera and gets its profiles and UDP stream URL', async (t) => {
  for (const c of building.cameras) {
    const view = await describeWithNodeOnvif(login(c));
    t.equal(view.manufacturer, 'Vigie Sim');
    t.equal(view.serialNumber, c.identity.serialNumber);
    t.equal(view.hardwareId, c.identity.hardwareId);
    t.equal(view.udpStreamUrl, `rtsp://127.0.0.1:${RTSP_PORT}/${c.identity.id}`);
    t.same(
      view.profiles.map((p) => p.token),
      c.identity.codec === 'h265-only' ? ['main'] : ['main', 'sub'],
    );
  }
});

t.test('the H.265-only camera reports H265 and nothing else, to both clients', async (t) => {
  const h265 = building.cameras.filter((c) => c.identity.codec === 'h265-only');
  t.same(
    h265.map((c) => c.identity.number),
    [4],
  );
  for (const c of h265) {
    const a = await describeWithOnvif(login(c));
    const b = await describeWithNodeOnvif(login(c));
    t.same(new Set(a.profiles.map((p) => p.encoding)), new Set(['H265']));
    t.same(new Set(b.profiles.map((p) => p.encoding)), new Set(['H265']));
  }
  for (const c of building.cameras.filter((c) => c.identity.codec === 'h264')) {
    const a = await describeWithOnvif(login(c));
    t.notOk(
      a.profiles.some((p) => p.encoding === 'H265'),
      `${c.identity.id} offers H.264 only`,
    );
  }
});

t.test('a wrong password is refused by both clients', async (t) => {
  const c = building.cameras[0];
  if (!c) throw new Error('no camera');
  const before = building.counter.get('auth-bad-digest');
  await t.rejects(describeWithOnvif(login(c, 'not-the-password')), /not authorized/i);
  await t.rejects(describeWithNodeOnvif(login(c, 'not-the-password')), /400|not authorized/i);
  t.ok(building.counter.get('auth-bad-digest') > before, 'refusals are counted as auth-bad-digest');
  const other = building.cameras[1];
  if (!other) throw new Error('no second camera');
  await t.rejects(
    describeWithOnvif({ ...login(c), password: other.credentials.password }),
    /not authorized/i,
    "another camera's password does not open this one",
  );
});
