/**
 * The typed adapter over the register's .proto (protocol/proto/register.proto),
 * for the central's ingest service and the box's outbox alike:
 * @grpc/proto-loader gives untyped objects, so this file alone says what they
 * are and converts them to and from the protocol's own objects (hex hashes,
 * base64url signatures, data as an object).
 *
 * The loader and protobufjs (about 9 MB) are required at the first use, not at
 * import (createRequire), so an agent without a register never loads them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { decodeBase64url, encodeBase64url } from './base64url.js';
import { canonicalJson } from './canonical-json.js';
import type { Checkpoint } from './checkpoint.js';
import type { JournalEntry } from './journal-entry.js';
import type { SignedHead } from './journal-head.js';

const PROTO =
  [
    path.resolve(import.meta.dirname, '../proto/register.proto'),
    path.resolve(import.meta.dirname, '../../../protocol/proto/register.proto'),
  ].find((file) => existsSync(file)) ??
  path.resolve(import.meta.dirname, '../proto/register.proto');
// longs as Number: a seq or a tree size stays below 2^53 (the schemas bound them).
const LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const INGEST_METHOD_PATH = '/vigie.v1.RegisterIngest/Ingest';

export interface WireEntry {
  source: string;
  seq: number;
  time: string;
  boot_id: string;
  type: string;
  data: Buffer;
  prev_hash: Buffer;
  hash: Buffer;
}
export interface WireHead {
  source: string;
  seq: number;
  hash: Buffer;
  sig: Buffer;
}
export interface WireHello {
  source: string;
  boot_id: string;
  last_local_seq: number;
  known_tree_size: number;
}
export interface WireCheckpoint {
  tree_size: number;
  root_hash: Buffer;
  time: string;
  kid: string;
  sig: Buffer;
  proof_from_size: number;
  consistency_proof: Buffer[];
  inclusion_seq: number;
  leaf_index: number;
  inclusion_proof: Buffer[];
}
export interface WireResume {
  acked_seq: number;
  acked_hash: Buffer;
}
export interface WireAck {
  seq: number;
  hash: Buffer;
  head_seq: number;
}
export interface WireNack {
  seq: number;
  problem: string;
  detail: string;
}

export type IngestRequest =
  | { hello: WireHello }
  | { entry: WireEntry }
  | { entries: { entries: WireEntry[] } }
  | { head: WireHead };
export type IngestResponse =
  { resume: WireResume } | { ack: WireAck } | { nack: WireNack } | { checkpoint: WireCheckpoint };

/** Decoded messages: proto-loader fills defaults, but a peer may send anything. */
export type IngestRequestIn = Partial<{
  hello: Partial<WireHello>;
  entry: Partial<WireEntry>;
  entries: { entries?: Partial<WireEntry>[] };
  head: Partial<WireHead>;
  body: string;
}>;
export type IngestResponseIn = Partial<{
  resume: Partial<WireResume>;
  ack: Partial<WireAck>;
  nack: Partial<WireNack>;
  checkpoint: Partial<WireCheckpoint>;
  body: string;
}>;

let cached: grpc.ServiceDefinition | null = null;

/** The RegisterIngest service definition, loaded once, at the first use. */
export function registerIngestService(): grpc.ServiceDefinition {
  if (cached) return cached;
  const protoLoader = createRequire(import.meta.url)('@grpc/proto-loader') as typeof ProtoLoader;
  const def = protoLoader.loadSync(PROTO, LOADER_OPTIONS);
  const service = def['vigie.v1.RegisterIngest'] as grpc.ServiceDefinition | undefined;
  if (!service?.Ingest)
    throw new Error('register.proto: vigie.v1.RegisterIngest.Ingest is missing');
  cached = service;
  return service;
}

const hex = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('hex') : '');
const b64 = (b: unknown): string => (Buffer.isBuffer(b) ? encodeBase64url(b) : '');

export function entryToWire(entry: JournalEntry): WireEntry {
  return {
    source: entry.source,
    seq: entry.seq,
    time: entry.time,
    boot_id: entry.bootId,
    type: entry.type,
    data: Buffer.from(canonicalJson(entry.data), 'utf8'),
    prev_hash: Buffer.from(entry.prevHash, 'hex'),
    hash: Buffer.from(entry.hash, 'hex'),
  };
}

/**
 * The entry as received, for the register to judge (never trusted here): data
 * that is not JSON stays a string, which the entry schema refuses as evidence.
 */
export function entryFromWire(wire: Partial<WireEntry>): Record<string, unknown> {
  const text = Buffer.isBuffer(wire.data) ? wire.data.toString('utf8') : '';
  let data: unknown = text;
  try {
    data = JSON.parse(text) as unknown;
  } catch {
    // Kept as the received text: the register refuses it as entry-malformed, with evidence.
    data = text;
  }
  return {
    source: wire.source,
    seq: wire.seq,
    time: wire.time,
    bootId: wire.boot_id,
    type: wire.type,
    data,
    prevHash: hex(wire.prev_hash),
    hash: hex(wire.hash),
  };
}

export function headToWire(head: SignedHead): WireHead {
  return {
    source: head.source,
    seq: head.seq,
    hash: Buffer.from(head.hash, 'hex'),
    sig: decodeBase64url(head.sig) ?? Buffer.alloc(0),
  };
}

export function headFromWire(wire: Partial<WireHead>): Record<string, unknown> {
  return { source: wire.source, seq: wire.seq, hash: hex(wire.hash), sig: b64(wire.sig) };
}

/** Where the source's last acknowledged entry sits in a checkpoint's tree, and the proof. */
export interface InclusionProof {
  /** The source's seq the proof is for (0: none). */
  readonly seq: number;
  readonly leafIndex: number;
  readonly proof: readonly Buffer[];
}

const NO_INCLUSION: InclusionProof = { seq: 0, leafIndex: 0, proof: [] };

export function checkpointToWire(
  c: Checkpoint,
  proofFromSize: number,
  proof: readonly Buffer[],
  inclusion: InclusionProof = NO_INCLUSION,
): WireCheckpoint {
  return {
    tree_size: c.treeSize,
    root_hash: Buffer.from(c.rootHash, 'hex'),
    time: c.time,
    kid: c.kid,
    sig: decodeBase64url(c.sig) ?? Buffer.alloc(0),
    proof_from_size: proofFromSize,
    consistency_proof: [...proof],
    inclusion_seq: inclusion.seq,
    leaf_index: inclusion.leafIndex,
    inclusion_proof: [...inclusion.proof],
  };
}

const buffers = (list: unknown): Buffer[] =>
  Array.isArray(list) ? list.filter((p): p is Buffer => Buffer.isBuffer(p)) : [];
const count = (n: unknown): number => (typeof n === 'number' ? n : -1);

/** The checkpoint as received (to check with CheckpointSchema), its proofs. */
export function checkpointFromWire(wire: Partial<WireCheckpoint>): {
  checkpoint: Record<string, unknown>;
  proofFromSize: number;
  proof: Buffer[];
  inclusion: InclusionProof;
} {
  return {
    checkpoint: {
      treeSize: wire.tree_size,
      rootHash: hex(wire.root_hash),
      time: wire.time,
      kid: wire.kid,
      sig: b64(wire.sig),
    },
    proofFromSize: count(wire.proof_from_size),
    proof: buffers(wire.consistency_proof),
    inclusion: {
      seq: count(wire.inclusion_seq),
      leafIndex: count(wire.leaf_index),
      proof: buffers(wire.inclusion_proof),
    },
  };
}
