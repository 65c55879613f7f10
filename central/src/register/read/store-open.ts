/**
 * The register store a reading command works on: the one a configuration
 * names (`--config register.yaml|central.yaml`), or a register file given
 * directly (`--db FILE --key FILE`: an auditor's copy, with the register key
 * that signs its checkpoints). Heavy modules load only when a command runs.
 */
import os from 'node:os';
import type { KeyObject } from 'node:crypto';
import { VigieError } from '../../../../lib/src/errors.js';
import type { Logger } from '../../../../lib/src/log.js';
import type { RegisterStore } from '../register-port.js';

export interface StoreOptions {
  config?: string;
  db?: string;
  key?: string;
  kid?: string;
}

export interface Clocks {
  wallNowMs(): number;
}

async function sqliteStore(
  file: string,
  registerKey: KeyObject,
  kid: string,
  clocks: Clocks,
  log: Logger,
): Promise<RegisterStore> {
  const { createRegisterStore } = await import('../register-factory.js');
  return createRegisterStore(
    { backend: 'sqlite', file },
    { registerKey, kid, clocks, logger: log.child('store') },
  );
}

/** Opens the store named by the options; exactly one of --config or --db. */
export async function openReadStore(
  o: StoreOptions,
  clocks: Clocks,
  log: Logger,
): Promise<RegisterStore> {
  if (Boolean(o.config) === Boolean(o.db)) {
    throw new VigieError(
      'config-invalid',
      'give exactly one of --config FILE (register.yaml or central.yaml) or --db FILE --key FILE',
    );
  }
  const config = await import('../register-config.js');
  if (o.config) {
    const loaded = await config.loadRegisterConfig(o.config);
    return config.openRegisterStore(loaded, clocks, log);
  }
  if (!o.key) {
    throw new VigieError(
      'config-invalid',
      '--db needs --key FILE: the register key that signs its checkpoints (Ed25519, mode 0600)',
    );
  }
  const key = await config.readRegisterKey(o.key);
  const store = await sqliteStore(o.db ?? '', key, o.kid ?? 'register-1', clocks, log);
  await store.open();
  return store;
}

/** Who runs the command, for the access log: the OS user on this host. */
export function osUser(): string {
  let name = process.env.USER ?? 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry (a container with an arbitrary uid): keep $USER.
    name = process.env.USER ?? `uid-${process.getuid?.() ?? '?'}`;
  }
  return `${name}@${os.hostname()}`;
}
