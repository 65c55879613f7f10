/**
 * The PKI directory: what `init`, `issue`, `revoke` and `crl` write, what they
 * refuse, and that the index stays the complete record of every certificate.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CERT_PROFILES, DEFAULT_VALIDITY_DAYS } from '../../certs/src/cert-profiles.js';
import { regenerateCrls } from '../../certs/src/pki-crl.js';
import { readIndex } from '../../certs/src/pki-index.js';
import { initPki } from '../../certs/src/pki-init.js';
import { issueCertificate } from '../../certs/src/pki-issue.js';
import { ALL_CA_PURPOSES, pkiPaths } from '../../certs/src/pki-layout.js';
import { formatCertificateTable } from '../../certs/src/pki-list.js';
import { revokeCertificate } from '../../certs/src/pki-revoke.js';
import { BOX, BROKER, makePki, tempDir, VIEWER } from './helpers.js';

const DAY_MS = 86_400_000;

async function mode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

function count(text: string, label: string): number {
  return text.split(`-----BEGIN ${label}-----`).length - 1;
}

void t.test(
  'init writes four CAs, private keys 0600 in 0700 directories, and both bundles',
  async (t) => {
    const pki = await makePki(t, { organization: 'EMH' });
    const { paths } = pki;
    t.equal(await mode(paths.dir), 0o700);
    for (const purpose of ALL_CA_PURPOSES) {
      t.equal(await mode(paths.caKey(purpose)), 0o600, `${purpose} key is 0600`);
      t.equal(
        await mode(path.dirname(paths.caKey(purpose))),
        0o700,
        `${purpose} directory is 0700`,
      );
      t.match(await fs.readFile(paths.caKey(purpose), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    }
    const caBundle = await fs.readFile(paths.caBundle, 'utf8');
    t.equal(count(caBundle, 'CERTIFICATE'), 4);
    t.notMatch(caBundle, /PRIVATE KEY/);
    t.equal(count(await fs.readFile(paths.crlBundle, 'utf8'), 'X509 CRL'), 4);
    const index = await readIndex(paths);
    t.same(
      index.certificates.map((c) => [c.kind, c.issuer, c.identity]),
      [
        ['root', 'root', 'urn:vigie:ca:root'],
        ['intermediate', 'root', 'urn:vigie:ca:boxes'],
        ['intermediate', 'root', 'urn:vigie:ca:services'],
        ['intermediate', 'root', 'urn:vigie:ca:people'],
      ],
    );
    t.same(index.crlNumbers, { root: 1, boxes: 1, services: 1, people: 1 });
    const root = new X509Certificate(await fs.readFile(paths.caCert('root')));
    const years = (Date.parse(root.validTo) - Date.parse(root.validFrom)) / (365.25 * DAY_MS);
    t.ok(years > 9.99 && years < 10.01, `root valid 10 years (${years.toFixed(3)})`);
    const boxes = new X509Certificate(await fs.readFile(paths.caCert('boxes')));
    const boxYears = (Date.parse(boxes.validTo) - Date.parse(boxes.validFrom)) / (365.25 * DAY_MS);
    t.ok(
      boxYears > 4.99 && boxYears < 5.01,
      `intermediates valid 5 years (${boxYears.toFixed(3)})`,
    );
    t.ok(
      boxes.checkIssued(root) && boxes.verify(root.publicKey),
      'intermediates are signed by the root',
    );
    t.match(root.subject, /O=EMH/);
  },
);

void t.test(
  'init refuses an existing PKI or any non-empty directory, and accepts an empty one',
  async (t) => {
    const pki = await makePki(t);
    await t.rejects(initPki({ dir: pki.paths.dir }), {
      code: 'pki-already-initialised',
      message: /already holds a Vigie PKI/,
    });
    const base = await tempDir(t);
    const busy = path.join(base, 'busy');
    await fs.mkdir(busy);
    await fs.writeFile(path.join(busy, 'notes.txt'), 'x');
    await t.rejects(initPki({ dir: busy }), {
      code: 'pki-already-initialised',
      message: /is not empty/,
    });
    t.same(await fs.readdir(busy), ['notes.txt'], 'untouched');
    const empty = path.join(base, 'empty');
    await fs.mkdir(empty);
    await initPki({ dir: empty });
    t.ok((await fs.readdir(empty)).includes('index.json'));
    t.same((await fs.readdir(base)).sort(), ['busy', 'empty'], 'no staging directory left behind');
    await t.rejects(initPki({ dir: path.join(base, 'x'), crlDays: 0 }), {
      code: 'pki-invalid-request',
    });
  },
);

void t.test(
  'issue writes cert, chain and a 0600 key, records the certificate, refuses to overwrite',
  async (t) => {
    const pki = await makePki(t);
    const outDir = path.join(path.dirname(pki.paths.dir), 'gw-01');
    const result = await issueCertificate({ dir: pki.paths.dir, request: BOX, outDir });
    t.equal(await mode(result.files.key), 0o600);
    t.equal(await mode(result.files.cert), 0o644);
    const chain = await fs.readFile(result.files.chain, 'utf8');
    const cert = await fs.readFile(result.files.cert, 'utf8');
    t.equal(count(chain, 'CERTIFICATE'), 2, 'leaf + intermediate');
    t.ok(chain.startsWith(cert), 'leaf first');
    t.ok(
      chain.endsWith(await fs.readFile(pki.paths.caCert('boxes'), 'utf8')),
      'then its intermediate',
    );
    const leaf = new X509Certificate(cert);
    t.equal(leaf.serialNumber, result.serial);
    t.equal(
      await fs.readFile(pki.paths.issuedCert(result.serial), 'utf8'),
      cert,
      'copy kept in issued/',
    );
    const entry = (await readIndex(pki.paths)).certificates.find((c) => c.serial === result.serial);
    t.match(entry, {
      kind: 'box',
      issuer: 'boxes',
      commonName: 'box:residence-les-tilleuls:gw-01',
      identity: 'urn:vigie:box:residence-les-tilleuls:gw-01',
      san: ['URI:urn:vigie:box:residence-les-tilleuls:gw-01'],
      revokedAt: null,
      reason: null,
      fingerprint256: leaf.fingerprint256,
    });
    const before = await fs.readFile(result.files.key, 'utf8');
    await t.rejects(issueCertificate({ dir: pki.paths.dir, request: BOX, outDir }), {
      code: 'file-exists',
    });
    t.equal(await fs.readFile(result.files.key, 'utf8'), before, 'the key was not replaced');
    t.equal(
      (await readIndex(pki.paths)).certificates.length,
      5,
      'the refused issue left no record',
    );
  },
);

void t.test('leaf validity: defaults per kind, --days, and never past the CA', async (t) => {
  const pki = await makePki(t);
  const now = new Date('2030-01-01T00:00:00Z');
  const days = async (dir: string) => {
    const c = new X509Certificate(await fs.readFile(path.join(dir, 'cert.pem')));
    return Math.round((Date.parse(c.validTo) - now.getTime()) / DAY_MS);
  };
  t.equal(await days(await pki.issue(BOX, { now })), DEFAULT_VALIDITY_DAYS.box);
  t.equal(await days(await pki.issue(BROKER, { now })), 397);
  t.equal(await days(await pki.issue(VIEWER, { now })), 365);
  t.equal(await days(await pki.issue({ ...BOX, boxId: 'b2' }, { now, days: 30 })), 30);
  const dir = await pki.issue({ ...BOX, boxId: 'b3' }, { now });
  const c = new X509Certificate(await fs.readFile(path.join(dir, 'cert.pem')));
  t.equal(
    Date.parse(c.validFrom),
    now.getTime() - 5 * 60_000,
    'backdated 5 minutes for clock skew',
  );
  await t.rejects(pki.issue({ ...BOX, boxId: 'b4' }, { days: 1827 }), {
    code: 'pki-invalid-request',
    message: /after the boxes CA expires/,
  });
  await t.rejects(pki.issue({ ...BOX, boxId: 'b5' }, { days: 0 }), { code: 'pki-invalid-request' });
  await t.rejects(pki.issue({ ...BOX, boxId: 'b6' }, { days: 1.5 }), {
    code: 'pki-invalid-request',
  });
  await t.rejects(
    pki.issue({ ...BOX, boxId: 'b7' }, { validity: { notBefore: now, notAfter: now } }),
    { code: 'pki-invalid-request', message: /is not before/ },
  );
  t.same(CERT_PROFILES.box.extKeyUsage, ['clientAuth']);
});

void t.test(
  'revoke by serial or unambiguous name, then only the issuing CA re-signs',
  async (t) => {
    const pki = await makePki(t);
    const dir = pki.paths.dir;
    const first = await issueCertificate({ dir, request: BOX, outDir: path.join(dir, '..', 'a') });
    await issueCertificate({ dir, request: BOX, outDir: path.join(dir, '..', 'b') });
    await pki.issue(VIEWER);
    const byName = (name: string) =>
      revokeCertificate({ dir, target: { name }, reason: 'cessation-of-operation' });

    await t.rejects(byName('urn:vigie:box:residence-les-tilleuls:gw-01'), {
      code: 'pki-ambiguous-name',
      message: /matches 2 unrevoked certificates.*revoke with --serial/,
    });
    const spaced = first.serial.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    const result = await revokeCertificate({
      dir,
      target: { serial: spaced },
      reason: 'superseded',
    });
    t.equal(result.serial, first.serial, 'serials may be typed in lowercase with colons');
    t.same([result.crl.purpose, result.crl.revoked], ['boxes', 1]);
    const second = await byName('box:residence-les-tilleuls:gw-01'); // now only one is live
    t.not(second.serial, first.serial);

    const index = await readIndex(pki.paths);
    t.same(index.crlNumbers, { root: 1, boxes: 3, services: 1, people: 1 });
    const entry = index.certificates.find((c) => c.serial === first.serial);
    t.match(entry, { reason: 'superseded', revokedAt: /^\d{4}-\d\d-\d\dT/ });
    const person = index.certificates.find((c) => c.kind === 'person');
    t.equal(person?.revokedAt, null, 'others untouched');
  },
);

void t.test('revoke refuses what it cannot or must not do', async (t) => {
  const pki = await makePki(t);
  const dir = pki.paths.dir;
  const box = await issueCertificate({ dir, request: BOX, outDir: path.join(dir, '..', 'a') });
  const revoke = (target: { serial: string } | { name: string }, reason = 'superseded') =>
    revokeCertificate({ dir, target, reason });
  await revoke({ serial: box.serial });
  await t.rejects(revoke({ serial: box.serial }), { code: 'pki-already-revoked' });
  await t.rejects(revoke({ name: 'box:residence-les-tilleuls:gw-01' }), {
    code: 'pki-already-revoked',
  });
  await t.rejects(revoke({ name: 'nobody' }), { code: 'pki-unknown-certificate' });
  await t.rejects(revoke({ serial: '0123' }), { code: 'pki-unknown-certificate' });
  await t.rejects(revoke({ name: 'Vigie Root CA' }), {
    code: 'pki-invalid-request',
    message: /root CA cannot be revoked/,
  });
  await t.rejects(revoke({ name: 'Vigie People CA' }, 'removeFromCRL'), {
    code: 'pki-invalid-request',
    message: /is not one of/,
  });
  t.same((await readIndex(pki.paths)).crlNumbers, { root: 1, boxes: 2, services: 1, people: 1 });
});

void t.test('crl re-signs every CRL with the next number and the chosen validity', async (t) => {
  const pki = await makePki(t);
  const now = new Date('2030-06-01T12:00:00Z');
  const summaries = await regenerateCrls({ dir: pki.paths.dir, days: 3, now });
  t.same(
    summaries.map((s) => [s.purpose, s.crlNumber, s.nextUpdate]),
    ALL_CA_PURPOSES.map((p) => [p, 2, '2030-06-04T12:00:00.000Z']),
  );
  t.same((await readIndex(pki.paths)).crlNumbers, { root: 2, boxes: 2, services: 2, people: 2 });
  await t.rejects(regenerateCrls({ dir: pki.paths.dir, days: 365 }), {
    code: 'pki-invalid-request',
    message: /from 1 to 90/,
  });
});

void t.test('one writer at a time: concurrent commands never lose a certificate', async (t) => {
  const pki = await makePki(t);
  const attempts = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => pki.issue({ ...BOX, boxId: `gw-${i}` })),
  );
  const refused = attempts.filter((a) => a.status === 'rejected');
  for (const r of refused) t.match(r.reason, { code: 'pki-locked' });
  const issued = attempts.length - refused.length;
  t.ok(issued >= 1);
  t.equal(
    (await readIndex(pki.paths)).certificates.length,
    4 + issued,
    'every issued leaf is recorded',
  );
  await fs.writeFile(pki.paths.lock, '4242\n');
  await t.rejects(pki.issue({ ...BOX, boxId: 'late' }), {
    code: 'pki-locked',
    message: /pid 4242.*remove .*\.lock/,
  });
  await fs.rm(pki.paths.lock);
});

void t.test('a missing or damaged PKI is reported as such', async (t) => {
  const base = await tempDir(t);
  await t.rejects(
    issueCertificate({ dir: path.join(base, 'none'), request: BOX, outDir: path.join(base, 'o') }),
    { code: 'pki-not-initialised', message: /vigie pki init/ },
  );
  const pki = await makePki(t);
  await fs.writeFile(pki.paths.index, '{"version":1}');
  await t.rejects(regenerateCrls({ dir: pki.paths.dir }), {
    code: 'pki-index-invalid',
    message: /organization/,
  });
  await fs.writeFile(pki.paths.index, 'not json');
  await t.rejects(regenerateCrls({ dir: pki.paths.dir }), { code: 'pki-index-invalid' });
  t.equal(pkiPaths('rel').dir, path.resolve('rel'));
});

void t.test('list shows every certificate with its status in Paris time', async (t) => {
  const pki = await makePki(t);
  const issued = await issueCertificate({
    dir: pki.paths.dir,
    request: BOX,
    outDir: path.join(pki.paths.dir, '..', 'x'),
  });
  await revokeCertificate({
    dir: pki.paths.dir,
    target: { serial: issued.serial },
    reason: 'key-compromise',
  });
  const table = formatCertificateTable((await readIndex(pki.paths)).certificates);
  const lines = table.trimEnd().split('\n');
  t.equal(lines.length, 6, 'header + 4 CAs + 1 box');
  t.match(lines[0], /^SERIAL\s+KIND\s+ISSUER\s+NAME\s+IDENTITY\s+NOT AFTER\s+STATUS$/);
  t.match(
    lines[5],
    new RegExp(`^${issued.serial}\\s+box\\s+boxes\\s+box:residence-les-tilleuls:gw-01`),
  );
  t.match(lines[5], /revoked \d{4}-\d\d-\d\d \d\d:\d\d \+0[12]:00 \(key-compromise\)$/);
  t.match(lines[1], /\+0[12]:00\s+valid$/);
});
