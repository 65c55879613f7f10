/**
 * The box's camera inventory: what answers on the camera LAN, described over
 * ONVIF, matched against the annex of the signed policy by identity.
 *
 * One cycle: probe (unicast targets, and the group on the camera-LAN
 * interface), wait for answers, describe every endpoint not yet described
 * (or whose address changed, or described too long ago; a failure is retried
 * next cycle), with a bounded number at once and a timeout per camera, then
 * match. Cycles run every `probeIntervalSec`, and soon after a Hello or a Bye;
 * a policy change re-matches at once without probing. Cycles never overlap.
 *
 * Transitions are reported as changes (coverage lost, restored, an unknown
 * device seen, an identity claimed twice) for the agent to journal and raise
 * as alarms. It is also the agent's CameraDirectory: where an annexed
 * camera's live stream is read, with its credentials.
 */
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import type { InventoryItemState } from '../../../protocol/src/agent-state.js';
import type { Camera } from '../../../protocol/src/policy-schema.js';
import type { CamerasConfig } from '../config/agent-config.js';
import type { CameraDirectory, CameraStream } from '../media/feed.js';
import {
  matchAnnex,
  type DiscoveredCamera,
  type InventoryItem,
  type InventoryStatus,
} from './annex-matcher.js';
import type { CredentialStore } from './credential-store.js';
import { describeCamera, type CameraDescription, type OnvifTarget } from './onvif-adapter.js';
import { expandProbeTargets } from './probe-targets.js';
import { WsDiscoveryClient, type DiscoveredEndpoint } from './ws-discovery.js';

/** Journal entry: an annexed camera answers again with an H.264 stream (losses are alarms). */
export const CAMERA_RESTORED = 'camera.restored';

export type InventoryChangeKind =
  | 'coverage-lost' // an annexed camera became missing, unusable or conflicted
  | 'coverage-restored' // it answers again with an H.264 stream
  | 'unknown-device'; // a device not in the annex appeared

export interface InventoryChange {
  readonly kind: InventoryChangeKind;
  readonly key: string; // annex id, or endpoint URN of an unknown device
  readonly from: InventoryStatus | null;
  readonly to: InventoryStatus;
  readonly item: InventoryItem;
}

export type Describe = (
  target: OnvifTarget,
  credentials: { username: string; password: string },
  timeoutMs: number,
) => Promise<CameraDescription>;

export interface CameraInventoryOptions {
  readonly config: CamerasConfig;
  readonly credentials: CredentialStore;
  /** The annex of this site in the policy in force; null while there is no policy. */
  readonly annex: () => readonly Camera[] | null;
  readonly log: Logger;
  readonly onChange?: (
    items: readonly InventoryItem[],
    changes: readonly InventoryChange[],
  ) => void;
  readonly monotonicMs?: () => number;
  /** The ONVIF description; the onvif adapter unless a test replaces it. */
  readonly describe?: Describe;
  /** Applied to every problem text from a camera before it is kept (the agent's redactor). */
  readonly redact?: (text: string) => string;
  /** Whether cycles run on their own (the agent) or only on refresh() (discover). */
  readonly periodic?: boolean;
}

interface Described {
  readonly xaddr: string;
  readonly atMs: number;
  readonly description: CameraDescription | null;
  readonly problem: string | null;
}

/** A Hello or Bye triggers a cycle this soon, coalescing a burst of them. */
const ANNOUNCEMENT_SETTLE_MS = 2_000;

export class CameraInventory implements CameraDirectory {
  readonly #o: CameraInventoryOptions;
  readonly #described = new Map<string, Described>();
  #discovery: WsDiscoveryClient | undefined;
  #items: InventoryItem[] = [];
  #live = new Map<string, { streamUri: string; endpointUrn: string }>();
  #cycle: Promise<readonly InventoryItem[]> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  #cycles = 0;

  constructor(options: CameraInventoryOptions) {
    this.#o = options;
  }

  /** The last inventory (empty before the first cycle). */
  get items(): readonly InventoryItem[] {
    return this.#items;
  }

  get cycles(): number {
    return this.#cycles;
  }

  /** Datagrams the discovery client refused, by reason. */
  rejected(): Record<string, number> {
    return this.#discovery?.rejected() ?? {};
  }

