/**
 * The typed adapter over the media tunnel's .proto (protocol/proto/tunnel.proto):
 * @grpc/proto-loader gives untyped objects, so this file alone says what they
 * are, for the relay (csu/src/relay) and the box (agent/src/tunnel) alike.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import type * as ProtoLoader from '@grpc/proto-loader';

/** Beside the sources (tsx) or, from the build in dist/, in the source tree it was built from. */
const PROTO =
  [
    path.resolve(import.meta.dirname, '../proto/tunnel.proto'),
    path.resolve(import.meta.dirname, '../../../protocol/proto/tunnel.proto'),
  ].find((file) => existsSync(file)) ?? path.resolve(import.meta.dirname, '../proto/tunnel.proto');
// longs as Number: a fragment seq stays far below 2^53 (one per second for 285 million years).
const LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

export interface Hello {
  ticket: Buffer;
  session_id: string;
  box_id: string;
}
export interface InitSegment {
  camera: string;
  mime: string;
  data: Buffer;
}
export interface Fragment {
  camera: string;
  seq: number;
  keyframe: boolean;
  data: Buffer;
}

export type TunnelUp =
  | { hello: Hello }
  | { init: InitSegment }
  | { fragment: Fragment }
  | { bye: { reason: string } }
  | { extend: { command: Buffer } }
  | { keepalive: Record<string, never> };

export type TunnelDown =
  | { accepted: { session_id: string; expires_at: string } }
  | { rejected: { reason: string; detail: string } }
  | { viewer_joined: { viewer_id: string; viewer_name: string; time: string } }
  | { viewer_left: { viewer_id: string; time: string } }
  | { intervention_over: { viewer_id: string; time: string; note: string } }
  | { close: { reason: string } }
  | { keepalive: Record<string, never> };

/** proto-loader fills absent fields of a message with undefined; decoded messages are partial. */
type Decoded<T> = T extends unknown ? { [K in keyof T]?: Partial<T[K]> } & { msg?: string } : never;
export type TunnelUpIn = Decoded<TunnelUp>;
export type TunnelDownIn = Decoded<TunnelDown>;

let cached: grpc.ServiceDefinition | null = null;

/**
 * The MediaTunnel service definition, loaded once, at the first tunnel: the
 * loader and protobufjs (about 9 MB of a box's memory) are required only then,
 * not when the agent starts.
 */
export function mediaTunnelService(): grpc.ServiceDefinition {
  if (cached) return cached;
  const protoLoader = createRequire(import.meta.url)('@grpc/proto-loader') as typeof ProtoLoader;
  const def = protoLoader.loadSync(PROTO, LOADER_OPTIONS);
  const service = def['vigie.v1.MediaTunnel'] as grpc.ServiceDefinition | undefined;
  if (!service?.Session) throw new Error('tunnel.proto: vigie.v1.MediaTunnel.Session is missing');
  cached = service;
  return service;
}
