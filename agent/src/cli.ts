/**
 * `vigie agent`: the edge box service, and `vigie journal`: its local journal.
 */
import type { Command } from 'commander';
import { registerJournalCommands } from './journal/index.js';
import { runAgent } from './main-agent.js';

export function registerAgentCommands(program: Command, version: string): void {
  const agent = program
    .command('agent')
    .description('the edge box: verifies signed commands, runs sessions, journals every step')
    // Its own --config, and `agent discover --config`'s, each where it is written.
    .enablePositionalOptions()
    .option('--config <agent.yaml>', 'agent configuration (docs/agent.md); required')
    .addHelpText(
      'after',
      `
The agent refuses to start on an invalid configuration and prints every
problem as path: message. SIGINT/SIGTERM close every session (reason shutdown).

Example:
  vigie agent --config /etc/vigie/agent.yaml`,
    )
    .action(async (o: { config?: string }) => {
      if (o.config === undefined) {
        agent.error("error: required option '--config <agent.yaml>' not specified");
        return;
      }
      await runAgent(o.config, { version });
    });
  agent
    .command('discover')
    .description("finds the box's cameras and checks them against the annex (read-only)")
    .requiredOption('--config <agent.yaml>', 'agent configuration with a cameras section')
    .option('--json', 'print the inventory as JSON instead of a table')
    .addHelpText(
      'after',
      `
One inventory cycle, as the running agent does it: probes the camera LAN
(directed probes, and multicast on the camera-LAN interface when enabled),
describes each camera over ONVIF with its own credentials, and matches it to
the annex of the policy the box holds, by ONVIF identity. Writes nothing.

Statuses: present (annexed, H.264 live view), MISSING (annexed, not answering),
UNUSABLE (answers discovery but not ONVIF: credentials, timeout), H265-ONLY
(browsers cannot show it), CONFLICT (two devices claim one identity), not
annexed (never transmitted).

Example:
  vigie agent discover --config /etc/vigie/agent.yaml`,
    )
    .action(async (o: { config: string; json?: boolean }) => {
      const { discover } = await import('./cameras/discover-command.js');
      await discover({ config: o.config, json: o.json });
    });
  agent
    .command('register-resume')
    .description(
      'send the journal to the register again after the box stopped it (docs/register.md)',
    )
    .requiredOption('--config <agent.yaml>', 'agent configuration with a register section')
    .option(
      '--forget-checkpoint',
      'also forget the kept checkpoint (a register rebuilt on purpose)',
    )
    .action(async (o: { config: string; forgetCheckpoint?: boolean }) => {
      const { registerResume } = await import('./register/register-resume-command.js');
      process.stdout.write(
        await registerResume({ config: o.config, forgetCheckpoint: o.forgetCheckpoint === true }),
      );
    });
  registerJournalCommands(program);
}
