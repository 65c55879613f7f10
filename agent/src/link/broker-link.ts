/**
 * The agent's MQTT link to the central broker: mTLS with the box
 * certificate (shared TLS profile), a retained `state` with an `offline` last
 * will, subscriptions to the site's commands and the policy, and reconnection
 * with jittered backoff. It only moves bytes: verification happens in the
 * pipeline, which gets each command's raw payload and its retain flag.
 *
 * The client is built on our own TLS socket (connectTls) rather than with
 * mqtt.connect(): that helper loads every transport mqtt.js has on its first
 * connection (WebSocket with `ws`, SOCKS proxies with `socks`), ~1.7 MB of the
 * box's 80 MB for transports it never uses (docs/design-notes.md).
 */
import { MqttClient, type IClientOptions } from 'mqtt';
import type { TLSSocket } from 'node:tls';
import { connectTls, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Logger } from '../../../lib/src/log.js';
import { JitteredBackoff } from './backoff.js';

/**
 * The broker's service name in its certificate (`vigie pki issue service --name
 * broker`): the box talks to that service only, not to any service of the CA
 * that carries the broker's host name (a relay or register on the same host).
 */
export const BROKER_SERVICE_NAME = 'broker';

export interface BrokerLinkOptions {
  url: string; // mqtts://host:port
  servername: string;
  tls: TlsMaterial;
  clientId: string;
  keepaliveSec: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  subscriptions: readonly string[]; // QoS 1 each
  stateTopic: string;
  offlineState: Buffer; // the last will, retained
  logger: Logger;
  setTimer?: (fn: () => void, ms: number) => NodeJS.Timeout;
}

export interface BrokerLinkHandlers {
  /** A message on a subscribed topic; `retained` is true when the broker replayed a retained message. */
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  /** Connected and subscribed: the place to publish the `online` state. */
  onReady(): void;
  onDown(reason: string): void;
}

export class BrokerLink {
  #client: MqttClient | undefined;
  #stopped = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #backoff: JitteredBackoff;

  constructor(
    readonly options: BrokerLinkOptions,
    readonly handlers: BrokerLinkHandlers,
  ) {
    this.#backoff = new JitteredBackoff({
      minMs: options.reconnectMinMs,
      maxMs: options.reconnectMaxMs,
    });
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  start(): void {
    if (this.#client || this.#stopped) return;
    this.#connect();
  }

  #clientOptions(): IClientOptions {
    const o = this.options;
    return {
      // MQTT 3.1.1: every broker serves it (aedes 1.x speaks no MQTT 5; docs/design-notes.md).
      protocolVersion: 4,
      clientId: o.clientId,
      clean: true,
      keepalive: o.keepaliveSec,
      reconnectPeriod: 0, // we reconnect ourselves, with jitter
      connectTimeout: 15_000,
      will: { topic: o.stateTopic, payload: o.offlineState, qos: 1, retain: true },
    };
  }

  #connect(): void {
    const client = new MqttClient((c) => this.#tlsStream(c), this.#clientOptions());
    this.#client = client;
    client.on('connect', () => {
      this.#backoff.reset();
      this.#subscribe(client);
    });
    client.on('message', (topic, payload, packet) => {
      this.handlers.onMessage(topic, payload, packet.retain);
    });
    client.on('error', (err) => this.options.logger.warn('broker error', { err: err.message }));
    client.on('close', () => this.#onClose(client));
  }

  /**
   * The connection mqtt.js writes to: mTLS with the profile, Nagle off. A
   * failure before the handshake completes is the client's error (logged) and
   * ends the socket, whose close reconnects with backoff.
   */
  #tlsStream(client: MqttClient): TLSSocket {
    const { hostname, port } = new URL(this.options.url);
    const socket = connectTls(this.options.tls, {
      host: hostname,
      port: Number(port),
      servername: this.options.servername,
      expect: { serviceName: BROKER_SERVICE_NAME },
    });
    const early = (err: Error): void => {
      client.emit('error', err);
      socket.end();
    };
    socket.on('error', early);
    socket.once('secureConnect', () => socket.removeListener('error', early));
    return socket;
  }

  #subscribe(client: MqttClient): void {
    const topics = Object.fromEntries(
      this.options.subscriptions.map((t) => [t, { qos: 1 as const }]),
    );
    client.subscribe(topics, (err, granted) => {
      const refused = (granted ?? []).filter((g) => g.qos > 2);
      if (err || refused.length > 0) {
        const why = err?.message ?? `refused: ${refused.map((g) => g.topic).join(', ')}`;
        this.options.logger.error('subscription refused by the broker', undefined, { why });
        client.end(true);
        return;
      }
      this.options.logger.info('connected to the broker', { url: this.options.url });
      this.handlers.onReady();
    });
  }

  #onClose(client: MqttClient): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined); // a late socket error after close must not crash
    this.handlers.onDown('connection closed');
    if (this.#stopped) return;
    const delayMs = this.#backoff.next();
    this.options.logger.info('reconnecting to the broker', { delayMs });
    const setTimer = this.options.setTimer ?? setTimeout;
    this.#reconnectTimer = setTimer(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopped) this.#connect();
    }, delayMs);
  }

  /** QoS 1 publish; resolves when the broker acknowledged it. */
  async publish(topic: string, payload: Buffer, retain = false): Promise<void> {
    const client = this.#client;
    if (!client?.connected) throw new Error(`not connected: cannot publish on ${topic}`);
    await client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /**
   * Publishes the offline state (an orderly stop sends no last will), then
   * disconnects. Bounded: mqtt.js never settles a QoS 1 publish whose
   * connection closes (reconnectPeriod 0), so a broker that goes away or stops
   * answering during the stop must not hold the agent's shutdown forever.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (!client) return;
    let acknowledged = false;
    try {
      if (client.connected) {
        const published = client.publishAsync(this.options.stateTopic, this.options.offlineState, {
          qos: 1,
          retain: true,
        });
        await acknowledgedOrGone(client, published, OFFLINE_ACK_TIMEOUT_MS);
        acknowledged = true;
      }
    } catch (err) {
      this.options.logger.warn('could not publish the offline state', { err: String(err) });
    } finally {
      // Forced without the acknowledgement: a DISCONNECT to a dead peer could wait forever too.
      await client.endAsync(!acknowledged);
    }
  }
}

/** How long an orderly stop waits for the broker to acknowledge the offline state. */
const OFFLINE_ACK_TIMEOUT_MS = 2_000;

/** Settles with `published`, or fails when the connection closes or `timeoutMs` passes first. */
function acknowledgedOrGone(
  client: MqttClient,
  published: Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      client.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = (): void => settle(new Error('connection closed before the acknowledgement'));
    const timer = setTimeout(
      () => settle(new Error(`no acknowledgement within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('close', onClose);
    published.then(
      () => settle(),
      (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
    );
  });
}
