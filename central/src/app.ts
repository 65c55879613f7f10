/**
 * The one place that wires the central services (docs/STYLE: "one place wires
 * everything"): TLS material, the administrator key and the policy bundle are
 * loaded and checked, then the broker starts, then the policy is published on it. start() and
 * stop(reason) are idempotent; stop() is safe before or during start() and
 * stops what started in reverse order, each service in its own try/catch.
 */
import { loadTlsMaterial } from '../../certs/src/tls-profile.js';
import { readTextFile } from '../../lib/src/files.js';
import type { Logger } from '../../lib/src/log.js';
import { Keyring } from '../../protocol/src/keyring.js';
import { MqttBroker } from './broker/mqtt-broker.js';
import type { CentralConfig } from './config.js';
import { PolicyPublisher, type ReloadResult } from './policy/policy-publisher.js';
import type { RegisterServer } from './register/register-server.js';

interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(reason: string): Promise<void>;
}

export interface CentralAppOptions {
  readonly config: CentralConfig;
  readonly log: Logger;
  /** Overrides config.listen.port (0 picks a free port: tests). */
  readonly port?: number;
  /** Overrides config.register.listen.port (0 picks a free port: tests). */
  readonly registerPort?: number;
}

export class CentralApp {
  readonly #options: CentralAppOptions;
  readonly #started: Service[] = [];
  #broker: MqttBroker | null = null;
  #publisher: PolicyPublisher | null = null;
  #register: RegisterServer | null = null;
  #starting: Promise<void> | null = null;
  #startAttempt: Promise<void> | null = null; // without the stop-on-failure, which awaits it
  #stopping: Promise<void> | null = null;

  constructor(options: CentralAppOptions) {
    this.#options = options;
  }

  get broker(): MqttBroker {
    if (this.#broker === null) throw new Error('the central service is not started');
    return this.#broker;
  }

  /** The register served with the broker, when the configuration has a register section. */
  get register(): RegisterServer | null {
    return this.#register;
  }

  get policyVersion(): number | null {
    return this.#publisher?.version ?? null;
  }

  start(): Promise<void> {
    if (this.#starting === null) {
      const attempt = this.#start();
      this.#startAttempt = attempt;
      this.#starting = attempt.catch(async (err: unknown) => {
        await this.stop('start-failed');
        throw err;
      });
    }
    return this.#starting;
  }

  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  /** Re-reads the policy bundle (SIGHUP); see PolicyPublisher.reload. */
  async reload(): Promise<ReloadResult> {
    if (this.#publisher === null) {
      return { status: 'refused', version: null, reason: 'the central service is not started' };
    }
    return this.#publisher.reload();
  }

  async #start(): Promise<void> {
    const { config, log } = this.#options;
    const material = await loadTlsMaterial(config.tls);
    const adminPem = await readTextFile(config.policy.adminPublicKeyFile, 'administrator key');
    const adminKeyring = Keyring.fromPems([
      { kid: config.policy.adminKid, publicKeyPem: adminPem },
    ]);
    const broker = new MqttBroker({
      host: config.listen.host,
      port: this.#options.port ?? config.listen.port,
      tls: material,
      log: log.child('broker'),
    });
    const publisher = new PolicyPublisher({
      bundleFile: config.policy.bundleFile,
      adminKeyring,
      publish: (topic, payload) => broker.publishRetained(topic, payload),
      log: log.child('policy'),
    });
    this.#broker = broker;
    this.#publisher = publisher;
    // Refuse a bad bundle before listening: no box should meet a broker without a policy.
    await publisher.prepare();
    const services: Service[] = [
      { name: 'broker', start: () => broker.start(), stop: (r) => broker.stop(r) },
      { name: 'policy', start: () => publisher.start(), stop: (r) => publisher.stop(r) },
    ];
    if (config.register) {
      // Imported only when served: grpc-js and the store stay out of a broker-only central.
      const { RegisterServer } = await import('./register/register-server.js');
      const register = new RegisterServer({
        config: config.register,
        log: log.child('register'),
        alarmPublisher: { publish: (topic, payload) => broker.publish(topic, payload) },
        ...(this.#options.registerPort === undefined ? {} : { port: this.#options.registerPort }),
      });
      this.#register = register;
      services.push({
        name: 'register',
        start: async () => void (await register.start()),
        stop: (r) => register.stop(r),
      });
    }
    for (const service of services) {
      if (this.#stopping !== null) return;
      this.#started.push(service);
      await service.start();
    }
  }

  async #stop(reason: string): Promise<void> {
    await this.#startAttempt?.catch((err: unknown) => {
      this.#options.log.debug('stopping after a failed start', () => ({ err: String(err) }));
    });
    for (const service of [...this.#started].reverse()) {
      try {
        await service.stop(reason);
      } catch (err) {
        this.#options.log.error(`stopping ${service.name} failed`, err, { reason });
      }
    }
  }
}
