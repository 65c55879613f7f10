/**
 * The one typed adapter over the `onvif` package (STYLE: no `any` outside one
 * adapter per untyped library; scrypted's ONVIF plugin paid for typing it as
 * `any` everywhere). Everything the package returns is checked here and turned
 * into our types; nothing above this file sees its shapes.
 *
 * Every request has a timeout, and the whole description has one too: a camera
 * that hangs mid-request must not stall the discovery of the others.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- the adapter is where the untyped library's values are checked */
import type { Cam, CamProfile } from 'onvif';
import { VigieError } from '../../../lib/src/errors.js';
import type { OnvifIdentity } from './annex-matcher.js';
import type { CameraCredentials } from './credential-store.js';

export interface OnvifTarget {
  readonly hostname: string;
  readonly port: number;
  readonly path: string; // device service path, e.g. /onvif/device_service
}

export interface VideoProfile {
  readonly token: string;
  readonly name: string;
  readonly encoding: string; // 'H264', 'H265', 'JPEG'...
  readonly width: number;
  readonly height: number;
}

export interface CameraDescription {
  readonly identity: OnvifIdentity;
  readonly profiles: readonly VideoProfile[];
  /** The profile chosen for live view (H.264, largest picture), or null with the reason. */
  readonly live: { readonly profile: VideoProfile; readonly streamUri: string } | null;
  readonly liveReason: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function toProfile(p: CamProfile): VideoProfile | null {
  const enc = p.videoEncoderConfiguration;
  if (!enc || typeof enc !== 'object') return null;
  return {
    token: str(p.$?.token ?? p.token),
    name: str(p.name),
    encoding: str(enc.encoding).toUpperCase(),
    width: num(enc.resolution?.width),
    height: num(enc.resolution?.height),
  };
}

function call<T>(fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value as T)));
  });
}

async function describe(cam: Cam): Promise<CameraDescription> {
  await call<unknown>((cb) => cam.connect(cb));
  const info = await call<Record<string, unknown>>((cb) => cam.getDeviceInformation(cb));
  const identity: OnvifIdentity = {
    manufacturer: str(info.manufacturer),
    model: str(info.model),
    serial: str(info.serialNumber),
    ...(str(info.hardwareId) ? { hardwareId: str(info.hardwareId) } : {}),
  };
  const profiles = (cam.profiles ?? []).map(toProfile).filter((p): p is VideoProfile => !!p);
  const h264 = profiles
    .filter((p) => p.encoding === 'H264')
    .sort((a, b) => b.width * b.height - a.width * a.height);
  const chosen = h264[0];
  if (!chosen) {
    const offered = [...new Set(profiles.map((p) => p.encoding))].join(', ') || 'no video';
    return {
      identity,
      profiles,
      live: null,
      liveReason: `no H.264 profile (offers ${offered}): browsers cannot decode it`,
    };
  }
  const stream = await call<{ uri?: unknown }>((cb) =>
    cam.getStreamUri({ protocol: 'RTSP', profileToken: chosen.token }, cb),
  );
  return {
    identity,
    profiles,
    live: { profile: chosen, streamUri: str(stream.uri) },
    liveReason: `H.264 ${chosen.width}x${chosen.height} (${chosen.name || chosen.token})`,
  };
}

/** Connects with the camera's own credentials and describes it, within `timeoutMs` overall. */
export async function describeCamera(
  target: OnvifTarget,
  credentials: CameraCredentials,
  timeoutMs: number,
): Promise<CameraDescription> {
  // Loaded at the first description, not when the agent starts (its SOAP and
  // XML stack weigh about 10 MB of the box's memory).
  const { Cam: CamClass } = await import('onvif');
  const cam: Cam = new CamClass({
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    username: credentials.username,
    password: credentials.password,
    timeout: timeoutMs, // per request
    autoconnect: false,
    preserveAddress: true, // talk to the address we discovered, not one the camera claims
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new VigieError(
            'camera-timeout',
            `camera ${target.hostname}:${target.port} did not answer within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([describe(cam), deadline]);
  } catch (err) {
    if (err instanceof VigieError) throw err;
    // The library's messages may quote the SOAP exchange; keep only its first line.
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw new VigieError(
      'camera-unusable',
      `camera ${target.hostname}:${target.port}: ${reason.slice(0, 200)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}
