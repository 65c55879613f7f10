/**
 * Stand-in for cli/src/main.ts while `vigie journal` is not yet wired into
 * cli/src/program.ts: the same commands, the same exit codes (0 whole, 1 a
 * VigieError such as journal-broken, 2 usage). Not a test file.
 */
import { Command, CommanderError } from 'commander';
import { isVigieError } from '../../lib/src/errors.js';
import { registerJournalCommands } from '../../agent/src/journal/cli.js';

const program = new Command('vigie').exitOverride();
registerJournalCommands(program);
try {
  await program.parseAsync(process.argv);
  process.exitCode = 0;
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (isVigieError(err)) {
    process.stderr.write(`vigie: ${err.message} [${err.code}]\n`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
