/**
 * Process matters for `vigie register serve` (main owns signals): SIGINT and
 * SIGTERM stop the register cleanly. Handlers are installed before start, so a
 * SIGTERM during start stops what had started. Rejects when the configuration
 * or the start fails (the CLI prints the message and its code).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../../lib/src/log.js';
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
    server.stop(signal).then(
      () => finish(),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  };
  signals.on('SIGINT', onStop);
  signals.on('SIGTERM', onStop);
  try {
    const port = await server.start();
    if (stopRequested) return await stopped;
    out.write(
      `vigie register: ingest listening on ${config.listen.host}:${port} (gRPC, mTLS, TLS 1.3), ` +
        `${config.database.backend} store\n`,
    );
    options.onReady?.(server);
    await stopped;
  } catch (err) {
    await server.stop('start-failed');
    throw err;
  } finally {
    signals.off('SIGINT', onStop);
    signals.off('SIGTERM', onStop);
  }
}
