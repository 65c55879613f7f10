/**
 * Starts Debian's Mosquitto for a test, on a loopback port, from a config
 * file (e.g. one written by writeMosquittoSetup), and kills it by pid in
 * teardown. Waits on events (log output, process exit, TCP connect), never
 * on fixed sleeps. Usable by other suites (the agent's Mosquitto run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { nextEvent, waitForPort } from '../certs/helpers.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** `false` when Mosquitto is installed, else the reason to skip. */
export const mosquittoSkip: false | string = existsSync(MOSQUITTO)
  ? false
  : `${MOSQUITTO} is missing: install Debian's mosquitto package to run the broker tests`;

export interface MosquittoProcess {
  readonly child: ChildProcess;
  /** Everything Mosquitto logged so far. */
  log(): string;
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = nextEvent(child, 'exit', 5000);
  process.kill(child.pid, 'SIGTERM');
  await exited.catch(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  });
}

export async function startMosquitto(
  t: Test,
  confFile: string,
  port: number,
): Promise<MosquittoProcess> {
  const child = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => stopByPid(child));
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (log += chunk));
  const early = nextEvent(child, 'exit', 15_000).then(([code]) => {
    throw new Error(`mosquitto exited (${String(code)}) before listening:\n${log}`);
  });
  try {
    await Promise.race([waitForPort(port), early]);
  } finally {
    early.catch(() => undefined);
  }
  return { child, log: () => log };
}
