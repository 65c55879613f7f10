/**
 * Who is at the other end of an ingest stream: only the peer certificate says
 * (never what the peer sends). A box (urn:vigie:box:<site>:<box>) journals
 * under its box id, which becomes its `source`; a relay's service certificate
 * (urn:vigie:service:relay-<centre>) journals under its service name. Anything
 * else (other services, people) is refused with `tls-peer-refused`.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { authoriseCertificate, type TrustAnchors } from '../../../certs/src/peer-auth.js';
import { VigieError } from '../../../lib/src/errors.js';
import type { SourceIdentity } from './register-port.js';

export const RELAY_SERVICE_PREFIX = 'relay-';

export interface AuthenticatedSource {
  readonly identity: SourceIdentity;
  /** The certificate's public key: it checks the source's signed heads. */
  readonly key: KeyObject;
}

/** The source a verified peer certificate (DER) speaks for; throws `tls-peer-refused`. */
export function sourceFromCertificate(der: Buffer, anchors: TrustAnchors): AuthenticatedSource {
  const cert = new X509Certificate(der);
  const who = authoriseCertificate(cert, anchors, { allow: ['box', 'service'] });
  const spkiDer = cert.publicKey.export({ format: 'der', type: 'spki' });
  const certSha256 = createHash('sha256').update(cert.raw).digest('hex');
  const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  if (who.kind === 'box') {
    const identity = { source: who.boxId, kind: 'box', site: who.siteId, spkiDer, certSha256 };
    return { identity: identity as SourceIdentity, key };
  }
  if (who.kind === 'service' && who.name.startsWith(RELAY_SERVICE_PREFIX)) {
    const identity = { source: who.name, kind: 'relay', site: null, spkiDer, certSha256 };
    return { identity: identity as SourceIdentity, key };
  }
  throw new VigieError(
    'tls-peer-refused',
    `${who.kind === 'service' ? `service ${who.name}` : who.kind} may not feed the register (boxes and relay-* services only)`,
  );
}
