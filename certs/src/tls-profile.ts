/**
 * The one TLS profile of Vigie, for every server and client (MQTT broker and
 * clients, gRPC, HTTPS):
 *
 * - TLS 1.3 only (minVersion and maxVersion): no downgrade, no renegotiation,
 *   forward secrecy and an encrypted certificate exchange.
 * - Our CAs only: `ca` replaces Node's public roots, so a certificate from any
 *   public CA is refused.
 * - Mutual TLS where asked: `requestCert` and `rejectUnauthorized` together.
 * - CRLs honoured: with `crl` set, Node turns on X509_V_FLAG_CRL_CHECK |
 *   X509_V_FLAG_CRL_CHECK_ALL, so every CA in the chain needs a current CRL:
 *   pass crl-bundle.pem (all four), refreshed by `vigie pki crl`.
 * - Server identity always checked: clients name the server they expect and
 *   our checkServerIdentity runs Node's tls.checkServerIdentity against that
 *   name (DNS or IP SAN), then requires a service certificate issued by our
 *   services CA. SNI carries the name unless it is an IP address (RFC 6066).
 * - No Nagle: right after a TLS 1.3 mTLS handshake the server sends small
 *   records (session tickets, then e.g. the MQTT CONNACK); Nagle holds the
 *   second back until the client's delayed ACK. Measured on loopback with
 *   Mosquitto: mqtt.js connect 47.7 ms median with Nagle, 5.9 ms with
 *   `set_tcp_nodelay true` (the issue measured ~51 vs 6.6 ms; docs/pki.md).
 *   Servers get `noDelay: true`; Node 20's tls.connect ignores that option, so
 *   clients call setNoDelay on the socket (connectTls does it).
 *
 * Verification is node:tls and node:crypto only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { VigieError } from '../../lib/src/errors.js';
import { readTextFile } from '../../lib/src/files.js';
import { checkServerIsService, type ServerExpectation } from './peer-auth.js';

export const TLS_VERSION = 'TLSv1.3' as const;

export interface TlsMaterialFiles {
  caFile: string; // ca-bundle.pem: root and intermediates
  certFile: string; // chain.pem: leaf then its intermediate
  keyFile: string; // key.pem
  /** crl-bundle.pem; `null` only where no CRL can be had yet (say why at the call site). */
  crlFile: string | null;
}

/**
 * PEM texts ready for node:tls, and the parsed CA certificates for peer
 * authorisation. `key` is not enumerable, so logging or spreading the object
 * does not carry the private key along.
 */
export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** One PEM per CRL: Node's `crl` reads a single CRL from each string it is given. */
  readonly crl: readonly string[] | undefined;
  readonly caCertificates: readonly X509Certificate[];
  readonly leaf: X509Certificate;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----/g;

/**
 * Splits a CRL bundle into one PEM per CRL. Node's SecureContext.addCRL reads
 * only the FIRST CRL of a PEM string (PEM_read_bio_X509_CRL, once) and ignores
 * the rest silently; with CRL_CHECK_ALL on, the CAs whose CRL was dropped then
 * fail every handshake with UNABLE_TO_GET_CRL. An array is read in full.
 */
export function splitCrlBundle(pem: string): string[] {
  return (pem.match(PEM_CRL) ?? []).map((block) => block + '\n');
}

function parseCertificates(pem: string, file: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) {
    throw new VigieError('tls-material-invalid', `${file} holds no PEM certificate`);
  }
  return blocks.map((block) => new X509Certificate(block));
}

function invalid(message: string, cause?: unknown): VigieError {
  return new VigieError('tls-material-invalid', message, { cause });
}

function checkLeaf(
  leaf: X509Certificate,
  cas: readonly X509Certificate[],
  files: TlsMaterialFiles,
  now: Date,
) {
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
    throw invalid(`${files.certFile} was not issued by a CA in ${files.caFile}`);
  }
  if (now.getTime() < new Date(leaf.validFrom).getTime()) {
    throw invalid(
      `${files.certFile} is not valid before ${new Date(leaf.validFrom).toISOString()}`,
    );
  }
  if (now.getTime() > new Date(leaf.validTo).getTime()) {
    throw invalid(
      `${files.certFile} expired on ${new Date(leaf.validTo).toISOString()}; issue a new one`,
    );
  }
}

/**
 * Reads and cross-checks the files once, at start, so a wrong key, a foreign
 * certificate or an unreadable CRL stops the service with a clear message
 * instead of failing every handshake later.
 */
