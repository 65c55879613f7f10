/**
 * Process matters shared by the long-running commands (docs/STYLE: main owns
 * signals): SIGINT and SIGTERM stop the service cleanly; handlers are
 * installed before start, so a signal during start stops what had started;
 * a failed start stops what started and rejects (the CLI prints the message
 * and its code). Other signals (SIGHUP: reload) are passed in `also`.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from './log.js';

export interface RunUntilSignalOptions {
  /** Where signals come from (default: process). */
  readonly signals?: EventEmitter | undefined;
  readonly log: Logger;
  start(): Promise<unknown>;
  /** Safe twice: called with the signal's name, or 'start-failed'. */
  stop(reason: string): Promise<void>;
  /** Once started (and no signal came during start): say so, call onReady. */
  started(): void;
  /** Other signals and their handlers, installed and removed with SIGINT and SIGTERM. */
  readonly also?: Readonly<Record<string, () => void>>;
}

/** Starts, then resolves once a SIGINT or SIGTERM has stopped everything. */
export async function runUntilSignal(o: RunUntilSignalOptions): Promise<void> {
  const signals = o.signals ?? process;
  let finish: (err?: Error) => void = () => undefined;
  const stopped = new Promise<void>((resolve, reject) => {
    finish = (err) => (err === undefined ? resolve() : reject(err));
  });
  let stopRequested = false;
  const onStop = (signal: string): void => {
    stopRequested = true;
    o.log.info('stopping', { signal });
    o.stop(signal).then(
      () => finish(),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  };
  const handlers: [string, (signal: string) => void][] = [
    ['SIGINT', onStop],
    ['SIGTERM', onStop],
    ...Object.entries(o.also ?? {}),
  ];
  for (const [signal, handler] of handlers) signals.on(signal, handler);
  try {
    await o.start();
    if (stopRequested) return await stopped; // a signal arrived during start
    o.started();
    await stopped;
  } catch (err) {
    await o.stop('start-failed');
    throw err;
  } finally {
    for (const [signal, handler] of handlers) signals.off(signal, handler);
  }
}
