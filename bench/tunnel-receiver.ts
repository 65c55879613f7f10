/**
 * The receiving side of bench/tunnel-throughput.bench.ts, in a process of its
 * own so that the box side (the bench process) and the receiving side are
 * measured apart (process.cpuUsage of each) and each may use a core, as they
 * would on two machines. Forked with an IPC channel; it runs, side by side:
 *   - the relay (csu/src/relay/relay.ts) with the bench's PKI and policy, a
 *     counting viewer subscribed to every camera of every session it accepts;
 *   - a bare Node TLS 1.3 server (same relay certificate, client certificate
 *     required) that counts the bytes it reads;
 *   - a bare @grpc/grpc-js server (grpc.ServerCredentials.createSsl with the
 *     same certificate, client certificate required, default options) serving
 *     MediaTunnel.Session from protocol/src/tunnel-proto.ts with a handler that
 *     only counts the bytes of fragment messages: gRPC with no Vigie code.
 * Requests (`{ id, op }`, answered `{ id, ... }`): `start`, `policy`,
 * `expect` (answers once the byte count passed the one given plus `bytes`), `stats`,
 * `stop`. Ends by itself within WATCHDOG_MS.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { mediaLength } from '../csu/src/live-sessions.js';
import { Relay, systemClocks } from '../csu/src/relay/relay.js';
import { RelayPolicy } from '../csu/src/relay/ticket-checks.js';
import {
  loadTlsMaterial,
  serverTlsOptions,
  type TlsMaterialFiles,
} from '../certs/src/tls-profile.js';
import type { Policy } from '../protocol/src/policy-schema.js';
import { mediaTunnelService } from '../protocol/src/tunnel-proto.js';
import type { TunnelServerCall } from '../protocol/src/tunnel-grpc.js';

const WATCHDOG_MS = 180_000;

/**
 * VIGIE_BENCH_RELAY_H2_WINDOW=<bytes>: the relay's HTTP/2 server advertises
 * this receive window (per stream and per connection) instead of the
 * 65,535-byte default grpc-js leaves it with, to show what the window costs.
 * It widens the bare gRPC server too (same http2.createSecureServer).
 * An experiment only: the relay as shipped is what the bench measures.
 */
const H2_WINDOW = Number(process.env.VIGIE_BENCH_RELAY_H2_WINDOW ?? '0');
if (H2_WINDOW > 0) {
  const create = http2.createSecureServer.bind(http2) as (
    options: http2.SecureServerOptions,
  ) => http2.Http2SecureServer;
  const widened = (options: http2.SecureServerOptions): http2.Http2SecureServer => {
    const server = create({
      ...options,
      settings: { ...options.settings, initialWindowSize: H2_WINDOW },
    });
    server.on('session', (session) => session.setLocalWindowSize(H2_WINDOW));
    return server;
  };
  (http2 as { createSecureServer: unknown }).createSecureServer = widened;
}

export interface ReceiverFiles extends TlsMaterialFiles {
  readonly boxesCaFile: string;
}

export type ReceiverRequest =
  | { readonly id: number; readonly op: 'start'; readonly files: ReceiverFiles }
  | { readonly id: number; readonly op: 'policy'; readonly policy: Policy }
  // Answers once relayBytes + tlsBytes + grpcBytes reach from + bytes (`from` read by the bench before it sends).
  | { readonly id: number; readonly op: 'expect'; readonly from: number; readonly bytes: number }
  | { readonly id: number; readonly op: 'stats' }
  | { readonly id: number; readonly op: 'stop' };

export interface ReceiverStats {
  /** Fragment payload bytes the relay's viewers received, the bare TLS server read, the bare gRPC server got. */
  readonly relayBytes: number;
  readonly tlsBytes: number;
  readonly grpcBytes: number;
  readonly fragments: number;
  /** Fragments missing at the viewers (sequence gaps): a drop anywhere on the way. */
  readonly gaps: number;
  readonly liveSessions: number;
  /** process.cpuUsage() user + system, microseconds. */
  readonly cpuUs: number;
}

const watchdog = setTimeout(() => {
  process.stderr.write('tunnel-receiver: watchdog expired\n');
  process.exit(3);
}, WATCHDOG_MS);

let relay: Relay | null = null;
let server: tls.Server | null = null;
let grpcServer: grpc.Server | null = null;
let relayBytes = 0;
let tlsBytes = 0;
let grpcBytes = 0;
let fragments = 0;
let gaps = 0;
let expecting: { id: number; until: number } | null = null;

