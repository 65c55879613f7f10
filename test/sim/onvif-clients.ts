/**
 * The two independent ONVIF clients the simulator is proven against, behind
 * one typed view each (the untyped parts stay in this file): the `onvif`
 * package's Cam and `node-onvif`'s OnvifDevice.
 */
import { createRequire } from 'node:module';
import { Cam } from 'onvif';

export interface ClientView {
  manufacturer: string;
  model: string;
  serialNumber: string;
  hardwareId: string;
  profiles: { token: string; encoding: string }[];
  /** Stream URI per profile token. */
  streamUris: Record<string, string>;
}

export interface Login {
  xaddr: string;
  username: string;
  password: string;
}

function str(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

function call<T>(fn: (cb: (err: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    fn((err, value) => (err ? reject(err) : resolve(value))),
  );
}

/** Connects with the `onvif` package (GetSystemDateAndTime, GetServices, GetProfiles, GetVideoSources…). */
export async function describeWithOnvif(login: Login): Promise<ClientView> {
  const url = new URL(login.xaddr);
  const cam = new Cam({
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    username: login.username,
    password: login.password,
    timeout: 5000,
    autoconnect: false,
  });
  await call<unknown>((cb) => cam.connect((err) => cb(err ?? null, undefined)));
  const info = await call<Record<string, unknown>>((cb) =>
    cam.getDeviceInformation((err, value) => cb(err ?? null, value as Record<string, unknown>)),
  );
  const profiles = (cam.profiles ?? []).map((p) => {
    const raw = p as { $?: { token?: string }; videoEncoderConfiguration?: { encoding?: unknown } };
    return { token: str(raw.$?.token), encoding: str(raw.videoEncoderConfiguration?.encoding) };
  });
  const streamUris: Record<string, string> = {};
  for (const p of profiles) {
    const uri = await call<{ uri: string } | undefined>((cb) =>
      cam.getStreamUri({ protocol: 'RTSP', profileToken: p.token }, (err, value) =>
        cb(err ?? null, value),
      ),
    );
    streamUris[p.token] = str(uri?.uri);
  }
  return {
    manufacturer: str(info.manufacturer),
    model: str(info.model),
    serialNumber: str(info.serialNumber),
    hardwareId: str(info.hardwareId),
    profiles,
    streamUris,
  };
}

interface NodeOnvifProfile {
  token: string;
  stream: { udp: string; http: string; rtsp: string };
  video: { encoder: { encoding: string } | null };
}

interface NodeOnvifDevice {
  init(): Promise<unknown>;
  getUdpStreamUrl(): string;
  getProfileList(): NodeOnvifProfile[];
  getInformation(): Record<string, unknown>;
}

interface NodeOnvifModule {
  OnvifDevice: new (params: { xaddr: string; user?: string; pass?: string }) => NodeOnvifDevice;
}

const nodeOnvif = createRequire(import.meta.url)('node-onvif') as NodeOnvifModule;

/** Initialises a node-onvif OnvifDevice: GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri, GetSnapshotUri. */
export async function describeWithNodeOnvif(
  login: Login,
): Promise<ClientView & { udpStreamUrl: string }> {
  const device = new nodeOnvif.OnvifDevice({
    xaddr: login.xaddr,
    user: login.username,
    pass: login.password,
  });
  await device.init();
  const info = device.getInformation();
  const list = device.getProfileList();
  return {
    manufacturer: str(info.Manufacturer),
    model: str(info.Model),
    serialNumber: str(info.SerialNumber),
    hardwareId: str(info.HardwareId),
    profiles: list.map((p) => ({ token: p.token, encoding: p.video.encoder?.encoding ?? '' })),
    streamUris: Object.fromEntries(list.map((p) => [p.token, p.stream.rtsp])),
    udpStreamUrl: device.getUdpStreamUrl(),
  };
}

interface OnvifUtils {
  parseSOAPString(
    xml: string,
    callback: (err: Error | null, data: unknown) => void,
    statusCode: number,
  ): void;
  linerase(data: unknown): unknown;
}

const onvifUtils = createRequire(import.meta.url)('onvif/lib/utils') as OnvifUtils;

/**
 * Reads a ProbeMatches datagram with the code the `onvif` package's Discovery
 * runs on every reply (lib/discovery.js: parseSOAPString, linerase, then
 * probeMatches.probeMatch.endpointReference.address and .XAddrs). Its probe
 * itself is multicast only, so it cannot be sent from the root namespace.
 */
export async function readProbeMatchWithOnvif(
  xml: string,
): Promise<{ urn: string; xaddrs: string }> {
  const data = await new Promise<unknown>((resolve, reject) =>
    onvifUtils.parseSOAPString(xml, (err, d) => (err ? reject(err) : resolve(d)), 200),
  );
  const m = onvifUtils.linerase(data) as {
    probeMatches?: { probeMatch?: { endpointReference?: { address?: unknown }; XAddrs?: unknown } };
  };
  const match = m.probeMatches?.probeMatch;
  return { urn: str(match?.endpointReference?.address), xaddrs: str(match?.XAddrs) };
}
