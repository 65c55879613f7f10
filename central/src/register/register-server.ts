/**
 * The register as one service (docs/register.md): its TLS material and its
 * store, then the gRPC ingest service, then the read-only web page when the
 * configuration has a `web` section (docs/register-reading.md). Served inside `vigie central` (with
 * alarms on the broker) or alone by `vigie register serve` (alarms logged).
 * Constructors store; start() and stop() are safe twice, stop() before start()
 * finished is safe, and stop() closes what started in reverse order.
 */
import { loadTlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Logger } from '../../../lib/src/log.js';
import { RegisterAlarms, type AlarmPublisher } from './register-alarms.js';
import { openRegisterStore, type RegisterConfig } from './register-config.js';
import type { RegisterStore } from './register-port.js';
import { RegisterIngestService } from './ingest-service.js';
import type { RegisterWebServer } from './read/web/register-web-server.js';

export interface RegisterServerOptions {
  readonly config: RegisterConfig;
  readonly log: Logger;
  /** The central's broker when it runs in this process: alarms are published there too. */
  readonly alarmPublisher?: AlarmPublisher | null;
  /** Overrides config.listen.port (0: a free port, for tests). */
  readonly port?: number;
  readonly clocks?: { wallNowMs(): number; monoNowMs(): number };
}

export class RegisterServer {
  readonly #options: RegisterServerOptions;
  #store: RegisterStore | null = null;
  #service: RegisterIngestService | null = null;
  #web: RegisterWebServer | null = null;
  #webUrl: string | null = null;
  #starting: Promise<number> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: RegisterServerOptions) {
    this.#options = options;
  }

  get port(): number {
    if (!this.#service) throw new Error('the register is not started');
    return this.#service.port;
  }

  /** The web page's address once started, null without a `web` section. */
  get webUrl(): string | null {
    return this.#webUrl;
  }

  get store(): RegisterStore {
    if (!this.#store) throw new Error('the register is not started');
    return this.#store;
  }

  start(): Promise<number> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #start(): Promise<number> {
    const { config, log } = this.#options;
    const clocks = this.#options.clocks ?? {
      wallNowMs: () => Date.now(),
      monoNowMs: () => performance.now(),
    };
    const tls = await loadTlsMaterial(config.tls);
    this.#store = await openRegisterStore(config, clocks, log);
    if (this.#stopping) return 0;
    const alarms = new RegisterAlarms(
      log.child('alarms'),
      this.#options.alarmPublisher ?? null,
      () => clocks.wallNowMs(),
    );
    this.#service = new RegisterIngestService({
      listen: { host: config.listen.host, port: this.#options.port ?? config.listen.port },
      tls,
      store: this.#store,
      alarms,
      log: log.child('ingest'),
      limits: { maxBatchEntries: config.maxBatchEntries, maxBatchBytes: config.maxBatchBytes },
      checkpointEveryMs: config.checkpointEveryMs,
      maxConcurrentBatches: config.maxConcurrentBatches,
      monoNowMs: () => clocks.monoNowMs(),
    });
    const port = await this.#service.start();
    if (config.web && !this.#stopping) {
      // Loaded only when configured: the page's modules stay out of an ingest-only register.
      const { RegisterWebServer } = await import('./read/web/register-web-server.js');
      this.#web = new RegisterWebServer(
        config.web,
        this.#store,
        { wallMs: () => clocks.wallNowMs(), monoMs: () => clocks.monoNowMs() },
        log.child('web'),
      );
      this.#webUrl = (await this.#web.start()).url;
      log.info('register page listening', { url: this.#webUrl });
    }
    return port;
  }

  async #stop(reason: string): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const steps: [string, () => Promise<void> | undefined][] = [
      ['web page', () => this.#web?.stop()],
      ['ingest service', () => this.#service?.stop(reason)],
      ['store', () => this.#store?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.#options.log.error(`stopping the register: ${name} failed`, err, { reason });
      }
    }
  }
}
