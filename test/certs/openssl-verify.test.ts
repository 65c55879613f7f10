/**
 * An independent verifier (the openssl command line) accepts our chains and
 * extensions, and refuses what the CRLs revoke. Certificates are made with
 * @peculiar/x509; nothing here verifies with it.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { issueCertificate } from '../../certs/src/pki-issue.js';
import { revokeCertificate } from '../../certs/src/pki-revoke.js';
import { BOX, BROKER, makePki, VIEWER, type TestPki } from './helpers.js';

interface Run {
  code: number;
  out: string;
}

function openssl(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number')
        return reject(new Error(`openssl did not run: ${err.message}`));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, out: stdout + stderr });
    });
  });
}

function verifyArgs(
  pki: TestPki,
  leafDir: string,
  purpose: string,
  extra: string[] = [],
): string[] {
  return [
    'verify',
    ...extra,
    '-CAfile',
    pki.paths.caCert('root'),
    '-untrusted',
    pki.paths.caCert(purpose as 'boxes'),
    path.join(leafDir, 'cert.pem'),
  ];
}

void t.test(
  'openssl verify accepts box, service and person chains from their intermediate',
  async (t) => {
    const pki = await makePki(t);
    const cases = [
      ['box', BOX, 'boxes', 'sslclient'],
      ['service', BROKER, 'services', 'sslserver'],
      ['person', VIEWER, 'people', 'sslclient'],
    ] as const;
    for (const [label, request, purpose, sslPurpose] of cases) {
      const leaf = await pki.issue(request);
      const ok = await openssl(verifyArgs(pki, leaf, purpose, ['-purpose', sslPurpose]));
      t.equal(ok.code, 0, `${label}: ${ok.out.trim()}`);
      t.match(ok.out, /: OK/);
      const crl = await openssl(
        verifyArgs(pki, leaf, purpose, ['-crl_check_all', '-CRLfile', pki.paths.crlBundle]),
      );
      t.equal(crl.code, 0, `${label} with every CRL checked: ${crl.out.trim()}`);
      // The wrong intermediate must not do: each kind chains to its own CA only.
      const other = purpose === 'boxes' ? 'people' : 'boxes';
      const wrong = await openssl(verifyArgs(pki, leaf, other));
      t.not(wrong.code, 0, `${label} does not chain through the ${other} CA`);
      t.match(wrong.out, /unable to get local issuer certificate/);
    }
  },
);

void t.test('boxes and people cannot act as servers; services can', async (t) => {
  const pki = await makePki(t);
  const box = await pki.issue(BOX);
  const refused = await openssl(verifyArgs(pki, box, 'boxes', ['-purpose', 'sslserver']));
  t.not(refused.code, 0);
  t.match(refused.out, /error 26 at 0 depth lookup: unsuitable certificate purpose/);
  const person = await pki.issue(VIEWER);
  const refusedPerson = await openssl(verifyArgs(pki, person, 'people', ['-purpose', 'sslserver']));
  t.match(refusedPerson.out, /error 26 at 0 depth lookup: unsuitable certificate purpose/);
  const service = await pki.issue(BROKER);
  const asClient = await openssl(verifyArgs(pki, service, 'services', ['-purpose', 'sslclient']));
  t.equal(asClient.code, 0, 'services also dial out (relay, register)');
});

void t.test('extensions follow the profile', async (t) => {
  const pki = await makePki(t);
  const ext = async (file: string) =>
    (
      await openssl([
        'x509',
        '-noout',
        '-ext',
        'basicConstraints,keyUsage,extendedKeyUsage,subjectKeyIdentifier,authorityKeyIdentifier,subjectAltName',
        '-in',
        file,
      ])
    ).out;
  const root = await ext(pki.paths.caCert('root'));
  t.match(root, /Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
  t.match(root, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  t.match(root, /URI:urn:vigie:ca:root/);
  for (const purpose of ['boxes', 'services', 'people'] as const) {
    const ca = await ext(pki.paths.caCert(purpose));
    t.match(ca, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/, `${purpose} CA pathlen 0`);
    t.match(ca, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    t.match(ca, /Authority Key Identifier/);
  }
  const service = await ext(path.join(await pki.issue(BROKER), 'cert.pem'));
  t.match(service, /Basic Constraints: critical\s+CA:FALSE/);
  t.match(service, /Key Usage: critical\s+Digital Signature\n/);
  t.match(
    service,
    /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
  );
  t.match(service, /URI:urn:vigie:service:broker, DNS:localhost, IP Address:127.0.0.1/);
  t.match(service, /Subject Key Identifier/);
  const box = await ext(path.join(await pki.issue(BOX), 'cert.pem'));
  t.match(box, /Extended Key Usage:\s+TLS Web Client Authentication\n/);
  t.match(box, /URI:urn:vigie:box:residence-les-tilleuls:gw-01/);
});

void t.test('serials are random, positive and 16 bytes long', async (t) => {
  const pki = await makePki(t);
  const serials = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const leaf = await pki.issue({ ...BOX, boxId: `gw-${i}` });
    const out = (await openssl(['x509', '-noout', '-serial', '-in', path.join(leaf, 'cert.pem')]))
      .out;
    const serial = /serial=([0-9A-F]+)/.exec(out)?.[1] ?? '';
    t.equal(serial.length, 32, 'exactly 16 bytes');
    t.ok(parseInt(serial.slice(0, 2), 16) < 0x80, 'high bit clear: positive');
    serials.add(serial);
  }
  t.equal(serials.size, 8);
});

void t.test(
  'openssl -crl_check_all with the CRL bundle refuses a revoked certificate',
  async (t) => {
    const pki = await makePki(t);
    const leaf = await pki.issue(BOX);
    const keep = await pki.issue({ ...BOX, boxId: 'gw-02' });
    const serial = (
      await openssl(['x509', '-noout', '-serial', '-in', path.join(leaf, 'cert.pem')])
    ).out
      .trim()
      .replace('serial=', '');
    await revokeCertificate({ dir: pki.paths.dir, target: { serial }, reason: 'key-compromise' });
    const args = (dir: string) =>
      verifyArgs(pki, dir, 'boxes', ['-crl_check_all', '-CRLfile', pki.paths.crlBundle]);
    const revoked = await openssl(args(leaf));
    t.not(revoked.code, 0);
    t.match(revoked.out, /error 23 at 0 depth lookup: certificate revoked/);
    const other = await openssl(args(keep));
    t.equal(other.code, 0, 'the other box of the same CA still verifies');
    const crlText = (await openssl(['crl', '-noout', '-text', '-in', pki.paths.crl('boxes')])).out;
    t.match(crlText, new RegExp(`Serial Number: ${serial}[\\s\\S]*Key Compromise`));
    t.match(crlText, /X509v3 CRL Number:\s+2/, 'the CRL number went up');
    t.match(crlText, /X509v3 Authority Key Identifier/);
    t.match(crlText, /Next Update:/);
  },
);

void t.test('every CA in the chain needs a CRL: the leaf CA alone is not enough', async (t) => {
  const pki = await makePki(t);
  const leaf = await pki.issue(BOX);
  const onlyBoxes = await openssl(
    verifyArgs(pki, leaf, 'boxes', ['-crl_check_all', '-CRLfile', pki.paths.crl('boxes')]),
  );
  t.not(onlyBoxes.code, 0);
  t.match(onlyBoxes.out, /unable to get certificate CRL/);
});

void t.test('revoking an intermediate revokes every leaf under it (root CRL)', async (t) => {
  const pki = await makePki(t);
  const leaf = await pki.issue(BOX);
  await revokeCertificate({
    dir: pki.paths.dir,
    target: { name: 'Vigie Boxes CA' },
    reason: 'ca-compromise',
  });
  const run = await openssl(
    verifyArgs(pki, leaf, 'boxes', ['-crl_check_all', '-CRLfile', pki.paths.crlBundle]),
  );
  t.not(run.code, 0);
  t.match(run.out, /error 23 at 1 depth lookup: certificate revoked/);
  await t.rejects(
    issueCertificate({
      dir: pki.paths.dir,
      request: BOX,
      outDir: path.join(pki.paths.dir, '..', 'x'),
    }),
    { code: 'pki-invalid-request', message: /boxes CA was revoked/ },
  );
});
