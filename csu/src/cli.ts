/**
 * `vigie csu --config F`: the receiving centre's relay. Heavy modules (gRPC,
 * the relay) are imported only when the command runs.
 */
import type { Command } from 'commander';

export function registerCsuCommands(program: Command): void {
  program
    .command('csu')
    .description(
      "the receiving centre's relay: verifies tickets, enforces expiry, media in memory only",
    )
    .requiredOption('--config <csu.yaml>', 'relay configuration (docs/relay.md)')
    .addHelpText(
      'after',
      `
SIGHUP re-reads the policy bundle (a newer version only); SIGINT/SIGTERM close
every session (relay-closed) and stop.

Example:
  vigie csu --config /etc/vigie/csu.yaml`,
    )
    .action(async (o: { config: string }) => {
      const { loadCsuConfig } = await import('./config.js');
      const { runCsu } = await import('./main-csu.js');
      await runCsu(await loadCsuConfig(o.config));
    });
}
