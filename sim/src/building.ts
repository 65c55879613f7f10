/**
 * A simulated building: N ONVIF cameras, each with its own HTTP port, identity
 * and credentials, and one WS-Discovery responder answering for all of them.
 * The credentials are written to a 0600 JSON file (the shape the agent's
 * credential store will read) and never logged.
 *
 * Lifecycle (docs/sim.md): the constructor only stores; start() and stop() are
 * idempotent, and stop() during start() waits for start to finish first.
 */
import { VigieError } from '../../lib/src/errors.js';
import { writePrivateFile } from '../../lib/src/files.js';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import {
  cameraIdentity,
  generateCredentials,
  type SimCameraCredentials,
  type SimCameraIdentity,
} from './camera-identity.js';
import { CameraServer, DEVICE_PATH, MEDIA_PATH, SNAPSHOT_PATH_PREFIX } from './camera-server.js';
import {
  DiscoveryResponder,
  type DiscoverableCamera,
  WS_DISCOVERY_PORT,
} from './discovery-responder.js';
import { RejectCounter } from './reject-counter.js';
import { DigestVerifier } from './ws-security.js';
import { MAX_SIM_CAMERAS } from './limits.js';

export interface SimulatedBuildingOptions {
  cameras: number; // 1..256
  seed?: string; // default 'vigie': same seed, same identities
  host?: string; // default '127.0.0.1'
  httpPortBase?: number; // default 0: every camera on an ephemeral port; else camera n on base+n-1
  rtspPort?: number; // default 8554: GetStreamUri answers rtsp://host:rtspPort/<camera-id>; 0: set later (useRtspPort)
  h265Only?: number[]; // camera numbers (1-based) that offer only H.265; default none
  credentialsFile?: string; // 0600 JSON written on start; default: not written
  discovery?: false | SimDiscoveryOptions; // default { port: 3702, multicast: false }
  now?: () => Date; // camera clock, default wall clock
  log?: Logger;
}

export interface SimDiscoveryOptions {
  port?: number; // default 3702
  multicast?: boolean; // default false (namespaces only)
  announceTo?: { address: string; port: number };
  maxProbesPerSecond?: number;
}

export interface SimCamera {
  identity: SimCameraIdentity;
  credentials: SimCameraCredentials;
  httpPort: number;
  /** Device service XAddr, as announced in ProbeMatch and GetCapabilities. */
  xaddr: string;
  mediaXaddr: string;
}

export interface SimCredentialsFile {
  version: 1;
  cameras: {
    id: string;
    endpointReference: string;
    xaddr: string;
    username: string;
    password: string;
  }[];
}

export { MAX_SIM_CAMERAS };

export class SimulatedBuilding {
  readonly counter = new RejectCounter();
  #cameras: SimCamera[] = [];
  readonly #servers = new Map<number, CameraServer>();
  #discovery: DiscoveryResponder | undefined;
  #discoveryPort: number | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #redactor = new Redactor();
  readonly #log: Logger;

  constructor(readonly options: SimulatedBuildingOptions) {
    this.#log = options.log ?? new Logger('sim', { redactor: this.#redactor });
  }

  #rtspPort: number | undefined;

  /** The port GetStreamUri names: the option, or the one the stream server bound (useRtspPort). */
  get rtspPort(): number {
    return this.#rtspPort ?? this.options.rtspPort ?? 8554;
  }

  /** Names the port the RTSP server actually bound (started with port 0, after the cameras). */
  useRtspPort(port: number): void {
    this.#rtspPort = port;
  }

  get cameras(): readonly SimCamera[] {
    return this.#cameras;
  }

  /** The UDP port the WS-Discovery responder listens on, once started. */
  get discoveryPort(): number | undefined {
    return this.#discoveryPort;
  }

  /** Registers every camera password with this redactor too (e.g. the CLI's). */
  registerSecrets(redactor: Redactor): void {
    for (const c of this.#cameras) redactor.addSecret(c.credentials.password);
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new Error('SimulatedBuilding: start after stop');
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async stop(reason = 'stop'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #start(): Promise<void> {
    const o = this.options;
    const host = o.host ?? '127.0.0.1';
    const h265 = new Set(o.h265Only ?? []);
    validateOptions(o);
    for (let n = 1; n <= o.cameras; n++) await this.#addCamera(n, h265.has(n));
    if (o.credentialsFile) await writePrivateFile(o.credentialsFile, this.credentialsJson(), true);
    if (o.discovery !== false) await this.#startDiscovery(host, o.discovery ?? {});
    this.#log.info('simulated building started', {
      cameras: this.#cameras.length,
      discoveryPort: this.#discoveryPort,
      credentialsFile: o.credentialsFile,
    });
  }

