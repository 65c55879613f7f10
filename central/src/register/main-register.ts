/**
 * Process matters for `vigie register serve` (lib/src/run-until-signal.ts):
 * SIGINT and SIGTERM stop the register cleanly. Rejects when the
 * configuration or the start fails (the CLI prints the message and its code).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../../lib/src/log.js';
import { runUntilSignal } from '../../../lib/src/run-until-signal.js';
import { loadRegisterConfig } from './register-config.js';
import { RegisterServer } from './register-server.js';

export interface RunRegisterOptions {
  readonly signals?: EventEmitter;
  readonly out?: { write(text: string): unknown };
  readonly onReady?: (server: RegisterServer) => void;
}

export async function runRegister(
  configFile: string,
  options: RunRegisterOptions = {},
): Promise<void> {
  const config = await loadRegisterConfig(configFile);
  const log = new Logger('register', { level: config.logLevel });
  const server = new RegisterServer({ config, log });
  let port = 0;
  await runUntilSignal({
    signals: options.signals,
    log,
    start: async () => (port = await server.start()),
    stop: (reason) => server.stop(reason),
    started: () => {
      (options.out ?? process.stdout).write(
        `vigie register: ingest listening on ${config.listen.host}:${port} (gRPC, mTLS, TLS 1.3), ` +
          `${config.database.backend} store\n`,
      );
      options.onReady?.(server);
    },
  });
}
