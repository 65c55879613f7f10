/**
 * `vigie register list|show|annotate|export|verify|sources|access-log|
 * purge-access-log`: reading the central register (issue 6). Every command
 * records who read what in the access log before it shows anything; exports
 * need --why and --to-whom. The store and the formatting modules are loaded
 * only when a command runs.
 */
import { Option, type Command } from 'commander';
import type { Logger } from '../../../../lib/src/log.js';
import type * as Actions from './read-actions.js';
import type { RegisterStore } from '../register-port.js';
import type { StoreOptions } from './store-open.js';

const actions = (): Promise<typeof Actions> => import('./read-actions.js');

type Lang = 'fr' | 'en';

function storeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--config <file>', 'register.yaml, or central.yaml with a register section').env(
        'VIGIE_REGISTER_CONFIG',
      ),
    )
    .option('--db <file>', 'a register SQLite file instead (an auditor’s copy); needs --key')
    .option('--key <file>', 'with --db: the register key (Ed25519 PEM, mode 0600)')
    .option('--kid <kid>', 'with --db: its key id', 'register-1')
    .addOption(
      new Option('--lang <lang>', 'language of the output').choices(['fr', 'en']).default('fr'),
    );
}

function filterOptions(cmd: Command): Command {
  return cmd
    .option(
      '--from <date>',
      'start: 2026-11-29 (Paris day), 2026-11-29T14:30 (Paris) or ISO with Z',
    )
    .option('--to <date>', 'end: a day is included whole; an instant is excluded')
    .option('--site <site>', 'one site (building)')
    .option('--camera <id>', 'transmissions that include this camera')
    .option('--recipient <id>', 'one recipient (csu-metz, dipn-57...)')
    .option('--operator <kid>', 'one operator key id');
}

/** Opens the store, runs `fn` with a reading context, closes the store whatever happens. */
async function withStore(
  o: StoreOptions & { from?: string; to?: string },
  fn: (ctx: Actions.ReadContext, store: RegisterStore) => Promise<void>,
): Promise<void> {
  // Arguments first: a mistyped date is told before anything is opened.
  (await import('./queries.js')).parsePeriod(o.from, o.to);
  const { openReadStore, osUser } = await import('./store-open.js');
  const { Logger: LoggerClass } = await import('../../../../lib/src/log.js');
  const log: Logger = new LoggerClass('register:read', { level: 'warn' });
  const store = await openReadStore(o, { wallNowMs: () => Date.now() }, log);
  try {
    const ctx = {
      store,
      who: osUser(),
      now: () => new Date(),
      out: (text: string) => void process.stdout.write(text + '\n'),
    };
    await fn(ctx, store);
  } finally {
    await store.close();
  }
}

const EXAMPLES = `
Examples:
  export VIGIE_REGISTER_CONFIG=/etc/vigie/register.yaml
  vigie register list --from 2026-11-01 --to 2026-11-30 --site borny-hauts
  vigie register show 1b4e28ba-2fa1-41d2-883f-0016d3cca427
  vigie register annotate 1b4e28ba-2fa1-41d2-883f-0016d3cca427 --outcome "deux interpellations"
  vigie register export --from 2026-11-01 --to 2026-11-30 --format pdf \\
     --why "contrôle annuel CNIL" --to-whom "DPO EMH" --out registre-2026-11.pdf
  vigie register verify
  vigie register sources
  vigie register access-log --from 2026-11-01
  vigie register purge-access-log
  vigie register web --config /etc/vigie/register.yaml
  vigie register verify --db copie-register.sqlite --key register-1.key`;

