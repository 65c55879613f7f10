/**
 * grpc-js server credentials built from our one TLS profile (certs/src/tls-profile.ts):
 * TLS 1.3 only, client certificate required and verified, CRLs honoured.
 * grpc-js's own createSsl cannot pin the version or pass CRLs.
 */
import * as grpc from '@grpc/grpc-js';
import { serverTlsOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';

class ProfileServerCredentials extends grpc.ServerCredentials {
  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

export function mtlsServerCredentials(material: TlsMaterial): grpc.ServerCredentials {
  const { requestCert, rejectUnauthorized, noDelay, ...context } = serverTlsOptions(material, {
    requireClientCert: true,
  });
  return new ProfileServerCredentials({ requestCert, rejectUnauthorized, noDelay }, context);
}
