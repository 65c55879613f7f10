/**
 * `vigie pki ...`: thin commander wiring over the PKI modules. Output goes to
 * stdout, one fact a line; private keys are only ever written to files.
 *
 * Operations that create certificates load @peculiar/x509 and are imported
 * when their command runs, so that `vigie agent` never loads them.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { PERSON_ROLES, type PersonRole } from './identity.js';
import type { IssueRequest } from './leaf-request.js';
import type { CrlSummary } from './pki-crl.js';
import type { IssueResult } from './pki-issue.js';
import { formatCertificateTable, formatParisTime, listCertificates } from './pki-list.js';
import { REVOCATION_REASONS } from './revocation-reasons.js';

function wholeNumber(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number of days');
  return Number(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v.trim() !== '')];
}

function print(lines: readonly string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

function pkiDir(cmd: Command): string {
  return cmd.optsWithGlobals<{ dir: string }>().dir;
}

function describeIssued(result: IssueResult): string[] {
  return [
    `issued ${result.kind} certificate ${result.serial}`,
    `  subject    ${result.subject}`,
    `  identity   ${result.identity}`,
    `  names      ${result.san.join(', ')}`,
    `  valid      ${formatParisTime(result.notBefore)} to ${formatParisTime(result.notAfter)}`,
    `  written    ${result.files.cert}`,
    `             ${result.files.chain} (certificate + issuing CA: what a peer sends)`,
    `             ${result.files.key} (private key, mode 0600: never copy it elsewhere)`,
  ];
}

function describeCrl(s: CrlSummary): string {
  return `  ${s.purpose.padEnd(8)} CRL #${s.crlNumber}, ${s.revoked} revoked, next update due ${formatParisTime(s.nextUpdate)}`;
}

interface IssueCommonOptions {
  out: string;
  days?: number;
}

function addIssueCommon(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--out <dir>',
      'directory for cert.pem, chain.pem and key.pem (files must not exist)',
    )
    .option(
      '--days <n>',
      'validity in days (default: box 397, service 397, person 365)',
      wholeNumber,
    );
}

async function runIssue(
  cmd: Command,
  request: IssueRequest,
  opts: IssueCommonOptions,
): Promise<void> {
  const { issueCertificate } = await import('./pki-issue.js');
  const result = await issueCertificate({
    dir: pkiDir(cmd),
    outDir: opts.out,
    request,
    ...(opts.days === undefined ? {} : { days: opts.days }),
  });
  print(describeIssued(result));
}

function registerIssue(pki: Command): void {
  const issue = pki
    .command('issue')
    .description('issue a certificate for a box, a service or a person')
    .addHelpText(
      'after',
      `
Examples:
  vigie pki issue box --site residence-les-tilleuls --id gw-01 --out ./gw-01
  vigie pki issue service --name broker --dns broker.emh.example --ip 10.20.0.5 --out ./broker
  vigie pki issue person --name "Jeanne Dupont" --role viewer --out ./jdupont`,
    );
  registerIssueBox(issue);
  registerIssueService(issue);
  registerIssuePerson(issue);
}

function registerIssueBox(issue: Command): void {
  addIssueCommon(
    issue
      .command('box')
      .description('an edge box (client certificate; urn:vigie:box:<site>:<id>)')
      .requiredOption('--site <siteId>', 'site id: a-z, 0-9, "-" (1 to 63 characters)')
      .requiredOption('--id <boxId>', 'box id: a-z, 0-9, "-" (1 to 63 characters)'),
  ).action(async (opts: IssueCommonOptions & { site: string; id: string }, cmd: Command) => {
    await runIssue(cmd, { kind: 'box', siteId: opts.site, boxId: opts.id }, opts);
  });
}

function registerIssueService(issue: Command): void {
  addIssueCommon(
    issue
      .command('service')
      .description(
        'a service: broker, register or relay (server and client; urn:vigie:service:<name>)',
      )
      .requiredOption(
        '--name <name>',
        'service name: a-z, 0-9, "-" (e.g. broker, register, relay-csu)',
      )
      .option('--dns <name>', 'DNS name clients will use (repeat or comma-separate)', collect, [])
      .option(
        '--ip <address>',
        'IP address clients will use (repeat or comma-separate)',
        collect,
        [],
      ),
  ).action(
    async (
      opts: IssueCommonOptions & { name: string; dns: string[]; ip: string[] },
      cmd: Command,
    ) => {
      await runIssue(cmd, { kind: 'service', name: opts.name, dns: opts.dns, ips: opts.ip }, opts);
    },
  );
}

function registerIssuePerson(issue: Command): void {
  addIssueCommon(
    issue
      .command('person')
      .description('a named viewer, operator or administrator (client certificate)')
      .requiredOption('--name <display name>', 'full name as approved, e.g. "Jeanne Dupont"')
      .addOption(
        new Option('--role <role>', 'what the person does')
          .choices(PERSON_ROLES)
          .makeOptionMandatory(),
      ),
  ).action(async (opts: IssueCommonOptions & { name: string; role: PersonRole }, cmd: Command) => {
    await runIssue(cmd, { kind: 'person', displayName: opts.name, role: opts.role }, opts);
  });
}

function registerInit(pki: Command): void {
  pki
    .command('init')
    .description('create the root CA and the boxes, services and people CAs in an empty directory')
    .option('--org <name>', 'organisation (O=) in every certificate', 'Vigie')
    .option(
      '--crl-days <n>',
      'days until each CRL must be re-signed by `vigie pki crl`',
      wholeNumber,
      7,
    )
    .addHelpText(
      'after',
      `
Example:
  vigie pki init --dir /srv/vigie-pki --org "EMH"
Then give peers ca-bundle.pem and crl-bundle.pem, and run \`vigie pki crl\` from a daily timer.`,
    )
    .action(async (opts: { org: string; crlDays: number }, cmd: Command) => {
      const { initPki } = await import('./pki-init.js');
      const result = await initPki({
        dir: pkiDir(cmd),
        organization: opts.org,
        crlDays: opts.crlDays,
      });
      print([
        `initialised PKI in ${result.dir}`,
        ...result.cas.map(
          (ca) =>
            `  ${ca.purpose.padEnd(8)} ${ca.serial}  ${ca.subject}  until ${formatParisTime(ca.notAfter)}`,
        ),
        `  trust bundle  ${result.caBundle}`,
        `  CRL bundle    ${result.crlBundle} (re-sign with \`vigie pki crl\` before it expires)`,
      ]);
    });
}

function registerRevoke(pki: Command): void {
  pki
    .command('revoke')
    .description('revoke a certificate and re-sign the CRL of the CA that issued it')
    .option('--serial <hex>', 'serial number, as printed by `vigie pki list`')
    .option('--name <name>', 'CN or urn:vigie: identity, if exactly one live certificate has it')
    .addOption(
      new Option('--reason <reason>', 'RFC 5280 reason')
        .choices(REVOCATION_REASONS)
        .makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      `
Examples:
  vigie pki revoke --serial 5FC4B086DD883E838764500D6AED2831 --reason key-compromise
  vigie pki revoke --name urn:vigie:box:residence-les-tilleuls:gw-01 --reason cessation-of-operation
Peers see the revocation once they reload crl-bundle.pem.`,
    )
    .action(async (opts: { serial?: string; name?: string; reason: string }, cmd: Command) => {
      if ((opts.serial === undefined) === (opts.name === undefined)) {
        cmd.error('give exactly one of --serial or --name');
      }
      const target =
        opts.serial !== undefined ? { serial: opts.serial } : { name: opts.name ?? '' };
      const { revokeCertificate } = await import('./pki-revoke.js');
      const result = await revokeCertificate({ dir: pkiDir(cmd), target, reason: opts.reason });
      print([
        `revoked ${result.serial} (${result.subject}) for ${result.reason}`,
        describeCrl(result.crl),
      ]);
    });
}

export function registerPkiCommands(program: Command): void {
  const pki = program
    .command('pki')
    .description('certificate authorities: init, issue, revoke, CRLs (see docs/pki.md)')
    .addOption(
      new Option('--dir <dir>', 'PKI directory (keep it on an offline, encrypted disk)')
        .env('VIGIE_PKI_DIR')
        .makeOptionMandatory(),
    );
  pki.addHelpText(
    'after',
    `
Layout of the PKI directory, the TLS profile and the CRL timer: docs/pki.md.

Examples:
  export VIGIE_PKI_DIR=/srv/vigie-pki
  vigie pki init --org "EMH"
  vigie pki issue box --site residence-les-tilleuls --id gw-01 --out ./gw-01
  vigie pki issue service --name broker --dns broker.emh.example --out ./broker
  vigie pki issue person --name "Jeanne Dupont" --role viewer --out ./jdupont
  vigie pki revoke --serial 5FC4B086DD883E838764500D6AED2831 --reason key-compromise
  vigie pki crl          # from a daily timer: CRLs expire after 7 days
  vigie pki list`,
  );
  registerInit(pki);
  registerIssue(pki);
  registerRevoke(pki);
  pki
    .command('crl')
    .description('re-sign every CRL with a fresh next-update date (run from a daily timer)')
    .option('--days <n>', 'days until the next update (default: as set at init, 7)', wholeNumber)
    .action(async (opts: { days?: number }, cmd: Command) => {
      const { regenerateCrls } = await import('./pki-crl.js');
      const summaries = await regenerateCrls({
        dir: pkiDir(cmd),
        ...(opts.days === undefined ? {} : { days: opts.days }),
      });
      print(['re-signed CRLs', ...summaries.map(describeCrl)]);
    });
  pki
    .command('list')
    .description('every certificate issued by this PKI, with its status')
    .option('--json', 'print the index entries as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const entries = await listCertificates(pkiDir(cmd));
      process.stdout.write(
        opts.json ? JSON.stringify(entries, null, 2) + '\n' : formatCertificateTable(entries),
      );
    });
}
