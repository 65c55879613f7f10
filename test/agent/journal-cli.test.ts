import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { initPki } from '../../certs/src/pki-init.js';
import { issueCertificate } from '../../certs/src/pki-issue.js';
import { buildProgram } from '../../cli/src/program.js';
import { fileFingerprint, p256Key, tamper, tempDir, writeJournal } from './journal-fixtures.js';

const repo = path.resolve(import.meta.dirname, '../..');
const wired = buildProgram('test').commands.some((c) => c.name() === 'journal');
const entry = wired ? 'cli/src/main.ts' : 'test/agent/journal-cli-harness.ts';

function vigie(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import=tsx', entry, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A box certificate and key from a real throwaway PKI, as on an enrolled box. */
async function enrolledBox(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const pki = path.join(dir, 'pki');
  await initPki({ dir: pki });
  const leaf = path.join(dir, 'box');
  await issueCertificate({
    dir: pki,
    request: { kind: 'box', siteId: 'borny-hauts', boxId: 'box-01' },
    outDir: leaf,
  });
  return { certFile: path.join(leaf, 'cert.pem'), keyFile: path.join(leaf, 'key.pem') };
}

void t.test(
  'vigie journal verify with the box certificate: OK, then the first break',
  async (t) => {
    if (!wired) t.comment('`vigie journal` not wired in cli/src/program.ts yet: using the harness');
    const dir = tempDir(t);
    const { certFile, keyFile } = await enrolledBox(dir);
    const privateKey = createPrivateKey(readFileSync(keyFile));
    const publicKey = new X509Certificate(readFileSync(certFile)).publicKey;
    t.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'box keys are P-256');
    const file = writeJournal(t, { privateKey, publicKey }, 20, { dir: path.join(dir, 'data') });

    const ok = vigie('journal', 'verify', file, '--cert', certFile);
    t.equal(ok.status, 0, ok.stderr);
    t.match(ok.stdout, /OK\n[\s\S]*entries\s+20 \(seq 1 to 20\)[\s\S]*1 signed head checked/);

    tamper(file, (db) => db.prepare('DELETE FROM entries WHERE seq = 13').run());
    const before = fileFingerprint(file);
    const broken = vigie('journal', 'verify', file, '--cert', certFile, '--json');
    t.equal(broken.status, 1, 'exit code 1 when broken');
    t.match(JSON.parse(broken.stdout), {
      ok: false,
      entriesVerified: 12,
      break: { seq: 13, problem: 'seq-gap', what: 'entry removed' },
    });
    t.match(broken.stderr, /broken at seq 13: entry removed \[journal-broken\]/);
    t.equal(fileFingerprint(file), before, 'the CLI did not modify the file');
    t.end();
  },
);

void t.test(
  'vigie journal verify refuses to guess: no key, wrong box, not a journal',
  async (t) => {
    const dir = tempDir(t);
    const { certFile } = await enrolledBox(dir);
    const noKey = vigie('journal', 'verify', certFile);
    t.equal(noKey.status, 1);
    t.match(noKey.stderr, /--cert box-cert.pem/);
    const notJournal = path.join(dir, 'x.db');
    writeFileSync(notJournal, '');
    const foreign = vigie('journal', 'verify', notJournal, '--cert', certFile);
    t.equal(foreign.status, 1);
    t.match(foreign.stderr, /not a Vigie journal .*\[journal-invalid\]/);
    const otherBox = writeJournal(t, p256Key(), 2, { dir: path.join(dir, 'b2'), source: 'box-02' });
    const wrongBox = vigie('journal', 'verify', otherBox, '--cert', certFile);
    t.equal(wrongBox.status, 1);
    t.match(
      wrongBox.stderr,
      /certificate is that of box box-01; .* is from box-02 \[journal-invalid\]/,
    );
    const help = vigie('journal', 'verify', '--help');
    t.equal(help.status, 0);
    t.match(help.stdout, /Examples:\n {2}vigie journal verify/);
    t.end();
  },
);
