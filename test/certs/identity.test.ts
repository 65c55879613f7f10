/**
 * Identities in certificates: the URI forms, the strict parser, and
 * identityFromCertificate over real certificates read by node:crypto.
 */
import t from 'tap';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import {
  caPurposeFromCertificate,
  ID_PATTERN,
  identityFromCertificate,
  identityUri,
  isValidId,
  parseIdentityUri,
  parseSubjectAltName,
  PERSON_ROLES,
  slugify,
  type Identity,
} from '../../certs/src/identity.js';
import { addDays, CERT_PROFILES } from '../../certs/src/cert-profiles.js';
import { generateKeyPair, randomSerialHex } from '../../certs/src/keys.js';
import { describeLeaf } from '../../certs/src/leaf-request.js';
import { createCertificatePem } from '../../certs/src/x509-adapter.js';
import { BOX, BROKER, makePki, tempDir, VIEWER } from './helpers.js';

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-'.split('');
const validId = fc
  .tuple(
    fc.constantFrom(...ID_CHARS.filter((c) => c !== '-')),
    fc.array(fc.constantFrom(...ID_CHARS), { maxLength: 62 }),
  )
  .map(([first, rest]) => first + rest.join(''));

const identity: fc.Arbitrary<Identity> = fc.oneof(
  fc.record({ kind: fc.constant('box' as const), siteId: validId, boxId: validId }),
  fc.record({ kind: fc.constant('service' as const), name: validId }),
  fc.record({
    kind: fc.constant('person' as const),
    role: fc.constantFrom(...PERSON_ROLES),
    name: validId,
  }),
);

async function certOf(dir: string): Promise<X509Certificate> {
  return new X509Certificate(await fs.readFile(path.join(dir, 'cert.pem')));
}

void t.test('the id charset is 1-63 of a-z, 0-9 and "-", not starting with "-"', (t) => {
  t.ok(isValidId('a'));
  t.ok(isValidId('0'));
  t.ok(isValidId('residence-les-tilleuls'));
  t.ok(isValidId('a'.repeat(63)));
  for (const bad of ['', '-a', 'A', 'a_b', 'a.b', 'a:b', 'a b', 'é', 'a'.repeat(64), 'a\n']) {
    t.notOk(isValidId(bad), JSON.stringify(bad));
  }
  fc.assert(fc.property(validId, (id) => ID_PATTERN.test(id)));
  fc.assert(
    fc.property(
      fc.string({ maxLength: 70 }),
      (s) => isValidId(s) === /^[a-z0-9][a-z0-9-]{0,62}$/.test(s),
    ),
  );
  t.end();
});

void t.test('identity URIs round trip for every valid id (property)', (t) => {
  fc.assert(
    fc.property(identity, (id) => isDeepStrictEqual(parseIdentityUri(identityUri(id)), { ...id })),
    { numRuns: 500 },
  );
  t.pass('500 identities round tripped');
  t.end();
});

void t.test('the URI parser refuses anything outside the exact forms (property)', (t) => {
  const refused = [
    'urn:vigie:box:site',
    'urn:vigie:box:site:box:extra',
    'urn:vigie:box:Site:box',
    'urn:vigie:service:',
    'urn:vigie:service:a:b',
    'urn:vigie:person:root:alice',
    'urn:vigie:person:viewer',
    'urn:vigie:ca:boxes',
    'urn:other:box:a:b',
    'URN:VIGIE:box:a:b',
    'urn:vigie:box:a:b ',
  ];
  for (const uri of refused) t.equal(parseIdentityUri(uri), null, uri);
  fc.assert(
    fc.property(identity, fc.string({ minLength: 1, maxLength: 3 }), (id, junk) => {
      const parsed = parseIdentityUri(identityUri(id) + junk);
      // Appending characters either breaks the form or stays inside the charset.
      return parsed === null || identityUri(parsed) === identityUri(id) + junk;
    }),
  );
  t.end();
});

