/**
 * Dialling a recipient's relay: gRPC over mTLS with the box certificate, the
 * relay's certificate checked against the recipient's CA and server name from
 * the policy (not our PKI: a receiving centre may run its own CA). TLS 1.3
 * only. No CRL here: the recipient's CA publishes none through the policy.
 */
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TLS_VERSION, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Recipient } from '../../../protocol/src/policy-schema.js';

export function relayClient(material: TlsMaterial, recipient: Recipient): grpc.Client {
  const context = tls.createSecureContext({
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ca: recipient.caPem,
    cert: material.cert,
    key: material.key,
  });
  const name = recipient.serverName;
  const credentials = grpc.credentials.createFromSecureContext(context, {
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
  });
  return new grpc.Client(recipient.relay, credentials, {
    'grpc.ssl_target_name_override': name,
    'grpc.default_authority': name,
    // One tunnel per session: never share a connection between sessions.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.initial_reconnect_backoff_ms': 200,
  });
}