export function registerReadCommands(register: Command): void {
  register.addHelpText('after', EXAMPLES);

  filterOptions(storeOptions(register.command('list')))
    .description(
      'transmissions of a period (default: all), one line each; recorded in the access log',
    )
    .option('--why <text>', 'why you consult (kept in the access log)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        o: StoreOptions & Actions.FilterOptions & { json?: boolean; lang: Lang; why?: string },
      ) => withStore(o, async (ctx) => (await actions()).listTransmissions(ctx, o)),
    );

  storeOptions(register.command('show <session>'))
    .description('one transmission: every field, the viewers, the outcome and its timeline')
    .option('--why <text>', 'why you consult (kept in the access log)')
    .option('--json', 'machine-readable output')
    .action(
      async (session: string, o: StoreOptions & { json?: boolean; lang: Lang; why?: string }) =>
        withStore(o, async (ctx) => (await actions()).showSession(ctx, session, o)),
    );

  storeOptions(register.command('annotate <session>'))
    .description(
      'record the outcome of the intervention the receiving centre reported (history kept)',
    )
    .requiredOption('--outcome <text>', 'what came of the intervention (up to 2,000 characters)')
    .option('--author <name>', 'who records it (default: your login)')
    .action(async (session: string, o: StoreOptions & { outcome: string; author?: string }) =>
      withStore(o, async (ctx) => (await actions()).annotateSession(ctx, session, o)),
    );

  filterOptions(storeOptions(register.command('export')))
    .description(
      'extract the register or the access log to a CSV or PDF file (recorded with why and to whom)',
    )
    .addOption(
      new Option('--format <format>', 'file format').choices(['csv', 'pdf']).makeOptionMandatory(),
    )
    .addOption(
      new Option('--kind <kind>', 'what to extract')
        .choices(['transmissions', 'access-log'])
        .default('transmissions'),
    )
    .option('--why <text>', 'reason for the extraction (required; kept three years)')
    .option('--to-whom <recipient>', 'who receives the extraction (required)')
    .requiredOption('--out <file>', 'file to write (never overwritten)')
    .action(
      async (
        o: StoreOptions &
          Actions.FilterOptions & {
            format: 'csv' | 'pdf';
            kind: 'transmissions' | 'access-log';
            why?: string;
            toWhom?: string;
            out: string;
            lang: Lang;
          },
      ) => {
        const { requireReason } = await import('./exports.js');
        requireReason(o.why, o.toWhom); // before opening anything
        await withStore(o, async (ctx) => (await actions()).exportToFile(ctx, o));
      },
    );

  storeOptions(register.command('verify'))
    .description(
      're-check every chain, signed head and checkpoint; says where anything is wrong (exit 1)',
    )
    .option('--json', 'machine-readable output')
    .action(async (o: StoreOptions & { json?: boolean }) =>
      withStore(o, async (ctx) => (await actions()).verifyRegisterCommand(ctx, o)),
    );

  storeOptions(register.command('sources'))
    .description('every box and relay the register holds, with its integrity status')
    .option('--json', 'machine-readable output')
    .action(async (o: StoreOptions & { json?: boolean; lang: Lang }) =>
      withStore(o, async (ctx) => (await actions()).listSources(ctx, o)),
    );

  storeOptions(register.command('access-log'))
    .description('who consulted or extracted the register, when, why, for whom, which cameras')
    .option('--from <date>', 'start (Paris day or ISO)')
    .option('--to <date>', 'end (a day is included whole)')
    .option('--json', 'machine-readable output')
    .action(async (o: StoreOptions & { from?: string; to?: string; json?: boolean; lang: Lang }) =>
      withStore(o, async (ctx) => (await actions()).showAccessLog(ctx, o)),
    );

  register
    .command('web')
    .description('serve the read-only register page alone (HTTPS, named users; the web section)')
    .requiredOption('--config <file>', 'register.yaml, or central.yaml with a register.web section')
    .action(async (o: { config: string }) => {
      const { runRegisterWeb } = await import('./web/run-register-web.js');
      await runRegisterWeb(o.config);
    });

  storeOptions(register.command('purge-access-log'))
    .description(
      'remove access-log entries older than three years, with a purge record (the only deletion)',
    )
    .action(async (o: StoreOptions) =>
      withStore(o, async (ctx) => (await actions()).purgeAccessLog(ctx)),
    );
}
