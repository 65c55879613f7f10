/**
 * The tunnel messages over gRPC, as the MediaTunnel service of tunnel.proto
 * names them: for the benchmark's bare-gRPC baseline and gRPC tooling only.
 * The tunnel itself is a framed TLS stream (tunnel-wire.ts, design notes), so
 * neither the box nor the relay loads @grpc/grpc-js for it.
 */
import * as grpc from '@grpc/grpc-js';
import {
  mediaTunnelService,
  type TunnelDown,
  type TunnelDownIn,
  type TunnelUp,
  type TunnelUpIn,
} from './tunnel-proto.js';

export const SESSION_METHOD_PATH = '/vigie.v1.MediaTunnel/Session';

export type TunnelServerCall = grpc.ServerDuplexStream<TunnelUpIn, TunnelDown>;
export type TunnelClientCall = grpc.ClientDuplexStream<TunnelUp, TunnelDownIn>;

/** Opens the Session stream on a client made with `new grpc.Client(...)`. */
export function openSessionCall(
  client: grpc.Client,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): TunnelClientCall {
  const method = mediaTunnelService().Session as grpc.MethodDefinition<TunnelUp, TunnelDownIn>;
  return client.makeBidiStreamRequest(
    SESSION_METHOD_PATH,
    method.requestSerialize,
    method.responseDeserialize,
    metadata,
    options,
  );
}
