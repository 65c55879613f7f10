/**
 * `vigie op ...`: the EMH operators' console, command-line first. Every
 * command is signed with the operator's key and answered by the box itself;
 * refusals are printed in words a person understands (French by default).
 */
import type { Command as Cli } from 'commander';
import { Option } from 'commander';
import { VigieError } from '../../../lib/src/errors.js';
import { PURPOSES, type Purpose } from '../../../protocol/src/purposes.js';
import { parseDurationSec } from './duration.js';
import type * as OpActions from './op-actions.js';
/** The console's actions (MQTT, TLS, signing), loaded only when a command runs. */
const actions = (): Promise<typeof OpActions> => import('./op-actions.js');

const CONFIG_HELP = 'console configuration';

function configOption(): Option {
  return new Option('--config <op.yaml>', CONFIG_HELP).env('VIGIE_OP_CONFIG').makeOptionMandatory();
}

export function registerOperatorCommands(program: Cli): void {
  const op = program
    .command('op')
    .description('operator console: open, extend and close transmissions (EMH watch room)')
    .addHelpText(
      'after',
      `
Examples:
  export VIGIE_OP_CONFIG=/etc/vigie/op.yaml
  vigie op open --site borny-hauts --camera cam-01,cam-02 --to csu-metz \\
     --purpose occupation-parties-communes --trigger occupation --call-ref CSU-2026-0042 --ttl 20m
  vigie op sessions
  vigie op extend 1b4e28ba-2fa1-41d2-883f-0016d3cca427 --ttl 40m
  vigie op close 1b4e28ba-2fa1-41d2-883f-0016d3cca427
  vigie op close-all --site borny-hauts`,
    );

  op.command('open')
    .description('open a transmission after the phone call with the receiving centre')
    .addOption(configOption())
    .requiredOption('--site <site>', 'site (building) id')
    .requiredOption('--camera <ids>', 'camera ids, comma-separated')
    .requiredOption('--to <recipient>', 'recipient id from the policy (e.g. csu-metz, dipn-57)')
    .addOption(
      new Option('--purpose <purpose>', 'purpose (article 2)')
        .choices(PURPOSES)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--trigger <trigger>', 'trigger')
        .choices(['occupation', 'urgence'])
        .makeOptionMandatory(),
    )
    .option('--officer <name>', 'deciding officer (required with --trigger urgence)')
    .requiredOption('--call-ref <ref>', 'reference of the phone call in the watch-room log')
    .requiredOption('--ttl <duration>', 'requested duration, e.g. 20m (the box may grant less)')
    .action(async (o: OpenOptions) => {
      if (o.trigger === 'urgence' && !o.officer) {
        throw new VigieError(
          'config-invalid',
          '--trigger urgence needs --officer (the deciding officer)',
        );
      }
      const result = await (
        await actions()
      ).openSession(o.config, {
        siteId: o.site,
        cameras: o.camera
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
        recipient: o.to,
        purpose: o.purpose,
        trigger:
          o.trigger === 'urgence'
            ? { kind: 'urgence', officer: o.officer ?? '' }
            : { kind: 'occupation' },
        callRef: o.callRef,
        requestedTtlSec: parseDurationSec(o.ttl, '--ttl'),
      });
      process.stdout.write(result + '\n');
    });

  op.command('close <session>')
    .description('close a transmission (the intervention is over)')
    .addOption(configOption())
    .option('--site <site>', "site of the session (default: found in the boxes' state)")
    .option('--note <text>', 'short note for the register')
    .action(async (session: string, o: { config: string; site?: string; note?: string }) => {
      process.stdout.write(
        (await (await actions()).closeSession(o.config, session, o.site, o.note)) + '\n',
      );
    });

  op.command('extend <session>')
    .description('set a new total duration for a live transmission')
    .addOption(configOption())
    .requiredOption('--ttl <duration>', 'new total duration counted from the opening, e.g. 40m')
    .option('--site <site>', "site of the session (default: found in the boxes' state)")
    .action(async (session: string, o: { config: string; ttl: string; site?: string }) => {
      const ttlSec = parseDurationSec(o.ttl, '--ttl');
      process.stdout.write(
        (await (await actions()).extendSession(o.config, session, ttlSec, o.site)) + '\n',
      );
    });

  op.command('close-all')
    .description('close every transmission of one site, or of every site')
    .addOption(configOption())
    .option('--site <site>', 'one site')
    .option('--all', 'every site')
    .option('--note <text>', 'short note for the register')
    .action(async (o: { config: string; site?: string; all?: boolean; note?: string }) => {
      if (Boolean(o.site) === Boolean(o.all)) {
        throw new VigieError('config-invalid', 'give exactly one of --site S or --all');
      }
      process.stdout.write(
        (await (await actions()).closeAll(o.config, o.all ? null : (o.site ?? null), o.note)) +
          '\n',
      );
    });

  op.command('sessions')
    .description("live transmissions with their time left, from the boxes' retained state")
    .addOption(configOption())
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => {
      process.stdout.write(
        (await (await actions()).listSessions(o.config, o.json ?? false)) + '\n',
      );
    });
}

interface OpenOptions {
  config: string;
  site: string;
  camera: string;
  to: string;
  purpose: Purpose;
  trigger: 'occupation' | 'urgence';
  officer?: string;
  callRef: string;
  ttl: string;
}
