/**
 * The shared TLS profile against real Node TLS peers on loopback: what a
 * server with `requireClientCert` accepts and refuses, and why (the OpenSSL
 * verification code the server records), and what a client refuses.
 */
import t, { type Test } from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { CERT_PROFILES, addDays } from '../../certs/src/cert-profiles.js';
import { caUri, identityUri, type Identity } from '../../certs/src/identity.js';
import { exportPrivateKeyPem, generateKeyPair, randomSerialHex } from '../../certs/src/keys.js';
import { authorisePeer, tlsClientRefusal, type PeerPolicy } from '../../certs/src/peer-auth.js';
import { loadCa } from '../../certs/src/pki-ca.js';
import { regenerateCrls } from '../../certs/src/pki-crl.js';
import { revokeCertificate } from '../../certs/src/pki-revoke.js';
import {
  clientTlsOptions,
  connectTls,
  serverTlsOptions,
  type TlsMaterial,
} from '../../certs/src/tls-profile.js';
import { createCertificatePem } from '../../certs/src/x509-adapter.js';
import type { CaPurpose } from '../../certs/src/identity.js';
import { BOX, BROKER, makePki, nextEvent, tempDir, VIEWER, type TestPki } from './helpers.js';

interface TestServer {
  port: number;
  /** Resolves with the next refusal reason (tlsClientError or authorisation). */
  nextRefusal(): Promise<string>;
}

async function startServer(
  t: Test,
  options: tls.TlsOptions,
  material: TlsMaterial,
  policy: PeerPolicy = { allow: ['box', 'service', 'person'] },
): Promise<TestServer> {
  const server = tls.createServer(options);
  server.on('tlsClientError', (err, socket) => {
    server.emit('refused', tlsClientRefusal(err, socket).reason);
  });
  server.on('secureConnection', (socket) => {
    try {
      const identity = authorisePeer(socket, material, policy);
      socket.end(`hello ${identityUri(identity)}`);
    } catch (err) {
      server.emit('refused', (err as { code?: string }).code ?? 'unknown');
      socket.destroy();
    }
  });
  server.listen(0, '127.0.0.1');
  await nextEvent(server, 'listening');
  t.teardown(async () => {
    server.close();
    await nextEvent(server, 'close').catch(() => undefined);
  });
  return {
    port: (server.address() as { port: number }).port,
    nextRefusal: async () => (await nextEvent(server, 'refused'))[0] as string,
  };
}

interface Outcome {
  data: string;
  errorCode: string | undefined;
}

/** Connects, collects what the server says, resolves when the socket closes (bounded). */
async function attempt(port: number, options: tls.ConnectionOptions): Promise<Outcome> {
  const socket = tls.connect({ ...options, host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let data = '';
  let errorCode: string | undefined;
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => (errorCode = err.code ?? err.message));
  // Not events.once: it would reject on the 'error' that some cases expect.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the connection did not close within 5 s')),
      5000,
    );
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { data, errorCode };
}

async function mtlsServer(t: Test, pki: TestPki, policy?: PeerPolicy) {
  const material = await pki.material(await pki.issue(BROKER));
  const server = await startServer(
    t,
    serverTlsOptions(material, { requireClientCert: true }),
    material,
    policy,
  );
  return { server, material };
}

async function leafFiles(dir: string): Promise<{ cert: string; key: string }> {
  return {
    cert: await fs.readFile(path.join(dir, 'chain.pem'), 'utf8'),
    key: await fs.readFile(path.join(dir, 'key.pem'), 'utf8'),
  };
}

