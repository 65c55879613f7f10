/**
 * The public surface of certs/: the shared TLS profile and peer authorisation
 * that every server and client uses, the identities in our certificates, and
 * the PKI operations behind `vigie pki`.
 */
export {
  clientTlsOptions,
  connectTls,
  disableNagle,
  loadTlsMaterial,
  secureContextOptions,
  serverTlsOptions,
  splitCrlBundle,
  TLS_VERSION,
  type ClientProfileOptions,
  type ClientTlsOptions,
  type ConnectTlsOptions,
  type ProfileContextOptions,
  type ServerProfileOptions,
  type ServerTlsOptions,
  type TlsMaterial,
  type TlsMaterialFiles,
} from './tls-profile.js';
export {
  authoriseCertificate,
  authorisePeer,
  checkServerIsService,
  tlsClientRefusal,
  type PeerPolicy,
  type ServerExpectation,
  type TlsClientRefusal,
  type TrustAnchors,
} from './peer-auth.js';
export {
  caPurposeFromCertificate,
  ID_PATTERN,
  identityFromCertificate,
  identityUri,
  isValidId,
  parseIdentityUri,
  PERSON_ROLES,
  type CaPurpose,
  type Identity,
  type IdentityKind,
  type PersonRole,
} from './identity.js';
export { initPki, type InitPkiOptions, type InitPkiResult } from './pki-init.js';
export { issueCertificate, type IssueOptions, type IssueResult } from './pki-issue.js';
export type { IssueRequest } from './leaf-request.js';
export { revokeCertificate, type RevokeOptions, type RevokeResult } from './pki-revoke.js';
export { regenerateCrls, type CrlSummary, type RegenerateCrlsOptions } from './pki-crl.js';
export { listCertificates, formatCertificateTable } from './pki-list.js';
export { pkiPaths, type PkiPaths } from './pki-layout.js';
export { REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.js';
