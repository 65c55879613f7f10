/**
 * WS-Discovery (2005/04, as ONVIF Core 7 uses it) for the simulated building:
 * answers Probe with one ProbeMatches datagram per matching camera (as separate
 * devices would), and sends Hello on start and Bye on stop.
 *
 * Network safety: by default the socket binds the given unicast address and
 * answers unicast probes only, and Hello/Bye go to `announceTo` if set.
 * `multicast: true` joins 239.255.255.250 and announces there; it is meant for
 * a network namespace made by a test or a demo, never the host's root one.
 */
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from '../../lib/src/log.js';
import type { RejectCounter } from './reject-counter.js';
import { NS, readSoap, rejectionReason } from './soap.js';
import {
  childNamed,
  escapeXml as x,
  resolveQName,
  type XmlElement,
} from '../../lib/src/xml-reader.js';
import { TokenBucket } from '../../lib/src/token-bucket.js';

export const WS_DISCOVERY_PORT = 3702;
export const WS_DISCOVERY_GROUP = '239.255.255.250';
const ACTION_PROBE = `${NS.wsd}/Probe`;

export interface DiscoverableCamera {
  endpointReference: string;
  xaddrs: string[];
  scopes: string[];
}

export interface DiscoveryResponderOptions {
  host: string; // unicast address to bind, '127.0.0.1' by default
  port: number; // 3702 per WS-Discovery; 0 (ephemeral) in tests
  multicast?: boolean; // default false: never join the group unless asked
  announceTo?: { address: string; port: number }; // unicast Hello/Bye target
  maxDatagramBytes?: number; // default 16 KiB; an ONVIF Probe is under 1 KiB
  maxProbesPerSecond?: number; // default 200: flood answers are dropped, counted
  monotonicMs?: () => number; // default performance.now
  /**
   * Each camera answers a probe after a random delay up to this (WS-Discovery
   * APP_MAX_DELAY, 500 ms), as real cameras do so that a building's answers do
   * not arrive as one burst. Default 500 with multicast, 0 without.
   */
  answerMaxDelayMs?: number;
  log: Logger;
  counter: RejectCounter;
}

export class DiscoveryResponder {
  #socket: dgram.Socket | undefined;
  #messageNumber = 0;
  readonly #instanceId = Math.floor(Date.now() / 1000);
  #bucket: TokenBucket | undefined;
  readonly #pending = new Set<NodeJS.Timeout>();

  constructor(
    readonly options: DiscoveryResponderOptions,
    readonly cameras: () => readonly DiscoverableCamera[],
  ) {}

  async start(): Promise<number> {
    if (this.#socket) return this.#socket.address().port;
    const multicast = this.options.multicast === true;
    this.#bucket = new TokenBucket(this.options.maxProbesPerSecond ?? 200, () => this.#now());
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: multicast });
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on('error', (err) =>
      this.options.log.warn('discovery socket error', { err: err.message }),
    );
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // A multicast listener must bind the wildcard to receive group traffic.
      socket.bind(this.options.port, multicast ? '0.0.0.0' : this.options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (multicast) {
      socket.addMembership(WS_DISCOVERY_GROUP, this.options.host);
      socket.setMulticastInterface(this.options.host);
    }
    return socket.address().port;
  }

  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
    if (!socket) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Hello for each camera, to announceTo (or the group when multicast). */
  async hello(cameras: readonly DiscoverableCamera[] = this.cameras()): Promise<void> {
    await Promise.all(cameras.map((c) => this.#announce(helloXml(c, this.#appSequence()))));
  }

  async bye(): Promise<void> {
    await Promise.all(this.cameras().map((c) => this.#announce(byeXml(c, this.#appSequence()))));
  }

  async #announce(xml: string): Promise<void> {
    const target = this.options.multicast
      ? { address: WS_DISCOVERY_GROUP, port: WS_DISCOVERY_PORT }
      : this.options.announceTo;
    if (!target) return;
    await this.#send(xml, target.address, target.port);
  }

  async #send(xml: string, address: string, port: number): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.send(Buffer.from(xml, 'utf8'), port, address, (err) => {
        if (err) this.options.log.warn('discovery send failed', { err: err.message });
        resolve();
      });
    });
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const counter = this.options.counter;
    if (msg.length > (this.options.maxDatagramBytes ?? 16 * 1024)) {
      counter.count('wsd-datagram-too-large');
      return;
    }
    if (!this.#bucket?.take()) {
      counter.count('wsd-rate-limited');
      return;
    }
    let probe;
    try {
      probe = readProbe(msg);
    } catch (err) {
      const reason = rejectionReason(err);
      // Anything else is our bug; a datagram handler must still never crash the process.
      if (reason === undefined) this.options.log.error('probe reader failed', err);
      counter.count(reason ?? 'wsd-internal-error');
      return;
    }
    if (typeof probe === 'string') {
      counter.count(probe);
      return;
    }
    const matches = this.cameras().filter((c) => probeMatches(probe, c));
    if (matches.length === 0) counter.count('wsd-no-match');
    const maxDelay = this.options.answerMaxDelayMs ?? (this.options.multicast ? 500 : 0);
    for (const cam of matches) {
      const answer = (): void =>
        void this.#send(
          probeMatchXml(cam, probe.messageId, this.#appSequence()),
          rinfo.address,
          rinfo.port,
        );
      if (maxDelay <= 0) {
        answer();
        continue;
      }
      const timer = setTimeout(
        () => {
          this.#pending.delete(timer);
          if (this.#socket) answer();
        },
        Math.floor(Math.random() * maxDelay),
      );
      this.#pending.add(timer);
    }
  }

  #now(): number {
    return (this.options.monotonicMs ?? (() => performance.now()))();
  }

  #appSequence(): string {
    return `<d:AppSequence InstanceId="${this.#instanceId}" MessageNumber="${++this.#messageNumber}"/>`;
  }
}

