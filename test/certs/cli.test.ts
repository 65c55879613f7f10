/**
 * `vigie pki` as a person runs it: help, the whole life of a certificate, and
 * the promise that no private key ever reaches the terminal.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repo root; resolves on exit, rejects after 60 s. */
function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO,
      env: { ...process.env, VIGIE_PKI_DIR: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within 60 s`));
    }, 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI through tsx, as `npx tsx cli/src/main.ts` but without npx's start-up cost. */
function vigie(...args: string[]): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', 'cli/src/main.ts', ...args]);
}

void t.test(
  '`npx tsx cli/src/main.ts pki --help` lists the subcommands with examples',
  async (t) => {
    const help = await run('npx', ['tsx', 'cli/src/main.ts', 'pki', '--help']);
    t.equal(help.code, 0, help.stderr);
    for (const word of [
      'init',
      'issue',
      'revoke',
      'crl',
      'list',
      '--dir',
      'VIGIE_PKI_DIR',
      'Examples:',
    ]) {
      t.match(help.stdout, word);
    }
    const issue = await vigie('pki', 'issue', '--help');
    t.equal(issue.code, 0);
    t.match(issue.stdout, /box \[options\][\s\S]*service \[options\][\s\S]*person \[options\]/);
    t.match(issue.stdout, /vigie pki issue service --name broker --dns/);
    const person = await vigie('pki', 'issue', 'person', '--help');
    t.match(person.stdout, /--role <role>[\s\S]*"viewer",\s+"operator",\s+"admin"/);
  },
);

/** `vigie` with space-separated arguments (none of ours contain spaces unless passed separately). */
function cli(args: string, ...extra: string[]): Promise<Run> {
  return vigie(...args.split(/\s+/).filter((a) => a !== ''), ...extra);
}

async function initViaCli(t: Test): Promise<{ base: string; dir: string; init: Run }> {
  const base = await tempDir(t);
  const dir = path.join(base, 'pki');
  const init = await cli(`pki init --dir ${dir} --org EMH`);
  t.equal(init.code, 0, init.stderr);
  return { base, dir, init };
}

void t.test('init prints where the PKI is, and refuses to run twice in one line', async (t) => {
  const { dir, init } = await initViaCli(t);
  t.match(init.stdout, /initialised PKI in/);
  t.match(init.stdout, /root\s+[0-9A-F]{32}\s+O=EMH, CN=Vigie Root CA/);
  const again = await cli(`pki init --dir ${dir}`);
  t.equal(again.code, 1);
  t.match(again.stderr, /^vigie: .* already holds a Vigie PKI.* \[pki-already-initialised\]\n$/);
});

void t.test('issue writes a 0600 key and never prints it', async (t) => {
  const { base, dir, init } = await initViaCli(t);
  const out = path.join(base, 'gw-01');
  const issue = await cli(`pki --dir ${dir} issue box --site s-1 --id gw-01 --out ${out}`);
  t.equal(issue.code, 0, issue.stderr);
  t.match(issue.stdout, /issued box certificate [0-9A-F]{32}/);
  t.match(issue.stdout, /identity\s+urn:vigie:box:s-1:gw-01/);
  const key = await fs.readFile(path.join(out, 'key.pem'), 'utf8');
  t.match(key, /BEGIN PRIVATE KEY/);
  t.equal((await fs.stat(path.join(out, 'key.pem'))).mode & 0o777, 0o600);
  const service = await cli(
    `pki issue service --dir ${dir} --name broker --dns broker.emh.example,localhost`,
    ...['--ip', '127.0.0.1', '--out', path.join(base, 'broker')],
  );
  t.equal(service.code, 0, service.stderr);
  t.match(service.stdout, /DNS:broker\.emh\.example, DNS:localhost, IP Address:127\.0\.0\.1/);
  const body = key.split('\n')[1] ?? 'missing';
  for (const run of [init, issue, service]) {
    t.notMatch(run.stdout + run.stderr, /PRIVATE KEY/);
    t.notOk((run.stdout + run.stderr).includes(body), 'not even the base64 of the key');
  }
  const overwrite = await cli(`pki issue box --dir ${dir} --site s-1 --id gw-01 --out ${out}`);
  t.equal(overwrite.code, 1);
  t.match(overwrite.stderr, /already exists; refusing to overwrite it \[file-exists\]/);
  const badName = await cli(`pki issue box --dir ${dir} --id x --out ${base}/y --site`, 'S 1');
  t.equal(badName.code, 1);
  t.match(badName.stderr, /site id "S 1" is not allowed.*\[pki-invalid-name\]/);
});

void t.test('revoke, crl and list show the revocation', async (t) => {
  const { base, dir } = await initViaCli(t);
  await cli(`pki issue box --dir ${dir} --site s-1 --id gw-01 --out ${base}/gw-01`);
  const revoke = await cli(
    `pki revoke --dir ${dir} --name urn:vigie:box:s-1:gw-01 --reason key-compromise`,
  );
  t.equal(revoke.code, 0, revoke.stderr);
  t.match(
    revoke.stdout,
    /revoked [0-9A-F]{32} .* for key-compromise\n\s+boxes\s+CRL #2, 1 revoked/,
  );
  const both = await cli(`pki revoke --dir ${dir} --serial 01 --name x --reason superseded`);
  t.not(both.code, 0);
  t.match(both.stderr, /give exactly one of --serial or --name/);
  const crl = await cli(`pki crl --dir ${dir}`);
  t.equal(crl.code, 0, crl.stderr);
  t.match(crl.stdout, /root\s+CRL #2[\s\S]*boxes\s+CRL #3, 1 revoked/);
  const list = await cli(`pki list --dir ${dir}`);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /box:s-1:gw-01\s+urn:vigie:box:s-1:gw-01\s+.*revoked .*\(key-compromise\)/);
  const json = await cli(`pki list --dir ${dir} --json`);
  t.equal((JSON.parse(json.stdout) as unknown[]).length, 5);
});