function reply(message: Record<string, unknown>): void {
  process.send?.(message);
}

function counted(): void {
  if (expecting !== null && relayBytes + tlsBytes + grpcBytes >= expecting.until) {
    reply({ id: expecting.id });
    expecting = null;
  }
}

function stats(): ReceiverStats {
  const cpu = process.cpuUsage();
  return {
    relayBytes,
    tlsBytes,
    grpcBytes,
    fragments,
    gaps,
    liveSessions: relay?.liveCount ?? 0,
    cpuUs: cpu.user + cpu.system,
  };
}

/** The bare gRPC server: Session calls whose handler only counts fragment bytes. */
async function startBareGrpc(files: ReceiverFiles): Promise<number> {
  const bare = new grpc.Server();
  bare.addService(mediaTunnelService(), {
    Session: (call: TunnelServerCall) => {
      call.on('data', (m: { fragment?: { data?: Buffer } }) => {
        grpcBytes += m.fragment?.data?.length ?? 0;
        counted();
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined); // the bench ends its calls; a cancel is no finding
    },
  });
  grpcServer = bare;
  const credentials = grpc.ServerCredentials.createSsl(
    readFileSync(files.caFile),
    [{ private_key: readFileSync(files.keyFile), cert_chain: readFileSync(files.certFile) }],
    true,
  );
  return new Promise<number>((resolve, reject) => {
    bare.bindAsync('127.0.0.1:0', credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

async function start(
  files: ReceiverFiles,
): Promise<{ relayPort: number; tlsPort: number; grpcPort: number }> {
  const material = await loadTlsMaterial(files);
  relay = new Relay({
    recipientId: 'csu-metz',
    tls: material,
    boxesCa: [new X509Certificate(readFileSync(files.boxesCaFile))],
    listen: { host: '127.0.0.1', port: 0 },
    // The defaults of csu.yaml, with room for the bench's sessions.
    limits: {
      gopMaxBytes: 8 * 1024 * 1024,
      subscriberMaxBytes: 4 * 1024 * 1024,
      redialGraceMs: 15_000,
      maxSessions: 1000,
      closedIdsKept: 100_000,
    },
    clocks: systemClocks,
  });
  const live = relay;
  live.onChange((event) => {
    if (event.kind !== 'opened') return;
    for (const camera of event.session.cameras) {
      let last = -1;
      live.subscribe(
        event.session.sessionId,
        camera.id,
        { id: 'bench', name: 'bench viewer' },
        {
          init: () => undefined,
          fragment: (_camera, seq, _keyframe, data) => {
            if (last >= 0 && seq !== last + 1) gaps += seq - last - 1;
            last = seq;
            fragments++;
            relayBytes += mediaLength(data);
            counted();
          },
          end: () => undefined,
        },
      );
    }
  });
  const relayPort = await live.start();
  server = tls.createServer(serverTlsOptions(material, { requireClientCert: true }), (socket) => {
    socket.on('data', (chunk: Buffer) => {
      tlsBytes += chunk.length;
      counted();
    });
    socket.on('error', () => undefined); // the bench ends its sockets; a reset is no finding
  });
  const bare = server;
  const tlsPort = await new Promise<number>((resolve) => {
    bare.listen(0, '127.0.0.1', () => resolve((bare.address() as { port: number }).port));
  });
  const grpcPort = await startBareGrpc(files);
  return { relayPort, tlsPort, grpcPort };
}

async function stop(): Promise<void> {
  await relay?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  grpcServer?.forceShutdown();
  clearTimeout(watchdog);
}

process.on('message', (m: ReceiverRequest) => {
  const run = async (): Promise<void> => {
    switch (m.op) {
      case 'start':
        reply({ id: m.id, ...(await start(m.files)) });
        return;
      case 'policy':
        relay?.setPolicy(new RelayPolicy(m.policy));
        reply({ id: m.id });
        return;
      case 'expect':
        expecting = { id: m.id, until: m.from + m.bytes };
        counted();
        return;
      case 'stats':
        reply({ id: m.id, stats: stats() });
        return;
      case 'stop':
        await stop();
        reply({ id: m.id });
        process.disconnect();
        return;
    }
  };
  run().catch((err: unknown) => {
    reply({ id: m.id, error: err instanceof Error ? err.stack : String(err) });
  });
});
