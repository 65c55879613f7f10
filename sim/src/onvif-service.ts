/**
 * One simulated camera's ONVIF SOAP dispatch: which operations exist on the
 * device and media services, which need authentication, and what they answer.
 * Transport-free (bytes in, status and XML out) so it is testable without HTTP.
 */
import type { SimCameraCredentials, SimCameraIdentity } from './camera-identity.js';
import * as r from './onvif-responses.js';
import type { RejectCounter } from './reject-counter.js';
import {
  NOT_AUTHORIZED,
  NS,
  readSoap,
  rejectionReason,
  type SoapFault,
  soapFault,
  soapResponse,
} from './soap.js';
import type { DigestVerifier } from './ws-security.js';
import { childNamed, type XmlElement, type XmlLimits } from '../../lib/src/xml-reader.js';

export type OnvifServiceName = 'device' | 'media';

export interface OnvifReply {
  status: number;
  body: string;
}

export interface OnvifCameraContext {
  identity: SimCameraIdentity;
  credentials: SimCameraCredentials;
  urls: r.CameraUrls;
  rtspUri: (profile: r.SimProfile) => string;
  snapshotUri: (profile: r.SimProfile) => string;
  verifier: DigestVerifier;
  counter: RejectCounter;
  now: () => Date;
  xmlLimits?: Partial<XmlLimits>;
}

/** ONVIF Core 5.9.4.2: GetSystemDateAndTime is PRE_AUTH, so clients can learn the clock first. */
const PRE_AUTH = new Set(['GetSystemDateAndTime']);

export function handleOnvifRequest(
  ctx: OnvifCameraContext,
  service: OnvifServiceName,
  body: Uint8Array,
): OnvifReply {
  let msg;
  try {
    msg = readSoap(body, ctx.xmlLimits);
  } catch (err) {
    const reason = rejectionReason(err);
    if (reason === undefined) throw err;
    ctx.counter.count(reason);
    return fault({
      httpStatus: 400,
      code: 's:Sender',
      subcode: 'ter:WellFormed',
      reason: 'Malformed request',
    });
  }
  const op = msg.operation;
  const expectedNs = service === 'device' ? NS.tds : NS.trt;
  // hasOwn: an operation named "constructor" must not reach Object.prototype.
  const table = HANDLERS[service];
  const handler =
    op.ns === expectedNs && Object.hasOwn(table, op.name) ? table[op.name] : undefined;
  if (!handler) {
    ctx.counter.count('onvif-unsupported-action');
    return fault({
      httpStatus: 400,
      code: 's:Sender',
      subcode: 'ter:ActionNotSupported',
      reason: `${op.name} is not supported by the ${service} service`,
    });
  }
  if (!PRE_AUTH.has(op.name)) {
    const verdict = ctx.verifier.verify(msg.usernameToken, ctx.credentials);
    if (verdict !== 'ok') {
      ctx.counter.count(verdict);
      return fault(NOT_AUTHORIZED);
    }
  }
  return handler(ctx, op);
}

function ok(bodyXml: string): OnvifReply {
  return { status: 200, body: soapResponse(bodyXml) };
}

function fault(f: SoapFault): OnvifReply {
  return { status: f.httpStatus, body: soapFault(f) };
}

type Handler = (ctx: OnvifCameraContext, op: XmlElement) => OnvifReply;

function withProfile(
  ctx: OnvifCameraContext,
  op: XmlElement,
  then: (p: r.SimProfile) => OnvifReply,
): OnvifReply {
  const token = childNamed(op, NS.trt, 'ProfileToken')?.text.trim();
  const profile = r.profilesFor(ctx.identity).find((p) => p.token === token);
  if (!profile) {
    return fault({
      httpStatus: 400,
      code: 's:Sender',
      subcode: 'ter:NoProfile',
      reason: 'No such profile',
    });
  }
  return then(profile);
}

/** Media 1 GetStreamUri: RTSP over UDP or TCP is simulated; HTTP tunnelling is not. */
function streamUri(ctx: OnvifCameraContext, op: XmlElement): OnvifReply {
  const setup = childNamed(op, NS.trt, 'StreamSetup');
  const transport = setup && childNamed(setup, NS.tt, 'Transport');
  const protocol = (transport && childNamed(transport, NS.tt, 'Protocol')?.text.trim()) ?? 'RTSP';
  const stream = (setup && childNamed(setup, NS.tt, 'Stream')?.text.trim()) ?? 'RTP-Unicast';
  if ((protocol !== 'RTSP' && protocol !== 'UDP') || stream !== 'RTP-Unicast') {
    return fault({
      httpStatus: 400,
      code: 's:Sender',
      subcode: 'ter:InvalidStreamSetup',
      reason: `${stream} over ${protocol} is not offered (RTP-Unicast over RTSP or UDP only)`,
    });
  }
  return withProfile(ctx, op, (p) => ok(r.streamUri(ctx.rtspUri(p))));
}

const HANDLERS: Record<OnvifServiceName, Record<string, Handler>> = {
  device: {
    GetSystemDateAndTime: (ctx) => ok(r.systemDateAndTime(ctx.now())),
    GetDeviceInformation: (ctx) => ok(r.deviceInformation(ctx.identity)),
    GetCapabilities: (ctx) => ok(r.capabilities(ctx.urls)),
    GetServices: (ctx) => ok(r.services(ctx.urls)),
  },
  media: {
    GetProfiles: (ctx) => ok(r.profiles(r.profilesFor(ctx.identity))),
    GetProfile: (ctx, op) => withProfile(ctx, op, (p) => ok(r.profile(p))),
    GetVideoSources: () => ok(r.videoSources()),
    GetStreamUri: streamUri,
    GetSnapshotUri: (ctx, op) => withProfile(ctx, op, (p) => ok(r.snapshotUri(ctx.snapshotUri(p)))),
  },
};
