/**
 * Dialling a recipient's relay: TLS 1.3 with the box certificate, the relay's
 * certificate checked against the recipient's CA and server name from the
 * policy (not our PKI: a receiving centre may run its own CA), ALPN
 * `vigie-tunnel/1`; then the framed tunnel stream (protocol/src/tunnel-wire.ts).
 * One connection per session, never shared. No CRL here: the recipient's CA
 * publishes none through the policy.
 */
import tls from 'node:tls';
import { TLS_VERSION, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Recipient } from '../../../protocol/src/policy-schema.js';
import {
  boxCodec,
  TUNNEL_ALPN,
  TunnelStream,
  type BoxTunnelStream,
  type TunnelStreamOptions,
} from '../../../protocol/src/tunnel-wire.js';

/** host and port of `host:port`, `[v6]:port` included. */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(hostPort.slice(colon + 1)) };
}

export function dialRelay(
  material: TlsMaterial,
  recipient: Recipient,
  options: TunnelStreamOptions = {},
): BoxTunnelStream {
  const { host, port } = splitHostPort(recipient.relay);
  const name = recipient.serverName;
  const socket = tls.connect({
    host,
    port,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ca: recipient.caPem,
    cert: material.cert,
    key: material.key,
    ALPNProtocols: [TUNNEL_ALPN],
    // SNI carries DNS names only; the certificate is checked against the policy's name.
    ...(/^[\d.]+$|:/.test(name) ? {} : { servername: name }),
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    rejectUnauthorized: true,
  });
  socket.once('secureConnect', () => {
    if (socket.alpnProtocol !== TUNNEL_ALPN) {
      socket.destroy(new Error(`the relay does not speak ${TUNNEL_ALPN}`));
    }
  });
  return new TunnelStream(socket, boxCodec(), { keepalive: {} }, options);
}