  async start(): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const c = this.#o.config;
    const { targets } = expandProbeTargets(c.probe);
    this.#discovery = new WsDiscoveryClient({
      localAddress: c.lanAddress,
      allowedCidrs: c.lanCidrs,
      unicastTargets: targets,
      multicast: c.multicast,
      probeIntervalMs: 0, // our cycles probe
      ttlMs: c.forgetAfterSec * 1000,
      monotonicMs: this.#o.monotonicMs,
      onAnnouncement: () => this.#refreshSoon(),
      log: this.#o.log.child('discovery'),
    });
    await this.#discovery.start();
    if (this.#o.periodic ?? true) {
      this.#timer = setInterval(() => this.#refreshQuietly(), c.probeIntervalSec * 1000);
      this.#timer.unref();
      this.#refreshQuietly();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.#cycle?.catch(() => undefined);
    await this.#discovery?.stop();
  }

  /** Runs one cycle (or joins the one running, then runs another) and returns the inventory. */
  refresh(): Promise<readonly InventoryItem[]> {
    if (this.#cycle) {
      this.#again = true;
      return this.#cycle;
    }
    const run = async (): Promise<readonly InventoryItem[]> => {
      try {
        let items = await this.#runCycle();
        while (this.#again && !this.#stopped) {
          this.#again = false;
          items = await this.#runCycle();
        }
        return items;
      } finally {
        this.#cycle = undefined;
      }
    };
    this.#cycle = run();
    return this.#cycle;
  }

  /** Matches the last discovery against the annex again (a new policy), without probing. */
  rematch(): void {
    // Before the first cycle nothing was looked for: every camera would seem missing.
    if (this.#cycles > 0 && !this.#stopped) this.#publish(this.#discovered());
  }

  liveStream(cameraId: string): CameraStream | { readonly unavailable: string } {
    const item = this.#items.find((i) => i.cameraId === cameraId);
    if (!item) return { unavailable: `${cameraId} is not in the annex of this site` };
    if (item.status !== 'annexed-present') return { unavailable: item.reason };
    const live = this.#live.get(cameraId);
    if (!live) return { unavailable: `${cameraId} has no live stream` };
    const creds = this.#o.credentials.get(cameraId, live.endpointUrn);
    if (!creds) return { unavailable: `no credentials for ${cameraId}` };
    return { cameraId, streamUri: live.streamUri, ...creds };
  }

  #refreshQuietly(): void {
    if (this.#stopped) return;
    this.refresh().catch((err: unknown) => this.#o.log.error('camera inventory failed', err));
  }

  #refreshSoon(): void {
    if (this.#stopped || this.#soon || !(this.#o.periodic ?? true)) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#refreshQuietly();
    }, ANNOUNCEMENT_SETTLE_MS);
    this.#soon.unref();
  }

  async #runCycle(): Promise<readonly InventoryItem[]> {
    const discovery = this.#discovery;
    if (!discovery || this.#stopped) return this.#items;
    try {
      if (await this.#o.credentials.reloadIfChanged())
        this.#o.log.info('camera credentials reloaded', { file: this.#o.credentials.file });
    } catch (err) {
      this.#o.log.error('camera credentials not reloaded; the previous ones stay in use', err);
    }
    await discovery.probe();
    await new Promise<void>((resolve) => setTimeout(resolve, this.#o.config.answerWaitMs));
    if (this.#stopped) return this.#items;
    const endpoints = discovery.list();
    await this.#describeAll(endpoints);
    this.#cycles++;
    return this.#publish(this.#discovered(endpoints));
  }

  /** Describes what needs it, `describeConcurrency` at a time; forgets what is gone. */
  async #describeAll(endpoints: readonly DiscoveredEndpoint[]): Promise<void> {
    const present = new Set(endpoints.map((e) => e.endpointUrn));
    for (const urn of this.#described.keys()) if (!present.has(urn)) this.#described.delete(urn);
    const now = this.#now();
    const maxAgeMs = this.#o.config.redescribeEverySec * 1000;
    const todo = endpoints.filter((e) => {
      const d = this.#described.get(e.endpointUrn);
      return !d || d.problem !== null || d.xaddr !== e.xaddrs[0] || now - d.atMs > maxAgeMs;
    });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length && !this.#stopped) {
        const endpoint = todo[next++] as DiscoveredEndpoint;
        this.#described.set(endpoint.endpointUrn, await this.#describeOne(endpoint));
      }
    };
    const workers = Math.min(this.#o.config.describeConcurrency, todo.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  async #describeOne(endpoint: DiscoveredEndpoint): Promise<Described> {
    const xaddr = endpoint.xaddrs[0] ?? '';
    const base = { xaddr, atMs: this.#now() };
    const target = onvifTarget(xaddr);
    if (!target) return { ...base, description: null, problem: 'no usable device address' };
    const creds = this.#o.credentials.get(
      this.#annexIdOf(endpoint.endpointUrn),
      endpoint.endpointUrn,
    );
    if (!creds) {
      return {
        ...base,
        description: null,
        problem: 'no credentials for it in the credentials file',
      };
    }
    const describe = this.#o.describe ?? describeCamera;
    try {
      const description = await describe(target, creds, this.#o.config.describeTimeoutMs);
      return { ...base, description, problem: null };
    } catch (err) {
      const raw = err instanceof VigieError ? err.message : 'unexpected failure';
      const problem = this.#o.redact ? this.#o.redact(raw) : raw;
      this.#o.log.warn('camera not described', { endpointUrn: endpoint.endpointUrn, problem });
      return { ...base, description: null, problem };
    }
  }

  /** The annex id whose identity names this endpoint URN, for the credentials lookup. */
  #annexIdOf(endpointUrn: string): string | null {
    const annex = this.#o.annex() ?? [];
    const urn = endpointUrn.toLowerCase();
    return annex.find((c) => c.onvif.endpointUrn?.toLowerCase() === urn)?.id ?? null;
  }

  #discovered(endpoints?: readonly DiscoveredEndpoint[]): DiscoveredCamera[] {
    const urns = endpoints?.map((e) => e.endpointUrn) ?? [...this.#described.keys()];
    const cameras: DiscoveredCamera[] = [];
    for (const urn of urns) {
      const d = this.#described.get(urn);
      if (!d) continue;
      const description = d.description;
      cameras.push({
        identity: description
          ? { ...description.identity, endpointUrn: urn }
          : { manufacturer: '', model: '', serial: '', endpointUrn: urn },
        xaddr: d.xaddr,
        encodings: description ? [...new Set(description.profiles.map((p) => p.encoding))] : [],
        problem: d.problem ?? undefined,
        live: description?.live
          ? `${description.live.profile.encoding} ${description.live.profile.width}x${description.live.profile.height}`
          : undefined,
      });
    }
    return cameras;
  }

  #publish(discovered: DiscoveredCamera[]): readonly InventoryItem[] {
    const annex = this.#o.annex();
    const items = matchAnnex(annex ?? [], discovered);
    const live = new Map<string, { streamUri: string; endpointUrn: string }>();
    for (const item of items) {
      if (item.cameraId === null || item.status !== 'annexed-present') continue;
      const urn = discovered.find((d) => d.xaddr === item.xaddr)?.identity.endpointUrn;
      const streamUri = urn ? this.#described.get(urn)?.description?.live?.streamUri : undefined;
      if (urn && streamUri) live.set(item.cameraId, { streamUri, endpointUrn: urn });
    }
    const changes = diff(this.#items, items, annex !== null);
    this.#items = items;
    this.#live = live;
    this.#o.onChange?.(items, changes);
    return items;
  }

  #now(): number {
    return (this.#o.monotonicMs ?? (() => performance.now()))();
  }
}

const LOST: ReadonlySet<InventoryStatus> = new Set([
  'annexed-missing',
  'annexed-unusable',
  'identity-conflict',
  'h265-only',
]);

const keyOf = (i: InventoryItem): string => i.cameraId ?? i.identity.endpointUrn ?? i.xaddr ?? '';

/**
 * What changed that people must hear about. The first inventory of a run
 * reports every annexed camera that is not covered (the box may have been off
 * while a camera was unplugged); unknown devices are reported only once a
 * policy is in force, or a box without one would report every camera.
 */
function diff(
  before: readonly InventoryItem[],
  after: readonly InventoryItem[],
  havePolicy: boolean,
): InventoryChange[] {
  const previous = new Map(before.map((i) => [keyOf(i), i.status]));
  const changes: InventoryChange[] = [];
  for (const item of after) {
    const key = keyOf(item);
    const from = previous.get(key) ?? null;
    if (from === item.status) continue;
    if (item.cameraId !== null) {
      if (LOST.has(item.status)) {
        changes.push({ kind: 'coverage-lost', key, from, to: item.status, item });
      } else if (item.status === 'annexed-present' && from !== null && LOST.has(from)) {
        changes.push({ kind: 'coverage-restored', key, from, to: item.status, item });
      }
    } else if (havePolicy && from === null) {
      changes.push({ kind: 'unknown-device', key, from, to: item.status, item });
    }
  }
  return changes;
}

/** The device service of an XAddr, as the onvif client takes it; null when not http(s). */
export function onvifTarget(xaddr: string): OnvifTarget | null {
  let url: URL;
  try {
    url = new URL(xaddr);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { hostname: url.hostname, port, path: url.pathname || '/onvif/device_service' };
}

/** The inventory as the retained state carries it (no secrets, bounded texts). */
export function inventoryState(items: readonly InventoryItem[]): InventoryItemState[] {
  const cut = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  return items.map((i) => {
    const target = i.xaddr ? onvifTarget(i.xaddr) : null;
    return {
      status: i.status,
      camera: i.cameraId,
      manufacturer: cut(i.identity.manufacturer, 100),
      model: cut(i.identity.model, 100),
      serial: cut(i.identity.serial, 100),
      endpointUrn: i.identity.endpointUrn ? cut(i.identity.endpointUrn, 200) : null,
      address: target ? cut(`${target.hostname}:${target.port}`, 100) : null,
      transmissible: i.transmissible,
      live: i.live ?? null,
      reason: cut(i.reason, 400),
    };
  });
}
