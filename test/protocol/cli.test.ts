import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, copyFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(ROOT, 'protocol/examples');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry point, as an administrator would. */
function vigie(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'cli/src/main.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dir = await mkdtemp(path.join(tmpdir(), 'vigie-cli-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const keys = path.join(dir, 'keys');

void t.test(
  'keygen writes the private key 0600, the public key 0644, and never prints the key',
  async (t) => {
    const run = await vigie('keygen', '--name', 'admin', '--out', keys);
    t.equal(run.code, 0, run.stderr);
    t.equal((await stat(path.join(keys, 'admin.key'))).mode & 0o777, 0o600);
    t.equal((await stat(path.join(keys, 'admin.pub'))).mode & 0o777, 0o644);
    t.match(run.stdout, /kid:\s+admin/);
    t.match(run.stdout, /fingerprint:\s+SHA256:[A-Za-z0-9_-]{43}/);
    t.notMatch(run.stdout + run.stderr, 'PRIVATE KEY');
    const pem = await readFile(path.join(keys, 'admin.key'), 'utf8');
    t.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    t.notOk(run.stdout.includes(pem.split('\n')[1] ?? 'x'));
  },
);

void t.test('keygen refuses to overwrite an existing key', async (t) => {
  const before = await readFile(path.join(keys, 'admin.key'), 'utf8');
  const run = await vigie('keygen', '--name', 'admin', '--out', keys);
  t.equal(run.code, 1);
  t.match(run.stderr, /already exists; refusing to overwrite it \[file-exists\]/);
  t.equal(await readFile(path.join(keys, 'admin.key'), 'utf8'), before);
});

void t.test(
  'policy sign on an invalid YAML prints every problem as path: message and writes nothing',
  async (t) => {
    const src = path.join(dir, 'bad');
    await mkdir(path.join(src, 'keys'), { recursive: true });
    await mkdir(path.join(src, 'ca'));
    for (const f of await readdir(path.join(EXAMPLES, 'keys')))
      await copyFile(path.join(EXAMPLES, 'keys', f), path.join(src, 'keys', f));
    for (const f of await readdir(path.join(EXAMPLES, 'ca')))
      await copyFile(path.join(EXAMPLES, 'ca', f), path.join(src, 'ca', f));
    const text = (await readFile(path.join(EXAMPLES, 'policy.example.yaml'), 'utf8'))
      .replace('version: 1', 'version: -3')
      .replace('validUntil: 2027-05-31T22:00:00Z', 'validUntil: 2024-05-31T22:00:00Z')
      .replace('recipients: [csu-metz]', 'recipients: [csu-metz, police-municipale]')
      .replace("from: '08:00'", "from: '8h'")
      .replace('caFile: ca/dipn-57-ca.pem', 'caFile: ca/missing.pem');
    await writeFile(path.join(src, 'policy.yaml'), text);
    const out = path.join(dir, 'bad-bundle.json');
    const run = await vigie(
      'policy',
      'sign',
      '--in',
      path.join(src, 'policy.yaml'),
      '--key',
      path.join(keys, 'admin.key'),
      '--kid',
      'admin',
      '--out',
      out,
    );
    t.equal(run.code, 1);
    t.match(run.stderr, 'policy.yaml is invalid:');
    t.match(run.stderr, '  recipients.1.caFile: cannot read ca/missing.pem (ENOENT)');
    t.match(run.stderr, '  version: Too small: expected number to be >0');
    t.match(run.stderr, '  timeWindows.0.from: must be HH:MM');
    t.match(run.stderr, '[policy-invalid]');
    t.equal(run.stdout, '');
    await t.rejects(stat(out), { code: 'ENOENT' }, 'nothing written');

    // Once the shape is right, the cross-field rules speak, with the actual values.
    const shapeOk = text
      .replace('version: -3', 'version: 1')
      .replace("from: '8h'", "from: '08:00'")
      .replace('caFile: ca/missing.pem', 'caFile: ca/dipn-57-ca.pem');
    await writeFile(path.join(src, 'policy.yaml'), shapeOk);
    const again = await vigie(
      'policy',
      'sign',
      '--in',
      path.join(src, 'policy.yaml'),
      '--key',
      path.join(keys, 'admin.key'),
      '--kid',
      'admin',
      '--out',
      out,
    );
    t.equal(again.code, 1);
    t.match(
      again.stderr,
      '  operators.2.validUntil: validUntil 2024-05-31T22:00:00Z is not after validFrom 2025-06-01T00:00:00Z',
    );
    t.match(
      again.stderr,
      '  operators.2.recipients.1: recipient police-municipale of operator op-nuit-prestataire is not defined in recipients',
    );
    await t.rejects(stat(out), { code: 'ENOENT' }, 'nothing written');
  },
);

void t.test(
  'the example policy signs cleanly; verify prints the summary; an older bundle is refused',
  async (t) => {
    const v1 = path.join(dir, 'bundle-v1.json');
    const sign = await vigie(
      'policy',
      'sign',
      '--in',
      path.join(EXAMPLES, 'policy.example.yaml'),
      '--key',
      path.join(keys, 'admin.key'),
      '--kid',
      'admin',
      '--out',
      v1,
    );
    t.equal(sign.code, 0, sign.stderr);
    t.match(sign.stdout, /signed policy version 1 \(\d+ bytes\) with key admin \(SHA256:/);
    t.equal((await stat(v1)).mode & 0o777, 0o644);

    const verify = await vigie(
      'policy',
      'verify',
      '--bundle',
      v1,
      '--admin-key',
      path.join(keys, 'admin.pub'),
      '--at',
      '2026-01-15T10:00:00Z',
    );
    t.equal(verify.code, 0, verify.stderr);
    t.match(verify.stdout, 'signature OK');
    t.match(verify.stdout, 'Policy version 1');
    t.match(
      verify.stdout,
      'IN FORCE at 2026-01-15 11:00 (UTC+01:00); period in force ends 2026-09-20 00:00 (UTC+02:00)',
    );
    t.match(verify.stdout, 'Operators (3):');
    t.match(verify.stdout, 'Sites (2), cameras 6 (4 transmissible):');

    const same = await vigie(
      'policy',
      'verify',
      '--bundle',
      v1,
      '--admin-key',
      path.join(keys, 'admin.pub'),
      '--in-force',
      v1,
    );
    t.equal(same.code, 1);
    t.match(
      same.stderr,
      'policy version 1 is not newer than version 1 in force [policy-version-not-newer]',
    );

    const refused = await vigie(
      'policy',
      'sign',
      '--in',
      path.join(EXAMPLES, 'policy.example.yaml'),
      '--key',
      path.join(keys, 'admin.key'),
      '--kid',
      'admin',
      '--out',
      v1,
    );
    t.equal(refused.code, 1, 'does not overwrite a bundle without --force');
    t.match(refused.stderr, '[file-exists]');

    const other = await vigie('keygen', '--name', 'other', '--out', keys);
    t.equal(other.code, 0);
    const wrongKey = await vigie(
      'policy',
      'verify',
      '--bundle',
      v1,
      '--admin-key',
      path.join(keys, 'other.pub'),
      '--admin-kid',
      'admin',
    );
    t.equal(wrongKey.code, 1);
    t.match(wrongKey.stderr, '[envelope-bad-signature]');
  },
);
