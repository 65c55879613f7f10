/**
 * The bodies of the ONVIF device (ver10/device) and media (ver10/media)
 * responses a simulated camera gives. Shapes follow the ONVIF WSDLs closely
 * enough for the `onvif` and `node-onvif` clients, which read, among others:
 * Profiles@token, VideoSourceConfiguration/SourceToken matching a
 * VideoSources@token (onvif's active source), Bounds@width/height and
 * VideoEncoderConfiguration/Resolution, Quality, RateControl (node-onvif).
 */
import type { SimCameraIdentity } from './camera-identity.js';
import { escapeXml as x } from '../../lib/src/xml-reader.js';

export interface SimProfile {
  token: string;
  name: string;
  encoding: 'H264' | 'H265';
  width: number;
  height: number;
  frameRate: number;
  bitrateKbps: number;
}

export const VIDEO_SOURCE_TOKEN = 'vs-1';

/** H.264 cameras offer "main" and "sub"; the H.265-only camera offers one H265 "main". */
export function profilesFor(identity: SimCameraIdentity): SimProfile[] {
  if (identity.codec === 'h265-only') {
    return [
      {
        token: 'main',
        name: 'main',
        encoding: 'H265',
        width: 1920,
        height: 1080,
        frameRate: 25,
        bitrateKbps: 2048,
      },
    ];
  }
  return [
    {
      token: 'main',
      name: 'main',
      encoding: 'H264',
      width: 1920,
      height: 1080,
      frameRate: 25,
      bitrateKbps: 4096,
    },
    {
      token: 'sub',
      name: 'sub',
      encoding: 'H264',
      width: 640,
      height: 360,
      frameRate: 15,
      bitrateKbps: 512,
    },
  ];
}

export interface CameraUrls {
  device: string;
  media: string;
}

export function deviceInformation(id: SimCameraIdentity): string {
  return (
    `<tds:GetDeviceInformationResponse>` +
    `<tds:Manufacturer>${x(id.manufacturer)}</tds:Manufacturer>` +
    `<tds:Model>${x(id.model)}</tds:Model>` +
    `<tds:FirmwareVersion>${x(id.firmwareVersion)}</tds:FirmwareVersion>` +
    `<tds:SerialNumber>${x(id.serialNumber)}</tds:SerialNumber>` +
    `<tds:HardwareId>${x(id.hardwareId)}</tds:HardwareId>` +
    `</tds:GetDeviceInformationResponse>`
  );
}

export function systemDateAndTime(now: Date): string {
  return (
    `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>` +
    `<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
    `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>` +
    `<tt:UTCDateTime><tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour>` +
    `<tt:Minute>${now.getUTCMinutes()}</tt:Minute><tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year><tt:Month>${now.getUTCMonth() + 1}</tt:Month>` +
    `<tt:Day>${now.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime>` +
    `</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
  );
}

export function capabilities(urls: CameraUrls): string {
  return (
    `<tds:GetCapabilitiesResponse><tds:Capabilities>` +
    `<tt:Device><tt:XAddr>${x(urls.device)}</tt:XAddr>` +
    `<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>` +
    `<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>` +
    `<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>` +
    `<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions>` +
    `</tt:System></tt:Device>` +
    `<tt:Media><tt:XAddr>${x(urls.media)}</tt:XAddr><tt:StreamingCapabilities>` +
    `<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>` +
    `<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
    `</tds:Capabilities></tds:GetCapabilitiesResponse>`
  );
}

export function services(urls: CameraUrls): string {
  const service = (ns: string, xaddr: string): string =>
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${x(xaddr)}</tds:XAddr>` +
    `<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>`;
  return (
    `<tds:GetServicesResponse>` +
    service('http://www.onvif.org/ver10/device/wsdl', urls.device) +
    service('http://www.onvif.org/ver10/media/wsdl', urls.media) +
    `</tds:GetServicesResponse>`
  );
}

export function videoSources(): string {
  return (
    `<trt:GetVideoSourcesResponse><trt:VideoSources token="${VIDEO_SOURCE_TOKEN}">` +
    `<tt:Framerate>25</tt:Framerate><tt:Resolution><tt:Width>1920</tt:Width>` +
    `<tt:Height>1080</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`
  );
}

function profileXml(p: SimProfile, useCount: number): string {
  const codecBlock =
    p.encoding === 'H264'
      ? `<tt:H264><tt:GovLength>${p.frameRate * 2}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>`
      : '';
  return (
    `<trt:Profiles token="${x(p.token)}" fixed="true"><tt:Name>${x(p.name)}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="vsc-1"><tt:Name>video source</tt:Name>` +
    `<tt:UseCount>${useCount}</tt:UseCount><tt:SourceToken>${VIDEO_SOURCE_TOKEN}</tt:SourceToken>` +
    `<tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="vec-${x(p.token)}"><tt:Name>${x(p.name)}</tt:Name>` +
    `<tt:UseCount>1</tt:UseCount><tt:Encoding>${p.encoding}</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>${p.frameRate}</tt:FrameRateLimit>` +
    `<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${p.bitrateKbps}</tt:BitrateLimit>` +
    `</tt:RateControl>${codecBlock}<tt:SessionTimeout>PT60S</tt:SessionTimeout>` +
    `</tt:VideoEncoderConfiguration></trt:Profiles>`
  );
}

export function profiles(list: SimProfile[]): string {
  return `<trt:GetProfilesResponse>${list.map((p) => profileXml(p, list.length)).join('')}</trt:GetProfilesResponse>`;
}

export function profile(p: SimProfile): string {
  return `<trt:GetProfileResponse>${profileXml(p, 1).replace(/trt:Profiles/g, 'trt:Profile')}</trt:GetProfileResponse>`;
}

function mediaUri(uri: string): string {
  return (
    `<trt:MediaUri><tt:Uri>${x(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
    `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`
  );
}

export function streamUri(uri: string): string {
  return `<trt:GetStreamUriResponse>${mediaUri(uri)}</trt:GetStreamUriResponse>`;
}

export function snapshotUri(uri: string): string {
  return `<trt:GetSnapshotUriResponse>${mediaUri(uri)}</trt:GetSnapshotUriResponse>`;
}
