/**
 * One place wires the agent (STYLE): identity, journal, recovery, policy,
 * pipeline, sessions and the broker link, started in that order and stopped in
 * reverse. Constructors only store; start() and stop() are safe to call twice.
 */
import { randomUUID, createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadTlsMaterial, type TlsMaterial } from '../../certs/src/tls-profile.js';
import { isVigieError } from '../../lib/src/errors.js';
import { readTextFile } from '../../lib/src/files.js';
import type { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import type { InventoryStatus } from '../../protocol/src/agent-state.js';
import type { AlarmCode } from '../../protocol/src/alarms.js';
import type { AgentEvent } from '../../protocol/src/events.js';
import { Keyring } from '../../protocol/src/keyring.js';
import {
  BROADCAST_CMD_TOPIC,
  POLICY_TOPIC,
  cmdTopic,
  evtTopic,
  stateTopic,
} from '../../protocol/src/topics.js';
import {
  CAMERA_RESTORED,
  CameraInventory,
  inventoryState,
  type InventoryChange,
} from './cameras/camera-inventory.js';
import { CredentialStore } from './cameras/credential-store.js';
import { ClockTrustChecker } from './clock/clock-trust-checker.js';
import { syncCheck } from './clock/ntp-sync.js';
import { SystemClocks } from './clock/system-clocks.js';
import type { AgentConfig } from './config/agent-config.js';
import {
  journalFileIn,
  SqliteJournal,
  SqliteKeyValues,
  SqliteReplayStore,
} from './journal/index.js';
import { unavailableStores, type AgentStores } from './journal/unavailable-stores.js';
import { BrokerLink } from './link/broker-link.js';
import { CommandVerifier } from './pipeline/command-verifier.js';
import { PolicyKeeper } from './policy/policy-keeper.js';
import type { Clocks } from './ports.js';
import { AgentEvents } from './sessions/agent-events.js';
import { CommandProcessor } from './sessions/command-processor.js';
import { JOURNAL_TYPES } from './sessions/journal-types.js';
import { findUnclosedSessions, recoverAfterRestart } from './sessions/restart-recovery.js';
import { SessionManager } from './sessions/session-manager.js';
import type { Transmitter } from './sessions/transmitter.js';
import type { CameraDirectory, CameraStream } from './media/feed.js';
import { FfmpegMediaFeeds } from './media/media-feeds.js';
import { TunnelTransmitter } from './tunnel/tunnel-transmitter.js';
import { offlineState, onlineState } from './state.js';
import type { RegisterOutbox } from './register/outbox.js';

/** Which alarm a loss of coverage raises, by the camera's new status. */
const LOSS_ALARMS: Partial<Record<InventoryStatus, AlarmCode>> = {
  'annexed-missing': 'camera-offline',
  'annexed-unusable': 'camera-unusable',
  'h265-only': 'camera-unusable',
  'identity-conflict': 'camera-identity-mismatch',
};

/** No genuine "now" can be earlier than this build (a box whose RTC restarts in 1970). */
export const BUILD_TIME_MS = Date.parse('2026-11-29T00:00:00Z');
const REPLAY_PURGE_EVERY_MS = 3_600_000; // hourly; ids live minutes (command lifetime + skew)

export interface AgentAppOptions {
  config: AgentConfig;
  log: Logger;
  version: string;
  clocks?: Clocks;
  /** The redactor of `log`: camera passwords are registered with it as they are read. */
  redactor?: Redactor;
  /** Tests of the session logic alone replace the tunnel; a box always uses TunnelTransmitter. */
  transmitter?: Transmitter;
}

/** The directory of a box without a cameras section: nothing can be shown. */
const NO_CAMERAS: CameraDirectory = {
  liveStream: (cameraId) => ({
    unavailable: `${cameraId}: this box has no cameras section in its configuration`,
  }),
};

interface Parts {
  tls: TlsMaterial;
  journal: AgentStores['journal'];
  replay: AgentStores['replay'];
  kv: AgentStores['kv'];
  keeper: PolicyKeeper;
  manager: SessionManager;
  processor: CommandProcessor;
  verifier: CommandVerifier;
  link: BrokerLink;
  cameras: CameraInventory | undefined;
  feeds: FfmpegMediaFeeds;
  transmitter: Transmitter;
}

export class AgentApp {
  readonly bootId = randomUUID();
  readonly clocks: Clocks;
  #parts: Parts | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #clockSynced = false;
  #purgeTimer: NodeJS.Timeout | undefined;
  #outbox: RegisterOutbox | undefined;
  readonly #startedMonoMs: number;
  readonly #redactor: Redactor;

  constructor(readonly options: AgentAppOptions) {
    this.#redactor = options.redactor ?? new Redactor();
    this.clocks = options.clocks ?? new SystemClocks();
    this.#startedMonoMs = this.clocks.monoNowMs();
  }

  get sessions(): SessionManager['sessions'] {
    return this.#parts?.manager.sessions ?? [];
  }

  /** The camera inventory, when the configuration has a `cameras` section. */
  get cameras(): CameraInventory | undefined {
    return this.#parts?.cameras;
  }

  get connected(): boolean {
    return this.#parts?.link.connected ?? false;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { config } = this.options;
    const tls = await loadTlsMaterial(config.tls);
    const adminPem = await readTextFile(config.admin.publicKeyFile, 'administrator public key');
    const adminKeyring = Keyring.fromPems([{ kid: config.admin.kid, publicKeyPem: adminPem }]);
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    // Read before anything else starts: a credentials file others can read stops the start.
    const credentials = config.cameras
      ? await CredentialStore.load(config.cameras.credentialsFile, this.#redactor)
      : undefined;
    const { journal, replay, kv } = this.#openStores(tls);
    const knownSessionIds = this.#recover(journal, tls);
    this.#parts = this.#build({ tls, journal, replay, kv, adminKeyring, credentials });
    this.#parts.manager.rememberSessionIds(knownSessionIds);
    await this.#loadKeptPolicy();
    this.#parts.manager.start();
    this.#purgeReplayIds();
    // Replay ids are kept until their command's expiry plus skew, then forgotten.
    this.#purgeTimer = setInterval(() => this.#purgeReplayIds(), REPLAY_PURGE_EVERY_MS).unref();
    this.#parts.link.start();
    await this.#startOutbox(this.#parts);
    await this.#parts.cameras?.start();
  }

  /** The register's outbox is exposed for tests and the state; undefined without a register section. */
  get outbox(): RegisterOutbox | undefined {
    return this.#outbox;
  }

  /**
   * The journal's forwarding to the central register, when configured: loaded
   * only then (grpc-js and proto-loader weigh on an idle box's memory).
   */
  async #startOutbox(parts: Parts): Promise<void> {
    const { config, log } = this.options;
    const register = config.register;
    if (!register || !(parts.journal instanceof SqliteJournal)) return;
    if (!(parts.kv instanceof SqliteKeyValues)) return;
    const { RegisterOutbox } = await import('./register/outbox.js');
    const pem = await readTextFile(register.publicKeyFile, 'register public key');
    const events = this.#events();
    this.#outbox = new RegisterOutbox({
      config: register,
      source: config.boxId,
      bootId: this.bootId,
      journal: parts.journal,
      kv: parts.kv,
      tls: parts.tls,
      signingKey: createPrivateKey(parts.tls.key),
      registerKey: createPublicKey(pem),
      dataDir: config.dataDir,
      wallNowMs: () => this.clocks.wallNowMs(),
      log: log.child('outbox'),
      onAlarm: (code, severity, detail) => this.#alarm(events.alarm(code, severity, detail)),
      onJournal: (type, data) => this.#journalQuietly(type, data),
    });
    this.#outbox.start();
  }

  /** The journal database, or fail-closed stand-ins when it cannot be opened at all. */
  #openStores(tls: TlsMaterial): AgentStores {
    const { config, log } = this.options;
    const file = journalFileIn(config.dataDir);
    const journal = new SqliteJournal({
      file,
      source: config.boxId,
      bootId: this.bootId,
      signingKey: createPrivateKey(tls.key),
      clocks: this.clocks,
      logger: log.child('journal'),
    });
    const replay = new SqliteReplayStore({ file });
    const kv = new SqliteKeyValues({ file });
    try {
      journal.open();
      replay.open();
      kv.open();
      return { journal, replay, kv };
    } catch (err) {
      if (!isVigieError(err, 'journal-unwritable')) throw err;
      for (const store of [kv, replay, journal]) store.close();
      log.error('journal cannot be opened: starting fail closed, every open refused', err);
      return unavailableStores(err.message);
    }
  }

  /**
   * Rule 4, before anything can act: close in the journal what a crash left
   * open; reconnect nothing. On a journal that cannot be written (disk full,
   * read-only) the agent still starts, fail closed: every open is refused with
   * `journal-unwritable` and its state says so, which tells the watch room
   * more than a box that stays offline. The unclosed ids are still known, so
   * they can never be opened again.
   */
  #recover(journal: AgentStores['journal'], tls: TlsMaterial): string[] {
    const { config, log } = this.options;
    const types = [JOURNAL_TYPES.openAccepted, JOURNAL_TYPES.opened, JOURNAL_TYPES.closed];
    try {
      journal.append('agent.started', {
        version: this.options.version,
        clockSync: config.clockSync,
        certificateNotAfter: new Date(tls.leaf.validTo).toISOString(),
      });
      const recovery = recoverAfterRestart(journal.entriesOfTypes(types), journal);
      if (recovery.closed.length > 0) {
        log.warn('sessions left open by the previous run closed with agent-restart', {
          sessions: recovery.closed,
        });
      }
      return [...recovery.knownSessionIds];
    } catch (err) {
      if (!isVigieError(err, 'journal-unwritable')) throw err;
      log.error('journal unwritable at start: every open will be refused', err);
      return findUnclosedSessions(journal.entriesOfTypes(types)).known;
    }
  }

  #build(base: {
    tls: TlsMaterial;
    journal: AgentStores['journal'];
    replay: AgentStores['replay'];
    kv: AgentStores['kv'];
    adminKeyring: Keyring;
    credentials: CredentialStore | undefined;
  }): Parts {
    const { config, log } = this.options;
    const { tls, journal, replay, kv } = base;
    const events = new AgentEvents(config.siteId, config.boxId, this.clocks);
    const isSynced = syncCheck(config.clockSync);
    const clockTrust = new ClockTrustChecker({
      isSynced: () => (this.#clockSynced = isSynced()),
      buildTimeMs: BUILD_TIME_MS,
      lastTrusted: { get: () => kv.lastTrustedWallMs(), set: (ms) => kv.recordTrustedWallMs(ms) },
      onAlarm: (alarm) => this.#alarm(events.alarm(alarm.alarm, alarm.severity, alarm.detail)),
    });
    const verifier = new CommandVerifier({
      siteId: config.siteId,
      boxId: config.boxId,
      clocks: this.clocks,
      clockTrust,
      replay,
      log: log.child('pipeline'),
      onStoreFailure: (detail) =>
        this.#alarm(events.alarm('journal-unwritable', 'critical', detail)),
    });
    const keeper = new PolicyKeeper(
      base.adminKeyring,
      config.policyFile ?? path.join(config.dataDir, 'policy.json'),
    );
    const cameras =
      config.cameras && base.credentials
        ? new CameraInventory({
            config: config.cameras,
            credentials: base.credentials,
            annex: () =>
              keeper.current?.sites.find((site) => site.id === config.siteId)?.cameras ?? null,
            log: log.child('cameras'),
            monotonicMs: () => this.clocks.monoNowMs(),
            onChange: (_items, changes) => this.#inventoryChanged(changes),
            redact: (text) => this.#redactor.redact(text),
          })
        : undefined;
    const feeds = new FfmpegMediaFeeds({
      remux: { ffmpegPath: config.media.ffmpegPath },
      warmCache: config.media.warmCache,
      logger: log,
      redactor: this.#redactor,
    });
    // The manager is built after the transmitter that calls back into it.
    const callbacks = { manager: undefined as SessionManager | undefined };
    const transmitter =
      this.options.transmitter ??
      new TunnelTransmitter({
        tls,
        boxId: config.boxId,
        policy: () => keeper.current,
        feeds,
        cameras: cameras ?? NO_CAMERAS,
        callbacks: {
          closeSession: (id, reason) => void callbacks.manager?.closeSession(id, reason),
          viewerEvent: (id, event) => callbacks.manager?.recordTunnelEvent(id, event),
        },
        clocks: this.clocks,
        log: log.child('tunnel'),
        graceMs: config.media.tunnelGraceSec * 1000,
      });
    const manager = new SessionManager({
      siteId: config.siteId,
      boxId: config.boxId,
      clocks: this.clocks,
      journal,
      transmitter,
      certificates: {
        boxNotAfterMs: Date.parse(tls.leaf.validTo),
        relayNotAfterMs: () => undefined,
      },
      log: log.child('sessions'),
      maxSessions: config.maxSessions,
      events: { publish: (event) => this.#publishEvent(event, true) },
    });
    callbacks.manager = manager;
    const processor = new CommandProcessor({ verifier, manager, journal, events, log });
    const link = new BrokerLink(
      {
        url: config.broker.url,
        servername: config.broker.servername,
        tls,
        clientId: `box:${config.siteId}:${config.boxId}`,
        keepaliveSec: config.broker.keepaliveSec,
        reconnectMinMs: config.broker.reconnectMinMs,
        reconnectMaxMs: config.broker.reconnectMaxMs,
        subscriptions: [cmdTopic(config.siteId), BROADCAST_CMD_TOPIC, POLICY_TOPIC],
        stateTopic: stateTopic(config.siteId),
        offlineState: json(offlineState(config.siteId, config.boxId, this.clocks)),
        logger: log.child('link'),
      },
      {
        onMessage: (topic, payload, retained) =>
          this.#enqueue(() => this.#onMessage(topic, payload, retained)),
        onReady: () => this.#publishState(),
        onDown: (reason) => log.warn('broker link down', { reason }),
      },
    );
    return {
      tls,
      journal,
      replay,
      kv,
      keeper,
      manager,
      processor,
      verifier,
      link,
      cameras,
      feeds,
      transmitter,
    };
  }

  /**
   * Instant open (media.warmCache): a warm remux of every annexed, present,
   * transmissible camera, in memory only; cameras that leave that set stop.
   */
  #warmAnnexedCameras(): void {
    const parts = this.#parts;
    if (!parts?.cameras || !this.options.config.media.warmCache || this.#stopping) return;
    const streams: CameraStream[] = [];
    for (const item of parts.cameras.items) {
      if (item.cameraId === null || !item.transmissible) continue;
      const stream = parts.cameras.liveStream(item.cameraId);
      if (!('unavailable' in stream)) streams.push(stream);
    }
    parts.feeds.warm(streams).catch((err: unknown) => {
      this.options.log.error('warm cache not updated', err);
    });
  }

  /**
   * Coverage lost or restored and unknown devices are journaled (the parties
   * must be told when coverage is lost); losses and strangers are alarms too.
   * The retained state carries the whole inventory.
   */
  #inventoryChanged(changes: readonly InventoryChange[]): void {
    this.#warmAnnexedCameras();
    const events = this.#events();
    for (const change of changes) {
      const { item } = change;
      const data = {
        camera: item.cameraId,
        endpointUrn: item.identity.endpointUrn ?? null,
        from: change.from,
        status: item.status,
        reason: item.reason,
      };
      switch (change.kind) {
        case 'coverage-lost':
          this.#alarm(
            events.alarm(LOSS_ALARMS[item.status] ?? 'camera-offline', 'critical', item.reason),
            data,
          );
          break;
        case 'coverage-restored':
          this.#journalQuietly(CAMERA_RESTORED, data);
          break;
        case 'unknown-device':
          this.#alarm(events.alarm('camera-not-annexed-seen', 'warning', item.reason), data);
          break;
      }
    }
    this.#publishState();
  }

  #purgeReplayIds(): void {
    this.#enqueue(() => {
      const purged = this.#parts?.verifier.purgeReplayIds() ?? 0;
      if (purged > 0) this.options.log.debug('replay ids purged', () => ({ purged }));
      return Promise.resolve();
    });
  }

  /** Messages are handled one at a time, in arrival order. */
  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((err: unknown) => {
      this.options.log.error('message handling failed', err);
    });
  }

  async #onMessage(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const parts = this.#parts;
    if (!parts || this.#stopping) return;
    if (topic === POLICY_TOPIC) {
      await this.#applyPolicy(payload);
      return;
    }
    const event = await parts.processor.process(payload, { retained });
    this.#publishEvent(event, false);
    this.#publishState();
  }

  async #loadKeptPolicy(): Promise<void> {
    const parts = this.#parts;
    if (!parts) return;
    const outcome = await parts.keeper.loadKept();
    if (outcome?.kind === 'applied') await this.#policyApplied(outcome.policy.version, 'kept');
    else if (outcome?.kind === 'refused') {
      this.options.log.error('the kept policy bundle is refused', undefined, { ...outcome });
    }
  }

  async #applyPolicy(bytes: Buffer): Promise<void> {
    const parts = this.#parts;
    if (!parts) return;
    const outcome = await parts.keeper.offer(bytes);
    switch (outcome.kind) {
      case 'unchanged':
        return;
      case 'refused':
        this.#journalQuietly('policy.refused', { code: outcome.code, message: outcome.message });
        this.#alarm(
          this.#events().alarm('policy-rejected', 'warning', `${outcome.code}: ${outcome.message}`),
        );
        return;
      case 'applied':
        await this.#policyApplied(outcome.policy.version, 'broker');
        if (outcome.keptError) {
          this.options.log.error('policy applied but not kept', undefined, {
            why: outcome.keptError,
          });
        }
    }
  }

  async #policyApplied(version: number, from: 'kept' | 'broker'): Promise<void> {
    const parts = this.#parts;
    const policy = parts?.keeper.current;
    if (!parts || !policy) return;
    // Applied before it is journaled: a revocation must take effect even when
    // the journal cannot be written (that failure raises its own alarm).
    await parts.processor.setPolicy(policy);
    this.#journalQuietly('policy.applied', { version, from });
    parts.cameras?.rematch();
    this.options.log.info('policy applied', { version, from });
    this.#publishState();
  }

  #events(): AgentEvents {
    return new AgentEvents(this.options.config.siteId, this.options.config.boxId, this.clocks);
  }

  /** Journals a fact whose act already happened; a failure is logged, never thrown. */
  #journalQuietly(type: string, data: Record<string, unknown>): void {
    try {
      this.#parts?.journal.append(type, data);
    } catch (err) {
      this.options.log.error(`could not journal ${type}`, err);
    }
  }

  #alarm(event: AgentEvent, extra: Record<string, unknown> = {}): void {
    try {
      this.#parts?.journal.append(JOURNAL_TYPES.alarm, { ...event, ...extra });
    } catch (err) {
      this.options.log.error('could not journal an alarm', err, { alarm: event.type });
    }
    this.#publishEvent(event, true);
  }

  #publishEvent(event: AgentEvent, refreshState: boolean): void {
    const parts = this.#parts;
    if (!parts?.link.connected) return; // journaled already; the register carries it
    parts.link.publish(evtTopic(this.options.config.siteId), json(event)).catch((err: unknown) => {
      this.options.log.warn('event not published', { type: event.type, err: String(err) });
    });
    if (refreshState) this.#publishState();
  }

  #publishState(): void {
    const parts = this.#parts;
    if (!parts?.link.connected) return;
    const { config } = this.options;
    const state = onlineState(
      {
        siteId: config.siteId,
        boxId: config.boxId,
        bootId: this.bootId,
        agentVersion: this.options.version,
        policyVersion: parts.keeper.current?.version ?? null,
        clockSynced: this.#clockSynced,
        journalWritable: parts.journal.writable,
        sessions: parts.manager.sessions,
        startedMonoMs: this.#startedMonoMs,
        inventory: inventoryState(parts.cameras?.items ?? []),
      },
      this.clocks,
    );
    parts.link.publish(stateTopic(config.siteId), json(state), true).catch((err: unknown) => {
      this.options.log.warn('state not published', { err: String(err) });
    });
  }

  /** Closes every session (shutdown), says offline, closes the journal. Safe twice. */
  stop(reason = 'shutdown'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    await this.#starting?.catch(() => undefined); // stop-before-start-finished is safe
    const parts = this.#parts;
    if (!parts) return;
    const { log } = this.options;
    clearInterval(this.#purgeTimer);
    const steps: [string, () => Promise<void> | void][] = [
      ['cameras', () => parts.cameras?.stop()],
      ['sessions', () => parts.manager.stop()],
      [
        'tunnels',
        () =>
          parts.transmitter instanceof TunnelTransmitter ? parts.transmitter.stop() : undefined,
      ],
      ['media', () => parts.feeds.stop('shutdown')],
      ['queue', () => this.#queue],
      ['link', () => parts.link.stop()],
      ['register outbox', () => this.#outbox?.stop()],
      ['journal entry', () => void parts.journal.append('agent.stopped', { reason })],
      ['key/values', () => parts.kv.close()],
      ['replay store', () => parts.replay.close()],
      ['journal', () => parts.journal.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        log.error(`stop: ${name} failed`, err);
      }
    }
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
