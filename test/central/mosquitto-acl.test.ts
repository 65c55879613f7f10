/**
 * The generated Mosquitto ACL: one block per box of the policy, console users
 * by CN, the policy publisher, and refusal of names that would impersonate a
 * box or the publisher (a person certificate's CN is free text).
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { isVigieError } from '../../lib/src/errors.js';
import { registerCentralCommands } from '../../central/src/cli.js';
import { boxesFromPolicy, mosquittoAcl } from '../../central/src/mosquitto/mosquitto-acl.js';
import { examplePolicy, makeFixture, tempDir } from './helpers.js';

void t.test('one user block per box named by the policy', async (t) => {
  const policy = await examplePolicy();
  const { boxes, sitesWithoutBoxes } = boxesFromPolicy(policy);
  t.same(boxes, [
    { siteId: 'borny-hauts', boxId: 'box-borny-01' },
    { siteId: 'patrotte-barres', boxId: 'box-patrotte-01' },
  ]);
  t.same(sitesWithoutBoxes, []);
  const acl = mosquittoAcl({ boxes, consoleUsers: ['Paul Martin'] });
  t.match(
    acl,
    [
      'user box:borny-hauts:box-borny-01',
      'topic read vigie/v1/sites/borny-hauts/cmd',
      'topic read vigie/v1/all/cmd',
      'topic read vigie/v1/policy',
      'topic write vigie/v1/sites/borny-hauts/evt',
      'topic write vigie/v1/sites/borny-hauts/state',
    ].join('\n'),
  );
  t.match(acl, 'user Paul Martin\ntopic write vigie/v1/sites/+/cmd\n');
  t.match(acl, 'user central\ntopic write vigie/v1/policy\n');
  t.notMatch(acl, /^pattern /m, 'no pattern rules: %u would be the whole CN');
});

void t.test('refuses console names that would impersonate a box or the publisher', (t) => {
  for (const name of ['box:borny-hauts:box-borny-01', 'central', ' Paul', 'a\nuser x']) {
    let error: unknown = null;
    try {
      mosquittoAcl({ boxes: [], consoleUsers: [name] });
    } catch (err) {
      error = err;
    }
    t.ok(isVigieError(error, 'config-invalid'), JSON.stringify(name));
  }
  t.end();
});

void t.test(
  'vigie central mosquitto-config verifies the bundle and writes both files',
  async (t) => {
    const fx = await makeFixture(t);
    const out = await tempDir(t, 'vigie-mosquitto-cli-');
    const program = new Command('vigie').exitOverride();
    registerCentralCommands(program);
    let printed = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => {
      printed += chunk;
      return true;
    };
    try {
      await program.parseAsync(
        [
          'central',
          'mosquitto-config',
          '--policy',
          fx.bundleFile,
          '--admin-key',
          fx.config.policy.adminPublicKeyFile,
          '--admin-kid',
          fx.admin.kid,
          '--operator',
          'Paul Martin',
          '--out',
          out,
        ],
        { from: 'user' },
      );
    } finally {
      process.stdout.write = write;
    }
    t.match(printed, /2 boxes, 1 console users, policy version 12/);
    const conf = await fs.readFile(path.join(out, 'mosquitto.conf'), 'utf8');
    t.match(conf, `acl_file ${path.join(out, 'acl')}`);
    t.match(conf, 'use_identity_as_username true\nuse_username_as_clientid true');
    t.match(await fs.readFile(path.join(out, 'acl'), 'utf8'), 'user Paul Martin');

    await fs.writeFile(fx.bundleFile, '{"v":1}');
    await t.rejects(
      program.parseAsync(
        [
          'central',
          'mosquitto-config',
          '--policy',
          fx.bundleFile,
          '--admin-key',
          fx.config.policy.adminPublicKeyFile,
          '--admin-kid',
          fx.admin.kid,
          '--out',
          out,
        ],
        { from: 'user' },
      ),
      'an unverifiable bundle is refused',
    );
  },
);
