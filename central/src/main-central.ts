/**
 * Process matters for `vigie central` (docs/STYLE: main owns signals):
 * SIGINT and SIGTERM stop the services cleanly, SIGHUP re-reads the policy
 * bundle. Signal handlers are installed before start, so a SIGTERM during
 * start stops what had started. Resolves once stopped; rejects when the
 * configuration or the start fails (the CLI prints the message and its code).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../lib/src/log.js';
import { CentralApp } from './app.js';
import { loadCentralConfig } from './config.js';
import type { ReloadResult } from './policy/policy-publisher.js';

export interface RunCentralOptions {
  /** Where signals come from (default: process). */
  readonly signals?: EventEmitter;
  /** Where the "listening" line goes (default: process.stdout). */
  readonly out?: { write(text: string): unknown };
  /** Called once started, for tests and sd_notify READY later. */
  readonly onReady?: (app: CentralApp) => void;
  /** Called after each SIGHUP reload with its outcome. */
  readonly onReload?: (result: ReloadResult) => void;
}

export async function runCentral(
  configFile: string,
  options: RunCentralOptions = {},
): Promise<void> {
  const config = await loadCentralConfig(configFile);
  const log = new Logger('central', { level: config.logLevel });
  const app = new CentralApp({ config, log });
  const signals = options.signals ?? process;
  const out = options.out ?? process.stdout;
  let finish: (err?: Error) => void = () => undefined;
  const stopped = new Promise<void>((resolve, reject) => {
    finish = (err) => (err === undefined ? resolve() : reject(err));
  });
  let stopRequested = false;
  const onStop = (signal: string): void => {
    stopRequested = true;
    log.info('stopping', { signal });
    app.stop(signal).then(
      () => finish(),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  };
  const onReload = (): void => {
    app.reload().then(
      (result) => {
        log.info('policy reload', { ...result });
        options.onReload?.(result);
      },
      (err: unknown) => log.error('policy reload failed', err),
    );
  };
  signals.on('SIGINT', onStop);
  signals.on('SIGTERM', onStop);
  signals.on('SIGHUP', onReload);
  try {
    await app.start();
    if (stopRequested) return await stopped; // a signal arrived during start
    const { address, port } = app.broker.address;
    out.write(
      `vigie central: MQTT broker listening on mqtts://${address}:${port} (mTLS, TLS 1.3), ` +
        `policy version ${String(app.policyVersion)} published on vigie/v1/policy\n`,
    );
    if (app.register) {
      out.write(
        `vigie central: register ingest listening on port ${app.register.port} (gRPC, mTLS)\n`,
      );
    }
    options.onReady?.(app);
    await stopped;
  } finally {
    signals.off('SIGINT', onStop);
    signals.off('SIGTERM', onStop);
    signals.off('SIGHUP', onReload);
  }
}
