/**
 * The embedded MQTT broker: aedes behind one mTLS listener with the shared
 * TLS profile (TLS 1.3, our CA bundle, client certificate required, CRLs),
 * and the authorisation of aedes-hooks.ts.
 *
 * aedes 1.2 speaks MQTT 3.1 and 3.1.1 only: an MQTT 5 CONNECT is answered
 * with CONNACK 1 (unacceptable protocol version). Clients of this broker use
 * protocolVersion 4; see docs/central.md.
 *
 * Lifecycle (docs/STYLE): the constructor stores; start() and stop(reason) are
 * idempotent, and stop() is safe before or during start().
 */
import { once, type EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { tlsClientRefusal } from '../../../certs/src/peer-auth.js';
import { serverTlsOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import { VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import { authorisationHooks } from './aedes-hooks.js';
import { RefusalCounter, type RefusalCounts } from './refusal-counter.js';

export interface MqttBrokerOptions {
  readonly host: string;
  readonly port: number; // 0 picks a free port (tests)
  readonly tls: TlsMaterial;
  readonly log: Logger;
}

export class MqttBroker {
  readonly #options: MqttBrokerOptions;
  readonly #refusals = new RefusalCounter();
  #aedes: Aedes | null = null;
  #server: tls.Server | null = null;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: MqttBrokerOptions) {
    this.#options = options;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  /** The bound address once started (the real port when configured with 0). */
  get address(): AddressInfo {
    const address = this.#server?.address();
    if (address === null || address === undefined || typeof address === 'string') {
      throw new Error('the MQTT broker is not listening');
    }
    return address;
  }

  get refusals(): RefusalCounts {
    return this.#refusals.snapshot();
  }

  /** Publishes as the broker itself: bypasses authorizePublish (used for the policy). */
  async publishRetained(topic: string, payload: Buffer): Promise<void> {
    await this.#publish(topic, payload, true);
  }

  /** Publishes an event as the broker itself, QoS 1, not retained (the register's alarms). */
  async publish(topic: string, payload: Buffer): Promise<void> {
    await this.#publish(topic, payload, false);
  }

  async #publish(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    const aedes = this.#aedes;
    if (aedes === null) throw new Error('the MQTT broker is not started');
    await new Promise<void>((resolve, reject) => {
      aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  async #start(): Promise<void> {
    const { log } = this.#options;
    const hooks = authorisationHooks({
      anchors: this.#options.tls,
      log: log.child('auth'),
      refusals: this.#refusals,
    });
    const aedes = await Aedes.createBroker(hooks);
    this.#aedes = aedes;
    aedes.on('clientError', (client, err) => {
      log.debug('client error', () => ({ clientId: client.id, error: err.message }));
    });
    aedes.on('connectionError', (_client, err) => {
      log.debug('connection error', () => ({ error: err.message }));
    });
    // aedes emits 'error' (e.g. from its will sweeper) without declaring it in its types.
    const emitter: EventEmitter = aedes;
    emitter.on('error', (err: unknown) => log.error('broker error', err));
    const server = this.#createServer(aedes);
    this.#server = server;
    if (this.#stopping !== null) return; // stop() arrived during createBroker
    await this.#listen(server);
    const { address, port } = this.address;
    log.info('MQTT broker listening', { address, port, tls: 'TLSv1.3 mTLS' });
  }

  #createServer(aedes: Aedes): tls.Server {
    const server = tls.createServer(
      serverTlsOptions(this.#options.tls, { requireClientCert: true }),
      (socket) => {
        // Node 20 ignores the server's noDelay for TLS sockets; see docs/pki.md (Nagle).
        socket.setNoDelay(true);
        aedes.handle(socket);
      },
    );
    server.on('tlsClientError', (err, socket) => {
      this.#refusals.add('tls');
      this.#options.log.warn('refused TLS client', { ...tlsClientRefusal(err, socket) });
    });
    return server;
  }

  async #listen(server: tls.Server): Promise<void> {
    const { host, port } = this.#options;
    server.listen(port, host);
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([e]) => Promise.reject(e as Error)),
      ]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new VigieError(
        'central-listen-failed',
        `cannot listen for MQTT on ${host}:${port}: ${code}`,
        { cause: err },
      );
    }
  }

  async #stop(reason: string): Promise<void> {
    await this.#starting?.catch((err: unknown) => {
      this.#options.log.debug('stopping a broker whose start failed', () => ({ err: String(err) }));
    });
    const server = this.#server;
    const aedes = this.#aedes;
    const closed = server?.listening ? once(server, 'close') : Promise.resolve();
    server?.close();
    if (aedes !== null) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closed;
    this.#options.log.info('MQTT broker stopped', { reason });
  }
}
