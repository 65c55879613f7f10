/**
 * The agent's WS-Discovery client (ONVIF Core 7, WS-Discovery 2005/04).
 *
 * It probes for NetworkVideoTransmitters by unicast to configured targets and,
 * when asked, by multicast to 239.255.255.250:3702 leaving through ONE
 * configured camera-LAN address (the socket binds that address; it never
 * listens on all interfaces). It keeps a table of endpoints, refreshed by
 * ProbeMatch and Hello, emptied by Bye, and forgets an endpoint that has not
 * answered for `ttlMs`.
 *
 * Everything it reads is unauthenticated UDP: oversized, malformed, unsolicited
 * or spoofed datagrams (XAddrs outside the camera-LAN CIDRs), and floods (a
 * bounded table, a bounded datagram rate) are refused with a counted reason.
 *
 * Lifecycle (docs/STYLE): the constructor only stores; start() and stop() are
 * idempotent, and stop() during start() waits for start to settle.
 */
import dgram from 'node:dgram';
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import { inCidrs, parseCidr, parseIpv4, type Ipv4Cidr } from './ipv4-cidr.js';
import {
  probeXml,
  readDiscoveryMessage,
  type AnnouncedEndpoint,
  type DiscoveryMessage,
  type DiscoveryRejectReason,
} from './ws-discovery-message.js';
import { TokenBucket } from '../../../lib/src/token-bucket.js';

export const WS_DISCOVERY_GROUP = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;
/** Receive buffer of the probe socket (the kernel caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;
/** Probe MessageIDs remembered to match RelatesTo; older answers are unsolicited. */
const OUTSTANDING_PROBES = 16;

export interface WsDiscoveryTarget {
  host: string;
  port: number;
}

export interface WsDiscoveryOptions {
  localAddress: string; // IPv4 of the camera-LAN interface: bound, and the multicast egress
  allowedCidrs: readonly string[]; // camera LAN, e.g. ['192.168.50.0/24']; XAddrs elsewhere are refused
  unicastTargets?: readonly WsDiscoveryTarget[]; // default none
  multicast?: boolean; // default false: probe the group, and listen for Hello/Bye on it
  multicastPort?: number; // default 3702
  probeIntervalMs?: number; // default 60000; 0 disables periodic probing
  ttlMs?: number; // default 180000 (three missed default probes): lastSeen + ttl, then forgotten
  maxEndpoints?: number; // default 1024: new endpoints beyond it are refused (flood)
  maxDatagramsPerSecond?: number; // default 2000: beyond it datagrams are dropped, counted
  monotonicMs?: () => number; // default performance.now
  /** Called after a Hello or a Bye changed the table (a camera plugged in or leaving). */
  onAnnouncement?: (kind: 'hello' | 'bye', endpointUrn: string) => void;
  log: Logger;
}

export interface DiscoveredEndpoint {
  readonly endpointUrn: string;
  readonly xaddrs: readonly string[];
  readonly scopes: readonly string[];
  /** The address the last answer came from. */
  readonly from: string;
  readonly lastSeenMs: number;
}

/** Every reason a datagram is refused: the reader's, and the client's own. */
export type WsDiscoveryRejectReason =
  | DiscoveryRejectReason
  | 'wsd-rate-limited'
  | 'wsd-unsolicited-match'
  | 'wsd-xaddr-outside-lan'
  | 'wsd-source-outside-lan'
  | 'wsd-table-full';

export class WsDiscoveryClient {
  readonly #endpoints = new Map<string, DiscoveredEndpoint>();
  readonly #rejected = new Map<string, number>();
  readonly #probes: string[] = [];
  #cidrs: Ipv4Cidr[] = [];
  #socket: dgram.Socket | undefined;
  #bound: { address: string; port: number } | undefined;
  #announcements: dgram.Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #bucket: TokenBucket | undefined;

  constructor(readonly options: WsDiscoveryOptions) {}

