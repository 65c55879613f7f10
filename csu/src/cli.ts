/**
 * `vigie csu --config F`: the receiving centre's relay. Heavy modules (TLS tunnel,
 * the relay) are imported only when the command runs.
 */
import type { Command } from 'commander';

export function registerCsuCommands(program: Command): void {
  const csu = program
    .command('csu')
    .description(
      "the receiving centre's relay: verifies tickets, enforces expiry, media in memory only",
    )
    // Its own --config, and the subcommands' options, each where it is written.
    .enablePositionalOptions()
    .option('--config <csu.yaml>', 'relay and viewer configuration (docs/relay.md); required')
    .addHelpText(
      'after',
      `
SIGHUP re-reads the policy bundle (a newer version only); SIGINT/SIGTERM close
every session (relay-closed) and stop.

Example:
  vigie csu --config /etc/vigie/csu.yaml`,
    )
    .action(async (o: { config?: string }) => {
      if (o.config === undefined) {
        csu.error("error: required option '--config <csu.yaml>' not specified");
        return;
      }
      const { loadCsuConfig } = await import('./config.js');
      const { runCsu } = await import('./main-csu.js');
      await runCsu(await loadCsuConfig(o.config));
    });
  csu
    .command('hash-password')
    .description("hashes a viewer's password (scrypt) for the viewers list of csu.yaml")
    .addHelpText(
      'after',
      `
On a terminal it asks twice without echo; otherwise it reads one line on
stdin. At least 12 characters. Prints one line scrypt$N$r$p$salt$hash to put
in the viewer's passwordHash; the password itself is never stored.

Example:
  vigie csu hash-password`,
    )
    .action(async () => {
      const { hashPasswordCommand } = await import('./viewer/hash-password-command.js');
      await hashPasswordCommand({});
    });
}
