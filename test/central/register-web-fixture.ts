/**
 * A RegisterWebServer on loopback for the tests (not a test file): a
 * throwaway self-signed certificate, two users with cheap scrypt hashes (one
 * whose access has expired), hand-fired timers, a captured log. Stopped in
 * teardown.
 */
import type { Test } from 'tap';
import { Logger } from '../../lib/src/log.js';
import { hashPassword } from '../../lib/src/web/password-hash.js';
import {
  parseRegisterWebConfig,
  type RegisterWebConfigInput,
} from '../../central/src/register/read/register-web-config.js';
import { RegisterWebServer } from '../../central/src/register/read/web/register-web-server.js';
import type { RegisterStore } from '../../central/src/register/register-port.js';
import { selfSignedCert, tempDir, TEST_SCRYPT } from '../csu/viewer-helpers/viewer-fixture.js';
import { ManualTimers } from './register-read-fixture.js';

export const AUDITOR = {
  login: 'dpo-emh',
  name: 'Claire Dubois',
  password: 'registre très secret',
};

export interface RegisterWebFixture {
  readonly server: RegisterWebServer;
  readonly url: string;
  readonly timers: ManualTimers;
  readonly logLines: string[];
  readonly clock: { wallMs(): number; monoMs(): number; advanceMs(ms: number): void };
}

export async function startRegisterWeb(
  t: Test,
  store: RegisterStore,
  options: { config?: Partial<RegisterWebConfigInput>; wallStartMs?: number } = {},
): Promise<RegisterWebFixture> {
  const dir = await tempDir(t);
  const tls = await selfSignedCert(dir);
  const scryptHash = await hashPassword(AUDITOR.password, TEST_SCRYPT);
  const config = parseRegisterWebConfig({
    listen: { host: '127.0.0.1', port: 0 },
    tls,
    users: [
      { login: AUDITOR.login, name: AUDITOR.name, scryptHash },
      {
        login: 'auditeur-ancien',
        name: 'Ancien Auditeur',
        scryptHash,
        validUntil: '2020-01-01T00:00:00Z',
      },
    ],
    ...options.config,
  });
  let offsetMs = 0;
  const wallStart = options.wallStartMs ?? Date.now();
  const monoStart = performance.now();
  const clock = {
    wallMs: () => wallStart + (performance.now() - monoStart) + offsetMs,
    monoMs: () => performance.now() + offsetMs,
    advanceMs: (ms: number) => void (offsetMs += ms),
  };
  const logLines: string[] = [];
  const log = new Logger('register:web', { sink: { write: (line) => void logLines.push(line) } });
  const timers = new ManualTimers();
  const server = new RegisterWebServer(config, store, clock, log, timers);
  t.teardown(() => server.stop());
  const { url } = await server.start();
  return { server, url, timers, logLines, clock };
}
