/**
 * Process matters for `vigie csu` (STYLE: main owns signals): the relay starts
 * with its TLS material, the boxes CA and the verified policy; SIGHUP re-reads
 * the policy (a newer version only); SIGINT and SIGTERM close every session
 * (Close{relay-closed}) and stop. Resolves once stopped.
 */
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { VigieError } from '../../lib/src/errors.js';
import { readTextFile } from '../../lib/src/files.js';
import { Logger } from '../../lib/src/log.js';
import { loadTlsMaterial } from '../../certs/src/tls-profile.js';
import type { CsuConfig } from './config.js';
import { loadAdminKeyring, readRelayPolicy } from './relay/policy-file.js';
import { Relay, systemClocks } from './relay/relay.js';
import { ViewerServer } from './viewer/viewer-server.js';

export interface RunCsuOptions {
  readonly signals?: EventEmitter;
  readonly out?: { write(text: string): unknown };
  readonly log?: Logger;
  readonly onReady?: (relay: Relay) => void;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

async function loadCertificates(file: string): Promise<X509Certificate[]> {
  const pem = await readTextFile(file, 'boxes CA certificate');
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) {
    throw new VigieError('tls-material-invalid', `${file} holds no PEM certificate`);
  }
  return blocks.map((b) => new X509Certificate(b));
}

/** Builds a started relay from the configuration (tests and the bench use it too). */
export async function startRelay(config: CsuConfig, log: Logger): Promise<Relay> {
  const tls = await loadTlsMaterial(config.tls);
  const boxesCa = await loadCertificates(config.tls.boxesCaFile);
  const keyring = await loadAdminKeyring(config.policy);
  const policy = await readRelayPolicy(config.policy, keyring);
  const relay = new Relay({
    recipientId: config.recipientId,
    tls,
    boxesCa,
    listen: config.listen,
    limits: config.limits,
    clocks: systemClocks,
    log,
  });
  relay.setPolicy(policy);
  if (!policy.recipient(config.recipientId)) {
    log.warn('this recipient is not in the policy: every ticket will be refused', {
      recipientId: config.recipientId,
      policyVersion: policy.version,
    });
  }
  await relay.start();
  return relay;
}

export async function runCsu(config: CsuConfig, options: RunCsuOptions = {}): Promise<void> {
  const log = options.log ?? new Logger(`csu:${config.recipientId}`, { level: config.log.level });
  const signals = options.signals ?? process;
  const out = options.out ?? process.stdout;
  let relay: Relay | null = null;
  let viewer: ViewerServer | null = null;
  const stopAll = async (): Promise<void> => {
    await viewer?.stop();
    await relay?.stop();
  };
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onStop = (signal: string): void => {
    log.info('stopping', { signal });
    void stopAll().finally(resolveStopped);
  };
  const onHup = (): void => {
    void (async () => {
      const current = relay?.policy;
      if (!relay || !current) return;
      try {
        const keyring = await loadAdminKeyring(config.policy);
        const next = await readRelayPolicy(config.policy, keyring, current.version);
        relay.setPolicy(next);
        log.info('policy reloaded', { version: next.version });
      } catch (err) {
        log.error('policy reload refused; the policy in force stays', err);
      }
    })();
  };
  signals.on('SIGINT', onStop);
  signals.on('SIGTERM', onStop);
  signals.on('SIGHUP', onHup);
  try {
    relay = await startRelay(config, log);
    out.write(
      `vigie csu: relay of ${config.recipientId} listening on ${config.listen.host}:${relay.port} ` +
        `(policy version ${relay.policy?.version ?? '?'})\n`,
    );
    if (config.viewer) {
      viewer = new ViewerServer({ config: config.viewer, live: relay, log: log.child('viewer') });
      const { url } = await viewer.start();
      out.write(
        `vigie csu: viewer for ${config.viewer.viewers.length} approved viewer(s) at ${url}\n`,
      );
    }
    options.onReady?.(relay);
    await stopped;
  } finally {
    signals.off('SIGINT', onStop);
    signals.off('SIGTERM', onStop);
    signals.off('SIGHUP', onHup);
    await stopAll();
  }
}
