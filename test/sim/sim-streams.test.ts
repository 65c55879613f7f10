/**
 * `vigie sim` as a whole: the stream URI a camera gives through ONVIF plays in
 * ffprobe with that camera's credentials (H.264, or HEVC for the H.265-only
 * camera). Skips only where the GStreamer packages are missing.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CredentialStore } from '../../agent/src/cameras/credential-store.js';
import { describeCamera } from '../../agent/src/cameras/onvif-adapter.js';
import { Redactor } from '../../lib/src/redact.js';
import type { SimulatedBuilding } from '../../sim/src/building.js';
import { runSim } from '../../sim/src/main-sim.js';

const run = promisify(execFile);

async function codecOf(url: string): Promise<string> {
  const { stdout } = await run(
    'ffprobe',
    ['-rtsp_transport', 'tcp', '-v', 'error', '-show_streams', '-of', 'json', url],
    { timeout: 15_000 },
  );
  const streams = (JSON.parse(stdout) as { streams: { codec_name: string }[] }).streams;
  return streams.map((s) => s.codec_name).join(',');
}

t.test('the stream URI given through ONVIF plays with the camera credentials', async (t) => {
  const gst = await run('/usr/bin/python3', [
    '-c',
    'import gi; gi.require_version("GstRtspServer", "1.0")',
  ]).then(
    () => null,
    (err: Error) => err.message,
  );
  if (gst !== null) {
    void t.skip(`GStreamer RTSP server unavailable: ${gst}`, (st) => st.end());
    return;
  }
  const credentialsFile = path.join(t.testdir(), 'cameras.json');
  const signals = new EventEmitter();
  let ready: (b: SimulatedBuilding) => void = () => undefined;
  const started = new Promise<SimulatedBuilding>((resolve) => (ready = resolve));
  const done = runSim(
    {
      cameras: 2,
      seed: 'streams',
      rtspPort: 0, // an ephemeral port, named by GetStreamUri once bound
      h265Only: [2],
      credentialsFile,
      discovery: false,
    },
    { signals, out: { write: () => true }, logSink: { write: () => undefined }, onReady: ready },
  );
  t.teardown(async () => {
    signals.emit('SIGTERM', 'SIGTERM');
    await done;
  });
  const building = await Promise.race([
    started,
    done.then(() => Promise.reject(new Error('sim stopped'))),
  ]);
  const store = await CredentialStore.load(credentialsFile, new Redactor());
  const h264 = building.cameras[0];
  if (!h264) throw new Error('missing camera');
  const creds = store.get(h264.identity.id);
  if (!creds) throw new Error('missing credentials');
  const described = await describeCamera(
    { hostname: '127.0.0.1', port: h264.httpPort, path: '/onvif/device_service' },
    creds,
    5000,
  );
  const uri = described.live?.streamUri ?? '';
  const withCreds = uri.replace(
    'rtsp://',
    `rtsp://${creds.username}:${encodeURIComponent(creds.password)}@`,
  );
  t.equal(await codecOf(withCreds), 'h264', 'cam-01 plays H.264');
  await t.rejects(codecOf(uri), 'without credentials the stream is refused');

  const hevc = building.cameras[1];
  const hevcCreds = hevc ? store.get(hevc.identity.id) : undefined;
  if (!hevc || !hevcCreds) throw new Error('missing camera 2');
  const url2 = `rtsp://${hevcCreds.username}:${encodeURIComponent(hevcCreds.password)}@127.0.0.1:${new URL(uri).port}/${hevc.identity.id}`;
  t.equal(await codecOf(url2), 'hevc', 'the H.265-only camera streams HEVC');
  await fs.stat(credentialsFile);
});
