/**
 * grpc-js credentials with Vigie's one TLS profile (certs/src/tls-profile.ts):
 * TLS 1.3 only, our CAs only, CRLs honoured, client certificate required.
 * grpc-js's createSsl takes neither a CRL nor a TLS version, so the server
 * credentials hand the profile's options to http2.createSecureServer as they
 * are (grpc-js merges the constructor and context options into it).
 */
import * as grpc from '@grpc/grpc-js';
import type { SecureServerOptions } from 'node:http2';
import { secureContextOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';

/**
 * HTTP/2 flow-control window per stream: what a source may send ahead of
 * what the register has read. grpc-js decodes every message of a received
 * frame at once, so a paused stream holds its whole window as objects (about
 * seven times its bytes): with a thousand boxes catching up, 64 KiB windows
 * held about 450 MB; 16 KiB is still ~80 entries ahead of each read.
 */
export const STREAM_WINDOW_BYTES = 16 * 1024;

class ProfileServerCredentials extends grpc.ServerCredentials {
  constructor(material: TlsMaterial) {
    const constructorOptions: SecureServerOptions = {
      requestCert: true,
      rejectUnauthorized: true,
      settings: { initialWindowSize: STREAM_WINDOW_BYTES },
    };
    super(constructorOptions, secureContextOptions(material));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** mTLS server credentials: a client without a valid certificate from our CAs never gets a stream. */
export function profileServerCredentials(material: TlsMaterial): grpc.ServerCredentials {
  return new ProfileServerCredentials(material);
}
