/**
 * `vigie central ...`: thin commander wiring. `vigie central --config F` runs
 * the broker and publishes the policy until SIGINT/SIGTERM (SIGHUP re-reads
 * the policy); `vigie central mosquitto-config` writes a Mosquitto
 * configuration and ACL for sites that run Mosquitto instead.
 */
import type { Command } from 'commander';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`not a TCP port: ${value}`);
  return n;
}

interface MosquittoOptions {
  policy: string;
  adminKey: string;
  adminKid: string;
  operator: string[];
  publisher: string;
  out: string;
  host: string;
  port: number;
  tlsDir: string;
}

function registerMosquittoConfig(central: Command): void {
  central
    .command('mosquitto-config')
    .description('write mosquitto.conf and its ACL for the boxes of a signed policy bundle')
    .requiredOption('--policy <file>', 'signed policy bundle (verified before use)')
    .requiredOption('--admin-key <file>', 'administrator public key (PEM)')
    .requiredOption('--admin-kid <kid>', 'key id of the administrator key')
    .option('--operator <cn>', 'CN of an operator or admin certificate (repeat)', collect, [])
    .option('--publisher <name>', 'service name (CN) that publishes the policy', 'central')
    .option('--host <address>', 'listener address', '127.0.0.1')
    .option('--port <port>', 'listener port', port, 8883)
    .option(
      '--tls-dir <dir>',
      'directory holding ca-bundle.pem, chain.pem, key.pem, crl-bundle.pem',
      '/etc/mosquitto/vigie',
    )
    .requiredOption('--out <dir>', 'directory for mosquitto.conf and acl (replaced)')
    .action(async (opts: MosquittoOptions) => {
      const { readVerifiedPolicy, writeMosquittoSetup } =
        await import('./mosquitto/mosquitto-setup.js');
      const policy = await readVerifiedPolicy(opts.policy, opts.adminKey, opts.adminKid);
      const tls = (name: string): string => `${opts.tlsDir}/${name}`;
      const setup = await writeMosquittoSetup({
        outDir: opts.out,
        policy,
        consoleUsers: opts.operator,
        policyPublisher: opts.publisher,
        conf: {
          host: opts.host,
          port: opts.port,
          caFile: tls('ca-bundle.pem'),
          certFile: tls('chain.pem'),
          keyFile: tls('key.pem'),
          crlFile: tls('crl-bundle.pem'),
        },
      });
      const lines = [
        `wrote ${setup.confFile}`,
        `wrote ${setup.aclFile} (${setup.boxUsers} boxes, ${opts.operator.length} console users, policy version ${policy.version})`,
        ...setup.sitesWithoutBoxes.map(
          (site) => `warning: site ${site} names no box (boxIds): no box can serve it`,
        ),
        'reminder: Mosquitto cannot refuse retained commands; the agents refuse them (reason "retained")',
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

export function registerCentralCommands(program: Command): void {
  const central = program
    .command('central')
    .description('EMH headquarters: the MQTT broker (mTLS) and the signed policy (docs/central.md)')
    .option('--config <file>', 'central.yaml (see docs/central.md for every key)')
    .action(async (opts: { config?: string }, cmd: Command) => {
      if (opts.config === undefined) {
        cmd.help({ error: true });
        return;
      }
      // Imported when run: the broker (aedes) stays out of every other command.
      const { runCentral } = await import('./main-central.js');
      await runCentral(opts.config);
    });
  registerMosquittoConfig(central);
}