void t.test('identityFromCertificate reads each kind from real certificates', async (t) => {
  const pki = await makePki(t);
  t.strictSame(identityFromCertificate(await certOf(await pki.issue(BOX))), {
    kind: 'box',
    siteId: 'residence-les-tilleuls',
    boxId: 'gw-01',
  });
  t.strictSame(identityFromCertificate(await certOf(await pki.issue(BROKER))), {
    kind: 'service',
    name: 'broker',
  });
  t.strictSame(identityFromCertificate(await certOf(await pki.issue(VIEWER))), {
    kind: 'person',
    role: 'viewer',
    name: 'jeanne-dupont',
  });
  const root = new X509Certificate(await fs.readFile(pki.paths.caCert('root')));
  t.equal(identityFromCertificate(root), null, 'a CA certificate is nobody');
  t.equal(caPurposeFromCertificate(root), 'root');
  const boxes = new X509Certificate(await fs.readFile(pki.paths.caCert('boxes')));
  t.equal(caPurposeFromCertificate(boxes), 'boxes');
});

void t.test('identityFromCertificate accepts the PeerCertificate of a TLS socket', async (t) => {
  const pki = await makePki(t);
  const box = await certOf(await pki.issue(BOX));
  // getPeerCertificate() and checkServerIdentity hand out this shape.
  const peer = { ca: false, subjectaltname: box.subjectAltName } as unknown as tls.PeerCertificate;
  t.strictSame(identityFromCertificate(peer), {
    kind: 'box',
    siteId: 'residence-les-tilleuls',
    boxId: 'gw-01',
  });
});

function opensslSelfSigned(dir: string, san: string): Promise<string> {
  const file = path.join(dir, `${Math.random().toString(16).slice(2)}.pem`);
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, 'k.pem'),
        '-out',
        file,
        '-subj',
        '/CN=foreign',
        '-days',
        '1',
        '-addext',
        `subjectAltName=${san}`,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ],
      { timeout: 10_000 },
      (err) => (err ? reject(new Error(`openssl req failed: ${err.message}`)) : resolve(file)),
    );
  });
}

void t.test('foreign or crafted certificates carry no identity', async (t) => {
  const dir = await tempDir(t);
  const read = async (san: string) =>
    identityFromCertificate(
      new X509Certificate(await fs.readFile(await opensslSelfSigned(dir, san))),
    );
  t.equal(await read('DNS:example.org'), null, 'no URI at all');
  t.equal(await read('URI:https://example.org/box'), null, 'a URI that is not ours');
  t.equal(
    await read('URI:urn:vigie:box:a:b,URI:urn:vigie:box:c:d'),
    null,
    'two identities: ambiguous, refused',
  );
  t.equal(
    await read('URI:urn:vigie:box:a:b,URI:urn:vigie:service:broker'),
    null,
    'two identities of different kinds: refused',
  );
  t.strictSame(await read('URI:urn:vigie:service:broker,DNS:x.example'), {
    kind: 'service',
    name: 'broker',
  });
});

void t.test('a comma inside one URI cannot smuggle a second identity', async (t) => {
  const keys = await generateKeyPair();
  const now = new Date();
  const pem = await createCertificatePem({
    serial: randomSerialHex(),
    subject: { commonName: 'mallory', organization: 'Elsewhere' },
    san: { uris: ['urn:vigie:x, URI:urn:vigie:service:broker'], dns: [], ips: [] },
    profile: CERT_PROFILES.service,
    notBefore: now,
    notAfter: addDays(now, 1),
    publicKey: keys.publicKey,
    issuer: { selfSigned: true, signingKey: keys.privateKey },
  });
  const cert = new X509Certificate(pem);
  t.equal(
    cert.subjectAltName,
    'URI:"urn:vigie:x\\u002c URI:urn:vigie:service:broker"',
    'Node quotes it',
  );
  t.equal(identityFromCertificate(cert), null);
});

void t.test('a CA certificate is nobody, whatever URI it carries', async (t) => {
  const keys = await generateKeyPair();
  const now = new Date();
  const pem = await createCertificatePem({
    serial: randomSerialHex(),
    subject: { commonName: 'rogue CA', organization: 'Elsewhere' },
    san: { uris: ['urn:vigie:box:site:box'], dns: [], ips: [] },
    profile: CERT_PROFILES.intermediate,
    notBefore: now,
    notAfter: addDays(now, 1),
    publicKey: keys.publicKey,
    issuer: { selfSigned: true, signingKey: keys.privateKey },
  });
  t.equal(identityFromCertificate(new X509Certificate(pem)), null);
});

