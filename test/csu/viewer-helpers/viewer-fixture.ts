/**
 * A running ViewerServer on loopback for the tests: a throwaway self-signed
 * certificate for 127.0.0.1 (openssl), approved viewers with cheap scrypt
 * hashes, a FakeLiveSessions, a captured log, and a small HTTPS client that
 * keeps cookies like a browser would. Everything is removed in teardown.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { Logger } from '../../../lib/src/log.js';
import { hashPassword } from '../../../lib/src/web/password-hash.js';
import {
  parseViewerConfig,
  type ViewerConfigInput,
} from '../../../csu/src/viewer/viewer-config.js';
import { ViewerServer } from '../../../csu/src/viewer/viewer-server.js';
import type { WebClock } from '../../../lib/src/web/web-clock.js';
import { FakeLiveSessions } from './fake-live-sessions.js';
import type { TestMedia } from './fmp4.js';

export const PASSWORD = 'correct horse battery staple';
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 }; // cheap for tests; production uses 2^15

export async function tempDir(t: Test): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vigie-viewer-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function selfSignedCert(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, 'viewer.crt');
  const keyFile = path.join(dir, 'viewer.key');
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'extendedKeyUsage=serverAuth'],
  ]);
  return { certFile, keyFile };
}

export interface ViewerFixture {
  server: ViewerServer;
  url: string;
  live: FakeLiveSessions;
  logLines: string[];
  /** advanceMs moves both clocks; stepWallMs only the wall clock (a clock step). */
  clock: WebClock & { advanceMs(ms: number): void; stepWallMs(ms: number): void };
}

export async function startViewer(
  t: Test,
  options: { media?: TestMedia | null; config?: Partial<ViewerConfigInput> } = {},
): Promise<ViewerFixture> {
  const dir = await tempDir(t);
  const tls = await selfSignedCert(dir);
  const hash = await hashPassword(PASSWORD, TEST_SCRYPT);
  const now = Date.now();
  const day = 86_400_000;
  const config = parseViewerConfig({
    listen: { host: '127.0.0.1', port: 0 },
    tls,
    viewers: [
      {
        id: 'agent-dupont',
        name: 'Brigadier Dupont',
        approvalRef: 'PP-2026-0042',
        validFrom: new Date(now - day).toISOString(),
        validUntil: new Date(now + day).toISOString(),
        passwordHash: hash,
      },
      {
        id: 'agent-ancien',
        name: 'Gardien Ancien',
        approvalRef: 'PP-2024-0007',
        validFrom: new Date(now - 400 * day).toISOString(),
        validUntil: new Date(now - day).toISOString(),
        passwordHash: hash,
      },
    ],
    ...options.config,
  });
  let offsetMs = 0;
  let wallStepMs = 0;
  const clock = {
    wallMs: () => Date.now() + offsetMs + wallStepMs,
    monoMs: () => performance.now() + offsetMs,
    advanceMs: (ms: number) => void (offsetMs += ms),
    stepWallMs: (ms: number) => void (wallStepMs += ms),
  };
  const logLines: string[] = [];
  const log = new Logger('csu:viewer', { sink: { write: (line) => void logLines.push(line) } });
  const live = new FakeLiveSessions(options.media ?? null);
  t.teardown(() => live.stopAll());
  const server = new ViewerServer({ config, live, log, clock });
  t.teardown(() => server.stop());
  const { url } = await server.start();
  return { server, url, live, logLines, clock };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTPS client with a cookie jar, trusting any certificate (loopback test only). */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  request(
    method: string,
    pathname: string,
    form?: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(pathname, this.base),
        {
          method,
          rejectUnauthorized: false,
          headers: {
            ...(cookie === '' ? {} : { cookie }),
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) this.#store(line);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  get origin(): string {
    return new URL(this.base).origin;
  }

  #store(line: string): void {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }

  /** The CSRF token in the last page's forms. */
  static csrfOf(body: string): string {
    const match = /name="csrf" value="([^"]+)"/.exec(body);
    if (match?.[1] === undefined) throw new Error('no CSRF token in page');
    return match[1];
  }

  async login(viewer = 'agent-dupont', password = PASSWORD): Promise<Reply> {
    const page = await this.request('GET', '/login');
    return this.request('POST', '/login', { csrf: Browser.csrfOf(page.body), viewer, password });
  }
}