export interface Probe {
  messageId: string;
  types: { ns: string; name: string }[];
  scopes: string[];
}

/** Reads a Probe, or returns the stable reason it is not one. */
export function readProbe(datagram: Uint8Array): Probe | string {
  const msg = readSoap(datagram, { maxBytes: 16 * 1024, maxDepth: 16, maxElements: 200 });
  const action = msg.header && childNamed(msg.header, NS.wsa, 'Action')?.text.trim();
  const op = msg.operation;
  if (op.name !== 'Probe' || op.ns !== NS.wsd || (action !== undefined && action !== ACTION_PROBE))
    return 'wsd-not-probe';
  const messageId = (msg.header && childNamed(msg.header, NS.wsa, 'MessageID')?.text.trim()) ?? '';
  if (!messageId || messageId.length > 256) return 'wsd-bad-message-id';
  const typesEl = childNamed(op, NS.wsd, 'Types');
  const types: Probe['types'] = [];
  for (const q of words(typesEl)) {
    const resolved = typesEl && resolveQName(typesEl, q);
    if (!resolved) return 'wsd-bad-types';
    types.push(resolved);
  }
  return { messageId, types, scopes: words(childNamed(op, NS.wsd, 'Scopes')) };
}

function words(el: XmlElement | undefined): string[] {
  return el ? el.text.split(/\s+/).filter((w) => w.length > 0) : [];
}

/** WS-Discovery 5.1: an empty Types or Scopes matches; types we offer are NVT and Device. */
function probeMatches(probe: Probe, cam: DiscoverableCamera): boolean {
  const typesOk = probe.types.every(
    (t) =>
      (t.ns === NS.dn && t.name === 'NetworkVideoTransmitter') ||
      (t.ns === NS.tds && t.name === 'Device'),
  );
  // RFC 3986 prefix rule, simplified: a probe scope matches a camera scope it prefixes by segment.
  const scopesOk = probe.scopes.every((s) =>
    cam.scopes.some((c) => c === s || c.startsWith(s.endsWith('/') ? s : `${s}/`)),
  );
  return typesOk && scopesOk;
}

const ENVELOPE =
  `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}"` +
  ` xmlns:d="${NS.wsd}" xmlns:dn="${NS.dn}" xmlns:tds="${NS.tds}">`;

function header(action: string, appSequence: string, relatesTo?: string): string {
  const to = relatesTo
    ? 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'
    : 'urn:schemas-xmlsoap-org:ws:2005:04:discovery';
  return (
    `<s:Header><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
    (relatesTo ? `<a:RelatesTo>${x(relatesTo)}</a:RelatesTo>` : '') +
    `<a:To>${to}</a:To><a:Action>${NS.wsd}/${action}</a:Action>${appSequence}</s:Header>`
  );
}

function endpoint(cam: DiscoverableCamera): string {
  return `<a:EndpointReference><a:Address>${x(cam.endpointReference)}</a:Address></a:EndpointReference>`;
}

function described(cam: DiscoverableCamera): string {
  return (
    endpoint(cam) +
    `<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>` +
    `<d:Scopes>${cam.scopes.map(x).join(' ')}</d:Scopes>` +
    `<d:XAddrs>${cam.xaddrs.map(x).join(' ')}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>`
  );
}

export function probeMatchXml(
  cam: DiscoverableCamera,
  relatesTo: string,
  appSequence: string,
): string {
  return (
    ENVELOPE +
    header('ProbeMatches', appSequence, relatesTo) +
    `<s:Body><d:ProbeMatches><d:ProbeMatch>${described(cam)}</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}

function helloXml(cam: DiscoverableCamera, appSequence: string): string {
  return (
    ENVELOPE +
    header('Hello', appSequence) +
    `<s:Body><d:Hello>${described(cam)}</d:Hello></s:Body></s:Envelope>`
  );
}

function byeXml(cam: DiscoverableCamera, appSequence: string): string {
  return (
    ENVELOPE +
    header('Bye', appSequence) +
    `<s:Body><d:Bye>${endpoint(cam)}</d:Bye></s:Body></s:Envelope>`
  );
}