void t.test('the SAN parser honours the quoting Node applies since CVE-2021-44532', (t) => {
  t.strictSame(parseSubjectAltName('DNS:a, URI:urn:vigie:service:x, IP Address:127.0.0.1'), [
    { type: 'DNS', value: 'a' },
    { type: 'URI', value: 'urn:vigie:service:x' },
    { type: 'IP Address', value: '127.0.0.1' },
  ]);
  t.strictSame(
    parseSubjectAltName('URI:"urn:vigie:x\\u002c URI:urn:vigie:service:broker", DNS:b'),
    [
      { type: 'URI', value: 'urn:vigie:x, URI:urn:vigie:service:broker' },
      { type: 'DNS', value: 'b' },
    ],
  );
  t.strictSame(parseSubjectAltName(undefined), []);
  t.throws(() => parseSubjectAltName('URI:"unterminated'));
  t.end();
});

void t.test('person names become slugs; refused names say why', (t) => {
  t.equal(slugify('Jeanne Dupont-Léger'), 'jeanne-dupont-leger');
  t.equal(slugify("  Élodie  O'Brien "), 'elodie-o-brien');
  t.equal(
    describeLeaf({ kind: 'person', displayName: 'Brigadier Ç. Nguyễn', role: 'viewer' })
      .identityUri,
    'urn:vigie:person:viewer:brigadier-c-nguyen',
  );
  t.throws(() => describeLeaf({ kind: 'person', displayName: '李雷', role: 'viewer' }), {
    code: 'pki-invalid-name',
    message: /name slug of "李雷"/,
  });
  t.throws(() => describeLeaf({ kind: 'person', displayName: 'A\u0007B', role: 'viewer' }), {
    code: 'pki-invalid-name',
  });
  t.throws(
    () => describeLeaf({ kind: 'person', displayName: 'box:borny-hauts:gw-01', role: 'operator' }),
    { code: 'pki-invalid-name', message: /has no colon/ },
    "a person's CN can never pass for a box's",
  );
  t.throws(() => describeLeaf({ kind: 'person', displayName: 'Al', role: 'root' as 'viewer' }), {
    code: 'pki-invalid-name',
    message: /role "root" is not one of viewer, operator, admin/,
  });
  t.throws(() => describeLeaf({ kind: 'box', siteId: 'Site 1', boxId: 'gw' }), {
    code: 'pki-invalid-name',
    message: /site id "Site 1" is not allowed/,
  });
  t.throws(() => describeLeaf({ kind: 'service', name: 'broker', dns: [], ips: [] }), {
    code: 'pki-invalid-name',
    message: /needs at least one --dns name or --ip address/,
  });
  t.throws(
    () => describeLeaf({ kind: 'service', name: 'broker', dns: ['*.emh.example'], ips: [] }),
    {
      code: 'pki-invalid-name',
      message: /no wildcards/,
    },
  );
  t.throws(() => describeLeaf({ kind: 'service', name: 'broker', dns: [], ips: ['300.1.1.1'] }), {
    code: 'pki-invalid-name',
  });
  t.strictSame(
    describeLeaf({ kind: 'service', name: 'broker', dns: ['Broker.EMH.example.'], ips: ['::1'] })
      .dns,
    ['broker.emh.example'],
  );
  t.end();
});

void t.test(
  'identity survives issuing for arbitrary valid ids (property, real certificates)',
  async (t) => {
    const pki = await makePki(t);
    await fc.assert(
      fc.asyncProperty(validId, validId, async (siteId, boxId) => {
        const dir = await pki.issue({ kind: 'box', siteId, boxId });
        const found = identityFromCertificate(await certOf(dir));
        return found?.kind === 'box' && found.siteId === siteId && found.boxId === boxId;
      }),
      { numRuns: 25 },
    );
    t.pass('25 boxes issued and read back');
  },
);