/** A leaf signed by the CA of `purpose` but claiming `identity`: what a stolen CA key could mint. */
async function forgeLeaf(
  t: Test,
  pki: TestPki,
  purpose: CaPurpose,
  identity: Identity,
  profile: keyof typeof CERT_PROFILES,
): Promise<string> {
  const ca = await loadCa(pki.paths, purpose);
  const keys = await generateKeyPair();
  const now = new Date();
  const certPem = await createCertificatePem({
    serial: randomSerialHex(),
    subject: { commonName: 'forged', organization: 'Vigie' },
    san: { uris: [identityUri(identity)], dns: ['localhost'], ips: ['127.0.0.1'] },
    profile: CERT_PROFILES[profile],
    notBefore: addDays(now, -1),
    notAfter: addDays(now, 30),
    publicKey: keys.publicKey,
    issuer: { selfSigned: false, certPem: ca.certPem, signingKey: ca.signingKey },
  });
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'chain.pem'), certPem + ca.certPem);
  await fs.writeFile(path.join(dir, 'key.pem'), await exportPrivateKeyPem(keys.privateKey), {
    mode: 0o600,
  });
  return dir;
}

void t.test('server profile options: TLS 1.3 only, our CAs, mTLS, CRLs, no Nagle', async (t) => {
  const pki = await makePki(t);
  const material = await pki.material(await pki.issue(BROKER));
  const options = serverTlsOptions(material, { requireClientCert: true });
  t.equal(options.minVersion, 'TLSv1.3');
  t.equal(options.maxVersion, 'TLSv1.3');
  t.equal(options.requestCert, true);
  t.equal(options.rejectUnauthorized, true);
  t.equal(options.noDelay, true);
  t.equal(options.ca, material.ca);
  t.ok(Array.isArray(options.crl) && options.crl.length === 4, 'one CRL per CA, as an array');
  const client = clientTlsOptions(material, { servername: 'broker.emh.example' });
  t.equal(client.servername, 'broker.emh.example');
  t.equal(client.rejectUnauthorized, true);
  t.equal(typeof client.checkServerIdentity, 'function');
  const byIp = clientTlsOptions(material, { servername: '127.0.0.1' });
  t.equal(byIp.servername, undefined, 'no IP address in SNI (RFC 6066)');
  t.notMatch(
    JSON.stringify(material),
    /PRIVATE KEY/,
    'the key does not travel with JSON or spreads',
  );
});

void t.test('an mTLS server accepts a box certificate and knows who it is', async (t) => {
  const pki = await makePki(t);
  const { server } = await mtlsServer(t, pki);
  const box = await pki.material(await pki.issue(BOX));
  const outcome = await attempt(server.port, clientTlsOptions(box, { servername: 'localhost' }));
  t.equal(outcome.errorCode, undefined);
  t.equal(outcome.data, 'hello urn:vigie:box:residence-les-tilleuls:gw-01');

  const socket = connectTls(box, { host: '127.0.0.1', port: server.port, servername: 'localhost' });
  const [greeting] = (await nextEvent(socket, 'data')) as [Buffer];
  t.equal(greeting.toString(), 'hello urn:vigie:box:residence-les-tilleuls:gw-01', 'connectTls');
  t.equal(socket.getProtocol(), 'TLSv1.3');
  socket.destroy();
});

void t.test('an mTLS server refuses certificates it must not trust, and records why', async (t) => {
  const pki = await makePki(t);
  const { server, material } = await mtlsServer(t, pki);
  const base = clientTlsOptions(material, { servername: 'localhost' });
  const now = new Date();

  const revokedDir = await pki.issue({ ...BOX, boxId: 'gw-revoked' });
  await revokeCertificate({
    dir: pki.paths.dir,
    target: { name: 'urn:vigie:box:residence-les-tilleuls:gw-revoked' },
    reason: 'key-compromise',
  });
  // The server loaded its CRLs before the revocation: reload, as a real one does on SIGHUP.
  const reloaded = await mtlsServer(t, pki);
  const expiredDir = await pki.issue(
    { ...BOX, boxId: 'gw-expired' },
    { validity: { notBefore: addDays(now, -30), notAfter: addDays(now, -1) } },
  );
  // Same organisation, hence the same CA names: only the keys differ.
  const foreign = await makePki(t);
  const foreignDir = await foreign.issue(BOX);

  const cases: [string, TestServer, tls.ConnectionOptions, string][] = [
    ['revoked', reloaded.server, { ...base, ...(await leafFiles(revokedDir)) }, 'CERT_REVOKED'],
    ['expired', server, { ...base, ...(await leafFiles(expiredDir)) }, 'CERT_HAS_EXPIRED'],
    // OpenSSL goes on after "unable to get local issuer" and Node reports the
    // last problem: no CRL can be found for an unknown CA.
    ['another CA', server, { ...base, ...(await leafFiles(foreignDir)) }, 'UNABLE_TO_GET_CRL'],
  ];
  for (const [label, srv, options, reason] of cases) {
    const refusal = srv.nextRefusal();
    const outcome = await attempt(srv.port, options);
    t.equal(await refusal, reason, `${label}: refused with ${reason}`);
    t.equal(outcome.data, '', `${label}: the client got nothing from the server`);
  }
});

