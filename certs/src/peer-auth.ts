/**
 * After the handshake: who is the peer, and may it be here? A chain that
 * verifies only proves the certificate comes from one of our CAs. Every
 * intermediate is in the trust bundle, so without this check a certificate
 * from the boxes CA carrying `urn:vigie:service:broker` would pass for the
 * broker. We therefore require the identity kind to be allowed AND the
 * certificate to be signed by the intermediate that issues that kind.
 * node:crypto only.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { VigieError } from '../../lib/src/errors.js';
import {
  caPurposeFromCertificate,
  identityFromCertificate,
  ISSUER_OF,
  type Identity,
  type IdentityKind,
  type PersonRole,
} from './identity.js';

/** What the parsed CA certificates of a TlsMaterial provide (kept narrow to avoid a cycle). */
export interface TrustAnchors {
  readonly caCertificates: readonly X509Certificate[];
}

export interface PeerPolicy {
  allow: readonly IdentityKind[];
  /** When people are allowed, restrict to these roles (default: any role). */
  personRoles?: readonly PersonRole[];
  /** When services are allowed, restrict to these names (default: any service). */
  serviceNames?: readonly string[];
}

function refuse(message: string): VigieError {
  return new VigieError('tls-peer-refused', message);
}

function describe(identity: Identity): string {
  switch (identity.kind) {
    case 'box':
      return `box ${identity.siteId}/${identity.boxId}`;
    case 'service':
      return `service ${identity.name}`;
    case 'person':
      return `${identity.role} ${identity.name}`;
  }
}

function isIssuedByKindCa(
  cert: X509Certificate,
  identity: Identity,
  anchors: TrustAnchors,
): boolean {
  const purpose = ISSUER_OF[identity.kind];
  const ca = anchors.caCertificates.find((c) => caPurposeFromCertificate(c) === purpose);
  return ca !== undefined && cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** The identity of a verified peer certificate if the policy allows it; throws `tls-peer-refused`. */
export function authoriseCertificate(
  cert: X509Certificate,
  anchors: TrustAnchors,
  policy: PeerPolicy,
): Identity {
  const identity = identityFromCertificate(cert);
  if (identity === null) {
    throw refuse(`peer certificate ${cert.serialNumber} carries no Vigie identity`);
  }
  if (!policy.allow.includes(identity.kind)) {
    throw refuse(
      `${describe(identity)} may not connect here (allowed: ${policy.allow.join(', ')})`,
    );
  }
  if (!isIssuedByKindCa(cert, identity, anchors)) {
    throw refuse(`${describe(identity)} was not issued by the ${ISSUER_OF[identity.kind]} CA`);
  }
  if (
    identity.kind === 'person' &&
    policy.personRoles &&
    !policy.personRoles.includes(identity.role)
  ) {
    throw refuse(
      `${describe(identity)} may not connect here (roles allowed: ${policy.personRoles.join(', ')})`,
    );
  }
  if (
    identity.kind === 'service' &&
    policy.serviceNames &&
    !policy.serviceNames.includes(identity.name)
  ) {
    throw refuse(
      `${describe(identity)} may not connect here (services allowed: ${policy.serviceNames.join(', ')})`,
    );
  }
  return identity;
}

/**
 * For servers, once a socket is secure: the peer's identity, or throws
 * `tls-peer-refused` (the caller then destroys the socket).
 */
export function authorisePeer(
  socket: tls.TLSSocket,
  anchors: TrustAnchors,
  policy: PeerPolicy,
): Identity {
  if (!socket.authorized) {
    const why =
      socket.authorizationError instanceof Error
        ? socket.authorizationError.message
        : String(socket.authorizationError ?? 'no certificate');
    throw refuse(`peer is not authenticated: ${why}`);
  }
  const cert = socket.getPeerX509Certificate();
  if (!cert) throw refuse('peer sent no certificate');
  return authoriseCertificate(cert, anchors, policy);
}

export interface ServerExpectation {
  /** Pin one service (e.g. 'broker'); default: any service from the services CA. */
  serviceName?: string;
}

/**
 * A checkServerIdentity for clients: Node's own host check against the name we
 * expect (not whatever Node passes, so it also works without SNI for IP
 * addresses), then the server must be a service from the services CA.
 */
export function checkServerIsService(
  anchors: TrustAnchors,
  expectedName: string,
  expect: ServerExpectation,
): (hostname: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_hostname, cert) => {
    const hostError = tls.checkServerIdentity(expectedName, cert);
    if (hostError) return hostError;
    try {
      authoriseCertificate(new X509Certificate(cert.raw), anchors, {
        allow: ['service'],
        ...(expect.serviceName === undefined ? {} : { serviceNames: [expect.serviceName] }),
      });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
}

export interface TlsClientRefusal {
  /** An OpenSSL verification code (CERT_REVOKED, CERT_HAS_EXPIRED, ...) or a Node error code. */
  reason: string;
  remoteAddress: string | undefined;
}

/**
 * Why the server refused a client, for its log, from a 'tlsClientError'
 * event. When the client certificate fails verification, Node's server closes
 * the socket without an alert and the error it emits is only ECONNRESET; the
 * real reason is left on the socket as `authorizationError`. OpenSSL keeps
 * verifying after the first problem, and Node reports the last one found, so a
 * certificate from an unknown CA shows as UNABLE_TO_GET_CRL when CRLs are on.
 */
export function tlsClientRefusal(err: Error, socket: tls.TLSSocket): TlsClientRefusal {
  const reason = authorizationReason(socket) ?? (err as NodeJS.ErrnoException).code ?? err.message;
  return { reason, remoteAddress: socket.remoteAddress };
}

/** Node types `authorizationError` as an Error; on server sockets it is the OpenSSL code string. */
function authorizationReason(socket: tls.TLSSocket): string | undefined {
  const value = socket.authorizationError as Error | string | null | undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  return undefined;
}
