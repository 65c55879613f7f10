/**
 * Process matters for `vigie agent` (STYLE: main owns signals): SIGINT and
 * SIGTERM close every session with `shutdown`, say offline and close the
 * journal. Handlers are installed before start, so a signal during start still
 * stops what had started. Resolves once stopped.
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import { AgentApp } from './app.js';
import { loadAgentConfig } from './config/agent-config.js';

export interface RunAgentOptions {
  readonly signals?: EventEmitter;
  readonly out?: { write(text: string): unknown };
  readonly onReady?: (app: AgentApp) => void;
  readonly version: string;
}

export async function runAgent(configFile: string, options: RunAgentOptions): Promise<void> {
  const config = await loadAgentConfig(configFile);
  const redactor = new Redactor();
  const log = new Logger(`agent:${config.siteId}:${config.boxId}`, {
    level: config.log.level,
    redactor,
  });
  const app = new AgentApp({ config, log, version: options.version, redactor });
  const signals = options.signals ?? process;
  const out = options.out ?? process.stdout;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onStop = (signal: string): void => {
    log.info('stopping', { signal });
    void app.stop('shutdown').finally(resolveStopped);
  };
  signals.on('SIGINT', onStop);
  signals.on('SIGTERM', onStop);
  try {
    await app.start();
    out.write(
      `vigie agent: box ${config.boxId} of site ${config.siteId} started ` +
        `(journal ${config.dataDir}/journal.db, broker ${config.broker.url})\n`,
    );
    options.onReady?.(app);
    await stopped;
  } catch (err) {
    await app.stop('start-failed');
    throw err;
  } finally {
    signals.off('SIGINT', onStop);
    signals.off('SIGTERM', onStop);
  }
}