  /** The local UDP port probes leave from (answers come back to it), once started. */
  get port(): number | undefined {
    return this.#bound?.port;
  }

  /** The local address the probe socket is bound to: the configured one, never the wildcard. */
  get boundAddress(): string | undefined {
    return this.#bound?.address;
  }

  /** Refused datagrams by stable reason. */
  rejected(): Record<string, number> {
    return Object.fromEntries([...this.#rejected].sort(([a], [b]) => a.localeCompare(b)));
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new Error('WsDiscoveryClient: start after stop');
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    this.#cidrs = validate(this.options);
    this.#bucket = new TokenBucket(this.options.maxDatagramsPerSecond ?? 2000, () => this.#now());
    // A building's answers to one probe come close together (a /24 of cameras,
    // each within WS-Discovery's 500 ms): the default 208 KiB receive buffer
    // holds about 90 ProbeMatches, so ask for room for a thousand.
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address));
    socket.on('error', (err) =>
      this.options.log.warn('discovery socket error', { err: err.message }),
    );
    await bind(socket, 0, this.options.localAddress);
    this.#bound = socket.address();
    if (this.options.multicast) {
      socket.setMulticastInterface(this.options.localAddress);
      // WS-Discovery 3.1.1 and ONVIF Core 7.3: multicast stays on the local link.
      socket.setMulticastTTL(1);
      socket.setMulticastLoopback(true);
      await this.#listenAnnouncements();
    }
    const interval = this.options.probeIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#timer = setInterval(() => {
        this.probe().catch((err: unknown) => this.options.log.error('periodic probe failed', err));
      }, interval);
      this.#timer.unref();
    }
  }

  /**
   * Hello and Bye go to the group on port 3702: a second socket binds the group
   * address itself (not the wildcard) and joins it on the configured interface only.
   */
  async #listenAnnouncements(): Promise<void> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.#announcements = socket;
    socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address));
    socket.on('error', (err) =>
      this.options.log.warn('announcement socket error', { err: err.message }),
    );
    await bind(socket, this.options.multicastPort ?? WS_DISCOVERY_PORT, WS_DISCOVERY_GROUP);
    socket.addMembership(WS_DISCOVERY_GROUP, this.options.localAddress);
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch((err: unknown) =>
      this.options.log.warn('discovery start had failed', { err: String(err) }),
    );
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const socket of [this.#announcements, this.#socket]) {
      if (!socket) continue;
      try {
        await new Promise<void>((resolve) => socket.close(() => resolve()));
      } catch (err) {
        this.options.log.error('discovery socket did not close cleanly', err);
      }
    }
    this.#announcements = undefined;
    this.#socket = undefined;
    this.#bound = undefined;
  }

  /** Sends one Probe to every unicast target and, if enabled, to the group. */
  async probe(): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#stopping) return;
    const { messageId, xml } = probeXml();
    this.#probes.push(messageId);
    if (this.#probes.length > OUTSTANDING_PROBES) this.#probes.shift();
    const data = Buffer.from(xml, 'utf8');
    const targets = [...(this.options.unicastTargets ?? [])];
    if (this.options.multicast)
      targets.push({
        host: WS_DISCOVERY_GROUP,
        port: this.options.multicastPort ?? WS_DISCOVERY_PORT,
      });
    await Promise.all(targets.map((t) => this.#send(socket, data, t)));
  }

  /** Probes, waits `timeoutMs` for answers, and returns the endpoints still alive. */
  async probeOnce(timeoutMs: number): Promise<DiscoveredEndpoint[]> {
    await this.probe();
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, timeoutMs)));
    return this.list();
  }

  /** Endpoints seen within the last ttlMs, by URN; expired ones are forgotten here. */
  list(): DiscoveredEndpoint[] {
    const now = this.#now();
    const ttl = this.options.ttlMs ?? 180_000;
    for (const [urn, e] of this.#endpoints)
      if (now - e.lastSeenMs > ttl) this.#endpoints.delete(urn);
    return [...this.#endpoints.values()].sort((a, b) => a.endpointUrn.localeCompare(b.endpointUrn));
  }

  #send(socket: dgram.Socket, data: Buffer, target: WsDiscoveryTarget): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (err: Error | null): void => {
        // A target that is down is the normal case for a camera LAN; note it and carry on.
        if (err)
          this.options.log.warn('probe not sent', {
            target: `${target.host}:${target.port}`,
            err: err.message,
          });
        resolve();
      };
      try {
        socket.send(data, target.port, target.host, done);
      } catch (err) {
        // send() throws synchronously on a socket closed by a concurrent stop().
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  #onDatagram(msg: Buffer, from: string): void {
    if (!this.#bucket?.take()) {
      this.#refuse('wsd-rate-limited');
      return;
    }
    const message = readDiscoveryMessage(msg);
    if (typeof message === 'string') this.#refuse(message);
    else this.#apply(message, from);
  }

  #apply(message: DiscoveryMessage, from: string): void {
    switch (message.kind) {
      case 'probe-matches':
        if (!this.#probes.includes(message.relatesTo)) {
          this.#refuse('wsd-unsolicited-match');
          return;
        }
        for (const m of message.matches) this.#upsert(m, from);
        return;
      case 'hello':
        if (this.#upsert(message.endpoint, from))
          this.options.onAnnouncement?.('hello', message.endpoint.endpointUrn);
        return;
      case 'bye':
        // A Bye is as unauthenticated as the rest; only honour one from the camera LAN.
        if (!inCidrs(from, this.#cidrs)) {
          this.#refuse('wsd-source-outside-lan');
          return;
        }
        if (this.#endpoints.delete(message.endpointUrn))
          this.options.onAnnouncement?.('bye', message.endpointUrn);
        return;
      case 'peer-query':
        return;
    }
  }

  /** True when the endpoint is now in the table. */
  #upsert(endpoint: AnnouncedEndpoint, from: string): boolean {
    if (!inCidrs(from, this.#cidrs)) return this.#refuse('wsd-source-outside-lan');
    if (endpoint.xaddrs.some((a) => !inCidrs(new URL(a).hostname, this.#cidrs)))
      return this.#refuse('wsd-xaddr-outside-lan');
    const max = this.options.maxEndpoints ?? 1024;
    if (!this.#endpoints.has(endpoint.endpointUrn) && this.#endpoints.size >= max) {
      this.list(); // expired entries make room first
      if (this.#endpoints.size >= max) return this.#refuse('wsd-table-full');
    }
    this.#endpoints.set(endpoint.endpointUrn, { ...endpoint, from, lastSeenMs: this.#now() });
    return true;
  }

  #refuse(reason: WsDiscoveryRejectReason): false {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1);
    return false;
  }

  #now(): number {
    return (this.options.monotonicMs ?? (() => performance.now()))();
  }
}

function validate(o: WsDiscoveryOptions): Ipv4Cidr[] {
  const problems: string[] = [];
  if (parseIpv4(o.localAddress) === undefined)
    problems.push(`localAddress: ${o.localAddress} is not an IPv4 address`);
  const cidrs: Ipv4Cidr[] = [];
  for (const c of o.allowedCidrs) {
    const parsed = parseCidr(c);
    if (parsed) cidrs.push(parsed);
    else problems.push(`allowedCidrs: ${c} is not an IPv4 CIDR like 192.168.50.0/24`);
  }
  if (cidrs.length === 0 && o.allowedCidrs.length === 0)
    problems.push('allowedCidrs: at least one camera-LAN range is required');
  for (const t of o.unicastTargets ?? [])
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
      problems.push(`unicastTargets: port ${t.port} of ${t.host} is not in 1..65535`);
  if (problems.length > 0) throw new VigieError('config-invalid', problems.join('; '));
  return cidrs;
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}
