/**
 * Process matters for `vigie register web` (the page alone, beside a register
 * served elsewhere or an auditor's copy; lib/src/run-until-signal.ts): SIGINT
 * and SIGTERM stop it and close its store.
 * Rejects when the configuration or the start fails (the CLI prints the
 * message and its code).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../../../../lib/src/log.js';
import { runUntilSignal } from '../../../../../lib/src/run-until-signal.js';
import { SYSTEM_WEB_CLOCK } from '../../../../../lib/src/web/web-clock.js';
import { loadRegisterConfig, openRegisterStore } from '../../register-config.js';
import { resolveRegisterWebConfig } from '../register-web-config.js';
import { RegisterWebServer } from './register-web-server.js';

export interface RunRegisterWebOptions {
  readonly signals?: EventEmitter;
  readonly out?: { write(text: string): unknown };
  readonly onReady?: (server: RegisterWebServer, url: string) => void;
}

export async function runRegisterWeb(
  configFile: string,
  options: RunRegisterWebOptions = {},
): Promise<void> {
  const config = await loadRegisterConfig(configFile);
  const webConfig = resolveRegisterWebConfig(config.web, configFile);
  const log = new Logger('register:web', { level: config.logLevel });
  const store = await openRegisterStore(config, { wallNowMs: () => Date.now() }, log);
  const server = new RegisterWebServer(webConfig, store, SYSTEM_WEB_CLOCK, log);
  let url = '';
  await runUntilSignal({
    signals: options.signals,
    log,
    start: async () => ({ url } = await server.start()),
    stop: async () => {
      await server.stop();
      await store.close();
    },
    started: () => {
      (options.out ?? process.stdout).write(
        `vigie register web: ${url} (${webConfig.users.length} users, ${store.backend} store)\n`,
      );
      options.onReady?.(server, url);
    },
  });
}
