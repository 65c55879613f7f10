/**
 * Fixtures for the PKI and TLS tests: throwaway PKIs in temp directories
 * (removed in teardown), issued leaves, material for the TLS profile, and
 * bounded waits on events. Nothing here sleeps: waits end on an event or a
 * timeout.
 */
import { once, type EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { initPki, type InitPkiOptions } from '../../certs/src/pki-init.js';
import { issueCertificate, type IssueOptions } from '../../certs/src/pki-issue.js';
import { pkiPaths, type PkiPaths } from '../../certs/src/pki-layout.js';
import type { IssueRequest } from '../../certs/src/leaf-request.js';
import { loadTlsMaterial, type TlsMaterial } from '../../certs/src/tls-profile.js';

export async function tempDir(t: Test, prefix = 'vigie-certs-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestPki {
  paths: PkiPaths;
  /** Issues a leaf into a fresh directory and returns that directory. */
  issue(
    request: IssueRequest,
    options?: Partial<Omit<IssueOptions, 'dir' | 'request'>>,
  ): Promise<string>;
  /** TLS material for a leaf directory, trusting this PKI's bundles. */
  material(
    leafDir: string,
    options?: { crlFile?: string | null; now?: Date },
  ): Promise<TlsMaterial>;
}

export async function makePki(
  t: Test,
  options: Partial<Omit<InitPkiOptions, 'dir'>> = {},
): Promise<TestPki> {
  const base = await tempDir(t);
  const paths = pkiPaths(path.join(base, 'pki'));
  await initPki({ dir: paths.dir, ...options });
  let counter = 0;
  return {
    paths,
    async issue(request, issueOptions = {}) {
      const outDir = path.join(base, `leaf-${++counter}`);
      await issueCertificate({ dir: paths.dir, request, outDir, ...issueOptions });
      return outDir;
    },
    async material(leafDir, materialOptions = {}) {
      return loadTlsMaterial(
        {
          caFile: paths.caBundle,
          certFile: path.join(leafDir, 'chain.pem'),
          keyFile: path.join(leafDir, 'key.pem'),
          crlFile:
            materialOptions.crlFile === undefined ? paths.crlBundle : materialOptions.crlFile,
        },
        materialOptions.now,
      );
    },
  };
}

export const BOX = { kind: 'box', siteId: 'residence-les-tilleuls', boxId: 'gw-01' } as const;
export const BROKER = {
  kind: 'service',
  name: 'broker',
  dns: ['localhost'],
  ips: ['127.0.0.1'],
} as const;
export const VIEWER = { kind: 'person', displayName: 'Jeanne Dupont', role: 'viewer' } as const;

/** Resolves with the event's arguments, or rejects after `timeoutMs`. */
export async function nextEvent(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 5000,
): Promise<unknown[]> {
  return once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await nextEvent(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await nextEvent(server, 'close');
  return port;
}

/** Polls a TCP connect to 127.0.0.1:port every 50 ms until it succeeds or `timeoutMs` passes. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = net.connect({ host: '127.0.0.1', port });
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    socket.destroy();
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // poll interval, not a wait for an outcome
  }
}

export async function readText(file: string): Promise<string> {
  return fs.readFile(file, 'utf8');
}
