/**
 * The protocol's subcommands: `vigie keygen`, `vigie policy sign`,
 * `vigie policy verify`. Thin wrappers: parsing options and printing; the
 * work is in keygen.ts and policy-commands.ts.
 */
import { type Command, InvalidArgumentError } from 'commander';

function parseInstant(value: string): Date {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError('must be an ISO-8601 UTC time such as 2025-03-01T09:00:00Z');
  }
  return new Date(ms);
}

function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .summary('create an Ed25519 key pair for an operator or the administrator')
    .description(
      'Create an Ed25519 key pair: DIR/NAME.key (PKCS#8 PEM, mode 0600, never printed) ' +
        'and DIR/NAME.pub (SPKI PEM, to put in the policy). Prints the key id and the ' +
        'public key fingerprint to read out when handing the public key over. ' +
        'Refuses to overwrite an existing key.',
    )
    .requiredOption('--name <name>', 'key id (a-z, 0-9, "-"), e.g. op-dupont or admin')
    .requiredOption('--out <dir>', 'directory for NAME.key and NAME.pub')
    .addHelpText('after', '\nExample:\n  vigie keygen --name op-dupont --out ~/.vigie/keys\n')
    .action(async (opts: { name: string; out: string }) => {
      const { formatKeygenResult, generateKeyFiles } = await import('./keygen.js');
      process.stdout.write(formatKeygenResult(await generateKeyFiles(opts.name, opts.out)));
    });
}

function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .summary('sign and verify the policy bundle (convention, operators, recipients, cameras)')
    .description('Sign the policy YAML into a bundle, or verify a bundle and print its summary.');

  policy
    .command('sign')
    .description(
      'Validate policy.yaml, inline the files it references (publicKeyFile, caFile, relative ' +
        'to the YAML), and sign it with the administrator key. On any problem, prints every ' +
        'one as `path: message`, exits non-zero and writes nothing. issuedAt defaults to now.',
    )
    .requiredOption('--in <policy.yaml>', 'policy source (YAML)')
    .requiredOption('--key <admin.key>', 'administrator private key (PKCS#8 PEM)')
    .requiredOption('--kid <kid>', 'key id of the administrator key, as pinned on the boxes')
    .requiredOption('--out <bundle.json>', 'signed bundle to write')
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText(
      'after',
      '\nExample:\n  vigie policy sign --in policy.yaml --key admin.key --kid admin --out bundle.json\n',
    )
    .action(async (opts: { in: string; key: string; kid: string; out: string; force: boolean }) => {
      const { policySign } = await import('./policy-commands.js');
      process.stdout.write(await policySign(opts));
    });

  policy
    .command('verify')
    .description(
      'Verify a signed bundle against the pinned administrator public key and print a ' +
        'summary: version, convention period and whether it is in force, operators, ' +
        'recipients, sites and cameras. With --in-force, also refuse a bundle whose ' +
        'version is not strictly newer than that of the bundle in force.',
    )
    .requiredOption('--bundle <bundle.json>', 'signed policy bundle')
    .requiredOption('--admin-key <admin.pub>', 'administrator public key (SPKI PEM)')
    .option(
      '--admin-kid <kid>',
      'key id of the administrator key (default: file name without extension)',
    )
    .option('--in-force <older-bundle.json>', 'the bundle in force, to check the version increases')
    .option('--at <time>', 'evaluate "in force" at this UTC time instead of now', parseInstant)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  vigie policy verify --bundle bundle.json --admin-key admin.pub\n' +
        '  vigie policy verify --bundle new.json --admin-key admin.pub --in-force current.json\n',
    )
    .action(
      async (opts: {
        bundle: string;
        adminKey: string;
        adminKid?: string;
        inForce?: string;
        at?: Date;
      }) => {
        const { policyVerify } = await import('./policy-commands.js');
        process.stdout.write(await policyVerify(opts));
      },
    );
}

/** Adds the protocol's commands to the `vigie` program. */
export function registerProtocolCommands(program: Command): void {
  registerKeygen(program);
  registerPolicy(program);
}