  /** One camera: its identity from the seed and number, its own HTTP port and credentials. */
  async #addCamera(n: number, h265Only: boolean): Promise<SimCamera> {
    const o = this.options;
    const host = o.host ?? '127.0.0.1';
    const now = o.now ?? (() => new Date());
    const identity = cameraIdentity(o.seed ?? 'vigie', n, h265Only ? 'h265-only' : 'h264');
    const credentials = generateCredentials(identity);
    this.#redactor.addSecret(credentials.password);
    const server = new CameraServer({
      host,
      port: o.httpPortBase ? o.httpPortBase + n - 1 : 0,
      log: this.#log.child(identity.id),
      counter: this.counter,
    });
    this.#servers.set(n, server);
    const httpPort = await server.listen();
    const base = `http://${urlHost(host)}:${httpPort}`;
    const camera: SimCamera = {
      identity,
      credentials,
      httpPort,
      xaddr: base + DEVICE_PATH,
      mediaXaddr: base + MEDIA_PATH,
    };
    server.serve({
      identity,
      credentials,
      urls: { device: camera.xaddr, media: camera.mediaXaddr },
      rtspUri: () => `rtsp://${urlHost(host)}:${this.rtspPort}/${identity.id}`,
      snapshotUri: (p) => `${base}${SNAPSHOT_PATH_PREFIX}${p.token}.jpg`,
      // One verifier per camera: nonces are remembered per device, as on real cameras.
      verifier: new DigestVerifier({ now: () => now().getTime() }),
      counter: this.counter,
      now,
    });
    this.#cameras.push(camera);
    return camera;
  }

  /**
   * A camera plugged in while running (the next number, an identity no annex
   * made from the first cameras knows): it announces itself with a Hello.
   * The credentials file, if any, is rewritten with it.
   */
  async addCamera(): Promise<SimCamera> {
    await this.start();
    const n = Math.max(0, ...this.#servers.keys()) + 1;
    if (n > MAX_SIM_CAMERAS)
      throw new VigieError('config-invalid', `at most ${MAX_SIM_CAMERAS} cameras`);
    const camera = await this.#addCamera(n, false);
    if (this.options.credentialsFile)
      await writePrivateFile(this.options.credentialsFile, this.credentialsJson(), true);
    await this.#discovery?.hello([discoverable(camera)]);
    return camera;
  }

  /**
   * A camera unplugged: it stops answering discovery and ONVIF at once, with
   * no Bye (a cut cable says nothing). Returns false if there is no such camera.
   */
  async unplug(number: number): Promise<boolean> {
    const server = this.#servers.get(number);
    if (!server) return false;
    this.#servers.delete(number);
    this.#cameras = this.#cameras.filter((c) => c.identity.number !== number);
    await server.close();
    return true;
  }

  async #startDiscovery(host: string, d: SimDiscoveryOptions): Promise<void> {
    const responder = new DiscoveryResponder(
      {
        host,
        port: d.port ?? WS_DISCOVERY_PORT,
        multicast: d.multicast ?? false,
        announceTo: d.announceTo,
        maxProbesPerSecond: d.maxProbesPerSecond,
        log: this.#log.child('discovery'),
        counter: this.counter,
      },
      () => this.#cameras.map(discoverable),
    );
    this.#discovery = responder;
    this.#discoveryPort = await responder.start();
    await responder.hello();
  }

  /** The credentials file content: one entry per camera, secrets included (0600 only). */
  credentialsJson(): string {
    const file: SimCredentialsFile = {
      version: 1,
      cameras: this.#cameras.map((c) => ({
        id: c.identity.id,
        endpointReference: c.identity.endpointReference,
        xaddr: c.xaddr,
        username: c.credentials.username,
        password: c.credentials.password,
      })),
    };
    return JSON.stringify(file, null, 2) + '\n';
  }

  async #stop(reason: string): Promise<void> {
    // Stop after a start in progress has settled, so no server is left listening.
    await this.#starting?.catch((err: unknown) =>
      this.#log.warn('start had failed', { err: String(err) }),
    );
    const discovery = this.#discovery;
    if (discovery) {
      try {
        await discovery.bye();
        await discovery.stop();
      } catch (err) {
        this.#log.error('discovery responder did not stop cleanly', err);
      }
    }
    for (const server of [...this.#servers.values()].reverse()) {
      try {
        await server.close();
      } catch (err) {
        this.#log.error('camera server did not stop cleanly', err);
      }
    }
    this.#log.info('simulated building stopped', { reason, rejected: this.counter.snapshot() });
  }
}

function validateOptions(o: SimulatedBuildingOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.cameras) || o.cameras < 1 || o.cameras > MAX_SIM_CAMERAS)
    problems.push(`cameras: ${o.cameras} is not a whole number from 1 to ${MAX_SIM_CAMERAS}`);
  for (const n of o.h265Only ?? [])
    if (!Number.isInteger(n) || n < 1 || n > o.cameras)
      problems.push(
        `h265Only: camera ${n} does not exist (cameras are numbered 1 to ${o.cameras})`,
      );
  const base = o.httpPortBase ?? 0;
  if (!Number.isInteger(base) || base < 0 || (base > 0 && base + o.cameras - 1 > 65535))
    problems.push(`httpPortBase: ${base} + ${o.cameras} cameras does not fit in 1..65535`);
  if (problems.length > 0) throw new VigieError('config-invalid', problems.join('; '));
}

function discoverable(c: SimCamera): DiscoverableCamera {
  return {
    endpointReference: c.identity.endpointReference,
    xaddrs: [c.xaddr],
    scopes: [
      'onvif://www.onvif.org/type/video_encoder',
      'onvif://www.onvif.org/Profile/Streaming',
      `onvif://www.onvif.org/name/${encodeURIComponent(c.identity.name)}`,
      `onvif://www.onvif.org/hardware/${encodeURIComponent(c.identity.model)}`,
      'onvif://www.onvif.org/location/building/vigie-sim',
    ],
  };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
