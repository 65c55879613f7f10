/**
 * `vigie register ...`: `serve` runs the register alone (gRPC ingest over
 * mTLS) and `keygen` makes its checkpoint signing key. The reading commands
 * (list, show, annotate, export, verify, web) come from read/cli.ts. Modules
 * are imported when a command runs: grpc-js and the store stay out of every
 * other command.
 */
import type { Command } from 'commander';
import { registerReadCommands } from './read/cli.js';

export function registerRegisterCommands(program: Command): void {
  const register = program
    .command('register')
    .description(
      'the central register: ingest of every journal, and reading it (docs/register.md)',
    );
  register
    .command('serve')
    .description('run the register alone: gRPC ingest over mTLS (central.yaml or register.yaml)')
    .requiredOption('--config <file>', 'register.yaml, or central.yaml with a register section')
    .action(async (opts: { config: string }) => {
      const { runRegister } = await import('./main-register.js');
      await runRegister(opts.config);
    });
  register
    .command('keygen')
    .description('make the register key that signs checkpoints (Ed25519, private key mode 0600)')
    .requiredOption('--out <dir>', 'directory for KID.key and KID.pub')
    .option('--kid <kid>', 'key id written in every checkpoint', 'register-1')
    .action(async (opts: { out: string; kid: string }) => {
      const { generateKeyFiles } = await import('../../../protocol/src/keygen.js');
      const result = await generateKeyFiles(opts.kid, opts.out);
      process.stdout.write(
        [
          `kid:         ${result.kid}`,
          `private key: ${result.keyFile} (mode 0600: the register's signing.keyFile)`,
          `public key:  ${result.pubFile} (each box's register.publicKeyFile)`,
          '',
        ].join('\n'),
      );
    });
  registerReadCommands(register);
}
