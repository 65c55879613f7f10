/**
 * Process matters for `vigie central` (lib/src/run-until-signal.ts):
 * SIGINT and SIGTERM stop the services cleanly, SIGHUP re-reads the policy
 * bundle. Resolves once stopped; rejects when the
 * configuration or the start fails (the CLI prints the message and its code).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../lib/src/log.js';
import { runUntilSignal } from '../../lib/src/run-until-signal.js';
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
  const out = options.out ?? process.stdout;
  const onReload = (): void => {
    app.reload().then(
      (result) => {
        log.info('policy reload', { ...result });
        options.onReload?.(result);
      },
      (err: unknown) => log.error('policy reload failed', err),
    );
  };
  await runUntilSignal({
    signals: options.signals,
    log,
    start: () => app.start(),
    stop: (reason) => app.stop(reason),
    also: { SIGHUP: onReload },
    started: () => {
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
    },
  });
}