export async function loadTlsMaterial(
  files: TlsMaterialFiles,
  now = new Date(),
): Promise<TlsMaterial> {
  const ca = await readTextFile(files.caFile, 'CA bundle');
  const cert = await readTextFile(files.certFile, 'certificate');
  const key = await readTextFile(files.keyFile, 'private key');
  const crlText =
    files.crlFile === null ? undefined : await readTextFile(files.crlFile, 'CRL bundle');
  const crl = crlText === undefined ? undefined : splitCrlBundle(crlText);
  if (crl?.length === 0)
    throw invalid(`${files.crlFile ?? 'CRL bundle'} holds no PEM "X509 CRL" block`);
  let caCertificates: X509Certificate[];
  let leaf: X509Certificate;
  try {
    caCertificates = parseCertificates(ca, files.caFile);
    [leaf] = parseCertificates(cert, files.certFile) as [X509Certificate];
  } catch (err) {
    if (err instanceof VigieError) throw err;
    throw invalid(`cannot parse ${files.caFile} or ${files.certFile}`, err);
  }
  if (!leaf.checkPrivateKey(parseKey(key, files.keyFile))) {
    throw invalid(`${files.keyFile} is not the private key of ${files.certFile}`);
  }
  checkLeaf(leaf, caCertificates, files, now);
  try {
    // Let OpenSSL parse the CRLs as it will at handshake time.
    tls.createSecureContext({ ca, crl: crl === undefined ? undefined : [...crl] });
  } catch (err) {
    throw invalid(`${files.crlFile ?? 'CRL'} cannot be loaded: ${(err as Error).message}`, err);
  }
  const material = { ca, cert, crl, caCertificates, leaf } as Omit<TlsMaterial, 'key'>;
  return Object.freeze(
    Object.defineProperty(material, 'key', { value: key, enumerable: false }),
  ) as TlsMaterial;
}

function parseKey(pem: string, file: string) {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw invalid(`${file} is not a readable private key`, err);
  }
}

/**
 * The option objects below are narrower than Node's own types (plain strings,
 * literal versions) so that they also fit libraries whose option types are
 * narrower than Node's, such as mqtt.js's IClientOptions, and stay assignable
 * to tls.SecureContextOptions, tls.TlsOptions and tls.ConnectionOptions.
 */
export interface ProfileContextOptions {
  minVersion: typeof TLS_VERSION;
  maxVersion: typeof TLS_VERSION;
  ca: string;
  cert: string;
  key: string;
  crl: string[] | undefined;
}

export interface ServerTlsOptions extends ProfileContextOptions {
  requestCert: boolean;
  rejectUnauthorized: true;
  noDelay: true;
}

export interface ClientTlsOptions extends ProfileContextOptions {
  rejectUnauthorized: true;
  servername?: string;
  checkServerIdentity: (hostname: string, cert: tls.PeerCertificate) => Error | undefined;
}

/** For tls.createSecureContext (e.g. for grpc-js credentials built from a secure context). */
export function secureContextOptions(material: TlsMaterial): ProfileContextOptions {
  return {
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    crl: material.crl === undefined ? undefined : [...material.crl],
  };
}

export interface ServerProfileOptions {
  /** mTLS: refuse any client without a valid certificate from our CAs. */
  requireClientCert: boolean;
}

/** Options for tls.createServer, https.createServer and the like. */
export function serverTlsOptions(
  material: TlsMaterial,
  options: ServerProfileOptions,
): ServerTlsOptions {
  return {
    ...secureContextOptions(material),
    requestCert: options.requireClientCert,
    rejectUnauthorized: true,
    noDelay: true,
  };
}

export interface ClientProfileOptions {
  /** The DNS name or IP address the server's certificate must carry. */
  servername: string;
  /** Which server we expect; by default any service certificate from our services CA. */
  expect?: ServerExpectation;
}

/**
 * Options for tls.connect, https.request and mqtt.js (which passes ca, cert,
 * key, crl, servername and rejectUnauthorized through to tls.connect).
 */
export function clientTlsOptions(
  material: TlsMaterial,
  options: ClientProfileOptions,
): ClientTlsOptions {
  const name = options.servername;
  if (name.trim() === '') {
    throw new VigieError('tls-material-invalid', 'a TLS client needs the server name to check');
  }
  return {
    ...secureContextOptions(material),
    rejectUnauthorized: true,
    // An IP address may not go in SNI (RFC 6066 s.3). The name check below
    // does not depend on SNI: it always checks `name`, whatever Node passes.
    ...(net.isIP(name) === 0 ? { servername: name } : {}),
    checkServerIdentity: checkServerIsService(material, name, options.expect ?? {}),
  };
}

export interface ConnectTlsOptions extends ClientProfileOptions {
  host: string;
  port: number;
}

/** tls.connect with the profile and Nagle off (Node 20's tls.connect ignores `noDelay`). */
export function connectTls(material: TlsMaterial, options: ConnectTlsOptions): tls.TLSSocket {
  const socket = tls.connect({
    ...clientTlsOptions(material, options),
    host: options.host,
    port: options.port,
  });
  socket.setNoDelay(true);
  return socket;
}

/**
 * Turns Nagle off on a client's socket once it exists (mqtt.js builds its own
 * TLS socket): measured with aedes, a command and its answer took ~44 ms with
 * Nagle and the peer's delayed ACK, 0.1-0.2 ms without.
 */
export function disableNagle(stream: unknown): void {
  if (stream instanceof net.Socket) stream.setNoDelay(true);
}
