/**
 * WS-Discovery 2005/04 messages as ONVIF Core 7 uses them, on the agent side:
 * the Probe it sends, and the ProbeMatches, Hello and Bye it reads. Reading
 * goes through the strict shared XML reader (size, depth and element limits,
 * no DOCTYPE, so no entity expansion) and never throws: anything that is not
 * a well-formed discovery message comes back as a stable reason to count.
 */
import { randomUUID } from 'node:crypto';
import {
  childNamed,
  childrenNamed,
  readXml,
  XmlRejected,
  type XmlElement,
} from '../../../lib/src/xml-reader.js';

export const WSD_NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
} as const;

/** A datagram larger than this is refused before parsing; a ProbeMatch is 1-2 KiB. */
export const MAX_DISCOVERY_DATAGRAM_BYTES = 16 * 1024;
const XML_LIMITS = {
  maxBytes: MAX_DISCOVERY_DATAGRAM_BYTES,
  maxDepth: 16,
  maxElements: 400,
  maxAttributes: 16,
};
const MAX_URI_CHARS = 512;
const MAX_XADDRS = 8;
const MAX_MATCHES_PER_DATAGRAM = 16;

export interface AnnouncedEndpoint {
  /** wsa:EndpointReference/Address, a URN (urn:uuid:… on ONVIF devices). */
  readonly endpointUrn: string;
  readonly xaddrs: readonly string[];
  readonly scopes: readonly string[];
}

export type DiscoveryMessage =
  | { kind: 'probe-matches'; relatesTo: string; matches: AnnouncedEndpoint[] }
  | { kind: 'hello'; endpoint: AnnouncedEndpoint }
  | { kind: 'bye'; endpointUrn: string }
  /** Another client's Probe or Resolve, seen on the group: not for us, not hostile. */
  | { kind: 'peer-query' };

/** Stable reasons a datagram is refused; counted, never logged one by one. */
export type DiscoveryRejectReason =
  | XmlRejected['reason']
  | 'wsd-datagram-too-large'
  | 'wsd-not-envelope'
  | 'wsd-unexpected-message'
  | 'wsd-no-relates-to'
  | 'wsd-bad-endpoint'
  | 'wsd-bad-xaddrs'
  | 'wsd-too-many-matches'
  | 'wsd-internal-error';

/** The Probe the agent sends: NetworkVideoTransmitter, a fresh urn:uuid MessageID. */
export function probeXml(messageId = `urn:uuid:${randomUUID()}`): {
  messageId: string;
  xml: string;
} {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<s:Envelope xmlns:s="${WSD_NS.soap}" xmlns:a="${WSD_NS.wsa}" xmlns:d="${WSD_NS.wsd}" xmlns:dn="${WSD_NS.dn}">` +
    `<s:Header><a:MessageID>${messageId}</a:MessageID>` +
    `<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    `<a:Action>${WSD_NS.wsd}/Probe</a:Action></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`;
  return { messageId, xml };
}

/** Reads one datagram; never throws. */
export function readDiscoveryMessage(
  datagram: Uint8Array,
): DiscoveryMessage | DiscoveryRejectReason {
  if (datagram.byteLength > MAX_DISCOVERY_DATAGRAM_BYTES) return 'wsd-datagram-too-large';
  try {
    return interpret(readXml(datagram, XML_LIMITS));
  } catch (err) {
    if (err instanceof XmlRejected) return err.reason;
    if (err instanceof Refused) return err.reason;
    // Our bug, not the sender's: still a counted reason, never a crashed agent.
    return 'wsd-internal-error';
  }
}

class Refused extends Error {
  constructor(readonly reason: DiscoveryRejectReason) {
    super(reason);
  }
}

function interpret(env: XmlElement): DiscoveryMessage {
  if (env.name !== 'Envelope' || env.ns !== WSD_NS.soap) throw new Refused('wsd-not-envelope');
  const header = childNamed(env, WSD_NS.soap, 'Header');
  const op = childNamed(env, WSD_NS.soap, 'Body')?.children[0];
  if (!op || op.ns !== WSD_NS.wsd) throw new Refused('wsd-unexpected-message');
  switch (op.name) {
    case 'ProbeMatches': {
      const relatesTo = header && text(childNamed(header, WSD_NS.wsa, 'RelatesTo'));
      if (!relatesTo || relatesTo.length > MAX_URI_CHARS) throw new Refused('wsd-no-relates-to');
      const items = childrenNamed(op, WSD_NS.wsd, 'ProbeMatch');
      if (items.length > MAX_MATCHES_PER_DATAGRAM) throw new Refused('wsd-too-many-matches');
      return { kind: 'probe-matches', relatesTo, matches: items.map(announced) };
    }
    case 'Hello':
      return { kind: 'hello', endpoint: announced(op) };
    case 'Bye':
      return { kind: 'bye', endpointUrn: endpointUrn(op) };
    case 'Probe':
    case 'Resolve':
      return { kind: 'peer-query' };
    default:
      throw new Refused('wsd-unexpected-message');
  }
}

function announced(el: XmlElement): AnnouncedEndpoint {
  const xaddrs = words(childNamed(el, WSD_NS.wsd, 'XAddrs'));
  if (
    xaddrs.length === 0 ||
    xaddrs.length > MAX_XADDRS ||
    xaddrs.some((a) => a.length > MAX_URI_CHARS || !isHttpUrl(a))
  )
    throw new Refused('wsd-bad-xaddrs');
  return {
    endpointUrn: endpointUrn(el),
    xaddrs,
    scopes: words(childNamed(el, WSD_NS.wsd, 'Scopes')).slice(0, 32),
  };
}

function endpointUrn(el: XmlElement): string {
  const ref = childNamed(el, WSD_NS.wsa, 'EndpointReference');
  const address = ref && text(childNamed(ref, WSD_NS.wsa, 'Address'));
  // WS-Discovery 2.6: an endpoint reference is a stable URI; ONVIF devices use urn:uuid.
  if (!address || address.length > MAX_URI_CHARS || !/^urn:[A-Za-z0-9][\S]*$/.test(address))
    throw new Refused('wsd-bad-endpoint');
  return address;
}

function isHttpUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

function text(el: XmlElement | undefined): string | undefined {
  return el?.text.trim();
}

function words(el: XmlElement | undefined): string[] {
  return el ? el.text.split(/\s+/).filter((w) => w.length > 0) : [];
}
