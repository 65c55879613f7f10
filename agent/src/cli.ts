/**
 * `vigie agent`: the edge box service, and `vigie journal`: its local journal.
 */
import type { Command } from 'commander';
import { registerJournalCommands } from './journal/index.js';
import { runAgent } from './main-agent.js';

export function registerAgentCommands(program: Command, version: string): void {
  program
    .command('agent')
    .description('the edge box: verifies signed commands, runs sessions, journals every step')
    .requiredOption('--config <agent.yaml>', 'agent configuration (docs/agent.md)')
    .addHelpText(
      'after',
      `
The agent refuses to start on an invalid configuration and prints every
problem as path: message. SIGINT/SIGTERM close every session (reason shutdown).

Example:
  vigie agent --config /etc/vigie/agent.yaml`,
    )
    .action(async (o: { config: string }) => {
      await runAgent(o.config, { version });
    });
  registerJournalCommands(program);
}