void t.test(
  'without CRLs a foreign certificate shows its real fault: unknown issuer',
  async (t) => {
    const pki = await makePki(t);
    const material = await pki.material(await pki.issue(BROKER), { crlFile: null });
    const server = await startServer(
      t,
      serverTlsOptions(material, { requireClientCert: true }),
      material,
    );
    const foreign = await makePki(t);
    const refusal = server.nextRefusal();
    const outcome = await attempt(server.port, {
      ...clientTlsOptions(material, { servername: 'localhost' }),
      ...(await leafFiles(await foreign.issue(BOX))),
    });
    t.equal(await refusal, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    t.equal(outcome.data, '');
  },
);

void t.test('Node refuses a leaf whose intermediate CA was revoked (root CRL)', async (t) => {
  const pki = await makePki(t);
  const boxDir = await pki.issue(BOX);
  await revokeCertificate({
    dir: pki.paths.dir,
    target: { name: 'Vigie Boxes CA' },
    reason: 'ca-compromise',
  });
  const { server, material } = await mtlsServer(t, pki);
  const refusal = server.nextRefusal();
  const outcome = await attempt(server.port, {
    ...clientTlsOptions(material, { servername: 'localhost' }),
    ...(await leafFiles(boxDir)),
  });
  t.equal(await refusal, 'CERT_REVOKED');
  t.equal(outcome.data, '');
});

void t.test('an mTLS server refuses a client with no certificate', async (t) => {
  const pki = await makePki(t);
  const { server, material } = await mtlsServer(t, pki);
  const refusal = server.nextRefusal();
  const outcome = await attempt(server.port, {
    ...clientTlsOptions(material, { servername: 'localhost' }),
    cert: undefined,
    key: undefined,
  });
  t.equal(await refusal, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  t.equal(outcome.errorCode, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'TLS alert 116');
  t.equal(outcome.data, '');
});

void t.test('a server refuses a TLS 1.2-only client', async (t) => {
  const pki = await makePki(t);
  const { server, material } = await mtlsServer(t, pki);
  const box = await pki.material(await pki.issue(BOX));
  const refusal = server.nextRefusal();
  const outcome = await attempt(server.port, {
    ...clientTlsOptions(box, { servername: 'localhost' }),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
  });
  t.equal(await refusal, 'ERR_SSL_UNSUPPORTED_PROTOCOL');
  t.equal(outcome.errorCode, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'TLS alert 70');
  t.ok(material.ca.length > 0);
});

void t.test('a client refuses a server whose name does not match', async (t) => {
  const pki = await makePki(t);
  const { server } = await mtlsServer(t, pki);
  const box = await pki.material(await pki.issue(BOX));
  for (const servername of ['broker.emh.example', '127.0.0.2']) {
    const outcome = await attempt(server.port, clientTlsOptions(box, { servername }));
    t.equal(outcome.errorCode, 'ERR_TLS_CERT_ALTNAME_INVALID', servername);
    t.equal(outcome.data, '');
  }
  const byIp = await attempt(server.port, clientTlsOptions(box, { servername: '127.0.0.1' }));
  t.equal(byIp.errorCode, undefined, 'the IP SAN matches');
  t.match(byIp.data, /^hello /);
});

void t.test('a client refuses a server that is not a service of our services CA', async (t) => {
  const pki = await makePki(t);
  const box = await pki.material(await pki.issue(BOX));
  const forgedDir = await forgeLeaf(
    t,
    pki,
    'boxes',
    { kind: 'service', name: 'broker' },
    'service',
  );
  const forged = await pki.material(forgedDir);
  const server = await startServer(
    t,
    serverTlsOptions(forged, { requireClientCert: true }),
    forged,
  );
  const outcome = await attempt(server.port, clientTlsOptions(box, { servername: 'localhost' }));
  t.equal(outcome.errorCode, 'tls-peer-refused');
  t.equal(outcome.data, '');

  const register = await pki.material(await pki.issue({ ...BROKER, name: 'register' }));
  const other = await startServer(
    t,
    serverTlsOptions(register, { requireClientCert: true }),
    register,
  );
  const pinned = await attempt(
    other.port,
    clientTlsOptions(box, { servername: 'localhost', expect: { serviceName: 'broker' } }),
  );
  t.equal(
    pinned.errorCode,
    'tls-peer-refused',
    'a client pinned to the broker refuses the register',
  );
  const unpinned = await attempt(other.port, clientTlsOptions(box, { servername: 'localhost' }));
  t.equal(unpinned.errorCode, undefined);
});

void t.test('authorisation checks the identity kind and the CA that issued it', async (t) => {
  const pki = await makePki(t);
  const { server, material } = await mtlsServer(t, pki, {
    allow: ['person'],
    personRoles: ['viewer'],
  });
  const base = clientTlsOptions(material, { servername: 'localhost' });

  const viewer = await attempt(server.port, {
    ...base,
    ...(await leafFiles(await pki.issue(VIEWER))),
  });
  t.equal(viewer.data, 'hello urn:vigie:person:viewer:jeanne-dupont');

  const cases: [string, string][] = [
    ['a box where only people may come', await pki.issue(BOX)],
    ['an operator where only viewers may come', await pki.issue({ ...VIEWER, role: 'operator' })],
    [
      'a "viewer" minted by the boxes CA',
      await forgeLeaf(
        t,
        pki,
        'boxes',
        { kind: 'person', role: 'viewer', name: 'mallory' },
        'person',
      ),
    ],
  ];
  for (const [label, dir] of cases) {
    const refusal = server.nextRefusal();
    const outcome = await attempt(server.port, { ...base, ...(await leafFiles(dir)) });
    t.equal(await refusal, 'tls-peer-refused', label);
    t.equal(outcome.data, '', `${label}: nothing served`);
  }
});

void t.test('Node reads one CRL per string: the bundle must be split', async (t) => {
  const pki = await makePki(t);
  const material = await pki.material(await pki.issue(BROKER));
  const wholeBundle = await fs.readFile(pki.paths.crlBundle, 'utf8');
  const server = await startServer(
    t,
    { ...serverTlsOptions(material, { requireClientCert: true }), crl: wholeBundle },
    material,
  );
  const box = await pki.material(await pki.issue(BOX));
  const refusal = server.nextRefusal();
  await attempt(server.port, clientTlsOptions(box, { servername: 'localhost' }));
  t.equal(await refusal, 'UNABLE_TO_GET_CRL', 'only the root CRL was read: the boxes CA has none');
});

void t.test('Node checks the CRL of every CA in the chain (CRL_CHECK_ALL)', async (t) => {
  const pki = await makePki(t);
  const material = await pki.material(await pki.issue(BROKER));
  const withoutRoot = [
    await fs.readFile(pki.paths.crl('boxes'), 'utf8'),
    await fs.readFile(pki.paths.crl('services'), 'utf8'),
  ];
  const server = await startServer(
    t,
    { ...serverTlsOptions(material, { requireClientCert: true }), crl: withoutRoot },
    material,
  );
  const box = await pki.material(await pki.issue(BOX));
  const refusal = server.nextRefusal();
  await attempt(server.port, clientTlsOptions(box, { servername: 'localhost' }));
  t.equal(await refusal, 'UNABLE_TO_GET_CRL', 'the root CRL (for the boxes CA) is required too');
});

void t.test('an expired CRL fails every handshake until `vigie pki crl` runs', async (t) => {
  const longAgo = addDays(new Date(), -30);
  const pki = await makePki(t, { now: longAgo, crlDays: 7 });
  const brokerDir = await pki.issue(BROKER);
  const boxDir = await pki.issue(BOX);
  const stale = await pki.material(brokerDir);
  const server = await startServer(t, serverTlsOptions(stale, { requireClientCert: true }), stale);
  const boxWithoutCrl = await pki.material(boxDir, { crlFile: null });
  const refusal = server.nextRefusal();
  await attempt(server.port, clientTlsOptions(boxWithoutCrl, { servername: 'localhost' }));
  t.equal(await refusal, 'CRL_HAS_EXPIRED', 'the server refuses with stale CRLs');

  const staleBox = await pki.material(boxDir);
  await regenerateCrls({ dir: pki.paths.dir });
  const fresh = await pki.material(brokerDir);
  const renewed = await startServer(t, serverTlsOptions(fresh, { requireClientCert: true }), fresh);
  const staleClient = await attempt(
    renewed.port,
    clientTlsOptions(staleBox, { servername: 'localhost' }),
  );
  t.equal(staleClient.errorCode, 'CRL_HAS_EXPIRED', 'so does a client with stale CRLs');
  const outcome = await attempt(
    renewed.port,
    clientTlsOptions(await pki.material(boxDir), { servername: 'localhost' }),
  );
  t.match(outcome.data, /^hello urn:vigie:box:/, 'fresh CRLs on both sides: accepted');
});

void t.test('loadTlsMaterial refuses files that do not belong together', async (t) => {
  const pki = await makePki(t);
  const boxDir = await pki.issue(BOX);
  const otherDir = await pki.issue({ ...BOX, boxId: 'gw-02' });
  const files = (certDir: string, keyDir: string) => ({
    caFile: pki.paths.caBundle,
    certFile: path.join(certDir, 'chain.pem'),
    keyFile: path.join(keyDir, 'key.pem'),
    crlFile: pki.paths.crlBundle,
  });
  const { loadTlsMaterial } = await import('../../certs/src/tls-profile.js');
  await t.rejects(loadTlsMaterial(files(boxDir, otherDir)), {
    code: 'tls-material-invalid',
    message: /is not the private key of/,
  });
  const foreign = await makePki(t);
  const foreignDir = await foreign.issue(BOX);
  await t.rejects(loadTlsMaterial(files(foreignDir, foreignDir)), {
    code: 'tls-material-invalid',
    message: /was not issued by a CA in/,
  });
  const now = new Date();
  const expiredDir = await pki.issue(
    { ...BOX, boxId: 'gw-old' },
    { validity: { notBefore: addDays(now, -10), notAfter: addDays(now, -1) } },
  );
  await t.rejects(loadTlsMaterial(files(expiredDir, expiredDir)), {
    code: 'tls-material-invalid',
    message: /expired on/,
  });
  await t.rejects(loadTlsMaterial({ ...files(boxDir, boxDir), crlFile: pki.paths.caBundle }), {
    code: 'tls-material-invalid',
    message: /no PEM "X509 CRL" block/,
  });
  const material = await loadTlsMaterial(files(boxDir, boxDir));
  t.equal(material.caCertificates.length, 4);
  t.equal(material.crl?.length, 4);
  t.match(material.key, /BEGIN PRIVATE KEY/, 'the key is there for node:tls');
  t.notOk(Object.keys(material).includes('key'), 'but not enumerable');
  t.equal(caUri('boxes'), 'urn:vigie:ca:boxes');
});
