/**
 * The agent's ONVIF adapter against the simulated building (a real HTTP/SOAP
 * peer on loopback, with WS-UsernameToken digest), and against a camera that
 * accepts the connection and never answers.
 */
import t from 'tap';
import net from 'node:net';
import path from 'node:path';
import { CredentialStore } from '../../agent/src/cameras/credential-store.js';
import { describeCamera } from '../../agent/src/cameras/onvif-adapter.js';
import { matchAnnex } from '../../agent/src/cameras/annex-matcher.js';
import { Redactor } from '../../lib/src/redact.js';
import { SimulatedBuilding } from '../../sim/src/building.js';

const DEVICE_PATH = '/onvif/device_service';

t.test(
  'describes each simulated camera: identity, profiles, H.264 stream or the reason',
  async (t) => {
    const credentialsFile = path.join(t.testdir(), 'cameras.json');
    const building = new SimulatedBuilding({
      cameras: 3,
      seed: 'adapter-test',
      rtspPort: 8554,
      h265Only: [3],
      credentialsFile,
      discovery: false,
    });
    t.teardown(() => building.stop('test-teardown'));
    await building.start();
    const store = await CredentialStore.load(credentialsFile, new Redactor());

    const found = [];
    for (const cam of building.cameras) {
      const creds = store.get(cam.identity.id);
      if (!creds) throw new Error(`no credentials for ${cam.identity.id}`);
      const d = await describeCamera(
        { hostname: '127.0.0.1', port: cam.httpPort, path: DEVICE_PATH },
        creds,
        5000,
      );
      t.match(d.identity, {
        manufacturer: cam.identity.manufacturer,
        model: cam.identity.model,
        serial: cam.identity.serialNumber,
        hardwareId: cam.identity.hardwareId,
      });
      if (cam.identity.number === 3) {
        t.equal(d.live, null, 'the H.265-only camera has no live-view stream');
        t.match(d.liveReason, /no H\.264 profile \(offers H265\)/);
      } else {
        t.equal(d.live?.profile.encoding, 'H264');
        t.equal(d.live?.streamUri, `rtsp://127.0.0.1:8554/${cam.identity.id}`);
        t.ok((d.live?.profile.width ?? 0) >= 640, 'the largest H.264 profile is chosen');
      }
      found.push({
        identity: { ...d.identity, endpointUrn: cam.identity.endpointReference },
        xaddr: cam.xaddr,
        encodings: [...new Set(d.profiles.map((p) => p.encoding))],
      });
    }
    // The annex names cameras 1 and 3 by identity; camera 2 is outside it.
    const annex = [1, 3].map((n) => {
      const cam = building.cameras[n - 1];
      if (!cam) throw new Error('missing camera');
      return {
        id: `annex-${n}`,
        onvif: {
          manufacturer: cam.identity.manufacturer,
          model: cam.identity.model,
          serial: cam.identity.serialNumber,
        },
        label: `caméra ${n}`,
        location: 'hall',
        owner: 'emh' as const,
        transmissible: true,
      };
    });
    t.same(
      matchAnnex(annex, found).map((i) => [i.cameraId, i.status]),
      [
        ['annex-1', 'annexed-present'],
        ['annex-3', 'h265-only'],
        [null, 'not-annexed'],
      ],
    );
  },
);

t.test('a wrong password is a clear refusal that does not quote the password', async (t) => {
  const building = new SimulatedBuilding({ cameras: 1, seed: 'adapter-auth', discovery: false });
  t.teardown(() => building.stop('test-teardown'));
  await building.start();
  const cam = building.cameras[0];
  if (!cam) throw new Error('missing camera');
  const err = await describeCamera(
    { hostname: '127.0.0.1', port: cam.httpPort, path: DEVICE_PATH },
    { username: cam.credentials.username, password: 'Wrong-pass-123' },
    5000,
  ).catch((e: unknown) => e);
  t.match(err, { code: 'camera-unusable' });
  t.notMatch((err as Error).message, /Wrong-pass-123/);
});

t.test('a camera that hangs mid-request is given up on within its timeout', async (t) => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => sockets.add(s)); // accepts, never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const started = performance.now();
  await t.rejects(
    describeCamera(
      { hostname: '127.0.0.1', port, path: DEVICE_PATH },
      { username: 'u', password: 'pass' },
      300,
    ),
    { code: 'camera-timeout' },
  );
  t.ok(performance.now() - started < 3000, 'bounded by the timeout, not the library default');
});
