/**
 * Who a simulated camera is. Identity (endpoint URN, serial, hardware id) is
 * derived from the building seed and the camera number, so the same seed gives
 * the same cameras on every run (the annex matches cameras by ONVIF identity,
 * not by address). Credentials are random per run and per camera.
 */
import { createHash, randomBytes } from 'node:crypto';

export type SimCodec = 'h264' | 'h265-only';

export interface SimCameraIdentity {
  /** 1-based camera number inside the building. */
  number: number;
  /** Also the RTSP path: rtsp://host:port/<id>. */
  id: string;
  name: string;
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
  /** WS-Addressing endpoint reference, "urn:uuid:…", stable per seed and number. */
  endpointReference: string;
  codec: SimCodec;
}

export interface SimCameraCredentials {
  username: string;
  password: string;
}

export const SIM_MANUFACTURER = 'Vigie Sim';

export function cameraIdentity(seed: string, number: number, codec: SimCodec): SimCameraIdentity {
  const hash = createHash('sha256').update(`vigie-sim\0${seed}\0${number}`).digest();
  const hex = hash.toString('hex');
  const id = `cam-${String(number).padStart(2, '0')}`;
  return {
    number,
    id,
    name: `Simulated camera ${number}`,
    manufacturer: SIM_MANUFACTURER,
    model: codec === 'h265-only' ? 'VS-5100 H.265 bullet' : 'VS-2100 dome',
    firmwareVersion: '1.0.0-sim',
    serialNumber: `VS${hex.slice(0, 10).toUpperCase()}`,
    hardwareId: `VSHW-${hex.slice(10, 16).toUpperCase()}`,
    endpointReference: `urn:uuid:${uuidFromHash(hash)}`,
    codec,
  };
}

/** RFC 4122 layout with version 5 and the variant bits, from a hash (name-based). */
function uuidFromHash(hash: Buffer): string {
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Distinct random credentials for one camera; 24 url-safe characters of password. */
export function generateCredentials(identity: SimCameraIdentity): SimCameraCredentials {
  return {
    username: `viewer-${identity.id}`,
    password: randomBytes(18).toString('base64url'),
  };
}
