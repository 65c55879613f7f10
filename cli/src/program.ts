/**
 * The one `vigie` command line. Each deployable contributes its subcommands
 * from its own `cli.ts`; this file only groups them by role for `--help`.
 */
import { Command } from 'commander';
import { registerAgentCommands } from '../../agent/src/cli.js';
import { registerPkiCommands } from '../../certs/src/cli.js';
import { registerCentralCommands } from '../../central/src/cli.js';
import { registerRegisterCommands } from '../../central/src/register/cli.js';
import { registerOperatorCommands } from '../../central/src/console/cli.js';
import { registerCsuCommands } from '../../csu/src/cli.js';
import { registerProtocolCommands } from '../../protocol/src/cli.js';
import { registerSimCommands } from '../../sim/src/cli.js';

export function buildProgram(version: string): Command {
  const program = new Command('vigie')
    .description(
      'Vigie: time-boxed, signed and audited live transmission of EMH building cameras\n' +
        'to the receiving centres (CSU, DIPN), as set by the partnership convention.',
    )
    .version(version, '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      '\nEvery command has its own help: vigie <command> --help\nDocs: docs/ in the source tree.',
    );

  program.commandsGroup('Operators (EMH watch room):');
  registerOperatorCommands(program);

  program.commandsGroup('Services:');
  registerCentralCommands(program);
  registerRegisterCommands(program);
  registerAgentCommands(program, version);
  registerCsuCommands(program);

  program.commandsGroup('Administration (EMH administrator):');
  registerPkiCommands(program);
  registerProtocolCommands(program);

  program.commandsGroup('Laboratory:');
  registerSimCommands(program);
  // Set last, so commands do not inherit it (`vigie pki init --dir D` keeps
  // pki's --dir after its subcommand); `agent` and `csu` enable it themselves,
  // which needs it here: `vigie agent --config F` and `vigie agent discover
  // --config F` each get their own option.
  program.enablePositionalOptions();
  return program;
}
