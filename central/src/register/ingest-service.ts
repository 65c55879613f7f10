/**
 * The register's gRPC ingest service (issue 6, register.proto RegisterIngest)
 * over mTLS with the shared TLS profile. Who sends is decided by the peer
 * certificate alone (source-identity.ts); each stream is an IngestStream.
 * start() and stop() are safe twice; stop() before start() finished is safe.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import type { TlsMaterial } from '../../../certs/src/tls-profile.js';
import { isVigieError, VigieError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/log.js';
import {
  checkpointToWire,
  registerIngestService,
  type IngestRequestIn,
  type IngestResponse,
  type WireCheckpoint,
} from '../../../protocol/src/register-proto.js';
import { BatchSlots } from './batch-slots.js';
import { Checkpointer } from './checkpointer.js';
import { profileServerCredentials } from './grpc-credentials.js';
import { IngestStream, type IngestCall, type IngestLimits } from './ingest-stream.js';
import type { RegisterAlarmPort } from './register-alarms.js';
import type { RegisterStore } from './register-port.js';
import { sourceFromCertificate, type AuthenticatedSource } from './source-identity.js';

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxBatchEntries: 1000,
  maxBatchBytes: 4 * 1024 * 1024,
};

export interface IngestServiceOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls: TlsMaterial;
  readonly store: RegisterStore;
  readonly alarms: RegisterAlarmPort;
  readonly log: Logger;
  readonly limits?: IngestLimits;
  /** Sources with a batch in memory at once (default 32); the others wait, paused. */
  readonly maxConcurrentBatches?: number;
  /** At most one new checkpoint signature per this many ms (default 1,000). */
  readonly checkpointEveryMs?: number;
  readonly monoNowMs?: () => number;
  /** How long stop() lets streams finish before cancelling them (default 2,000 ms). */
  readonly drainTimeoutMs?: number;
}

/** gRPC status 16: the peer certificate is valid but may not feed the register. */
const UNAUTHENTICATED = 16;

export class RegisterIngestService {
  readonly #options: IngestServiceOptions;
  readonly #checkpoints: Checkpointer;
  readonly #slots: BatchSlots;
  readonly #streams = new Set<IngestStream>();
  #server: grpc.Server | null = null;
  #port: number | null = null;
  #starting: Promise<number> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: IngestServiceOptions) {
    this.#options = options;
    const mono = options.monoNowMs ?? (() => performance.now());
    this.#checkpoints = new Checkpointer(options.store, options.checkpointEveryMs ?? 1000, mono);
    this.#slots = new BatchSlots(options.maxConcurrentBatches ?? 32);
  }

  /** The bound port (after start). */
  get port(): number {
    if (this.#port === null) throw new Error('the register ingest service is not listening');
    return this.#port;
  }

  /** Streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  start(): Promise<number> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #start(): Promise<number> {
    const { listen, tls, log } = this.#options;
    const server = new grpc.Server({
      // 64 entries of at most 16 KiB of data each (JournalEntries) fit well within.
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      // No channelz: its per-session and per-call trace is memory we do not read.
      'grpc.enable_channelz': 0,
    });
    server.addService(registerIngestService(), {
      Ingest: (call: IngestCall) => this.#ingest(call),
      GetCheckpoint: (
        call: grpc.ServerUnaryCall<unknown, WireCheckpoint>,
        callback: grpc.sendUnaryData<WireCheckpoint>,
      ) => this.#getCheckpoint(call, callback),
    });
    this.#server = server;
    const host = net.isIPv6(listen.host) ? `[${listen.host}]` : listen.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${listen.port}`, profileServerCredentials(tls), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    }).catch((err: unknown) => {
      throw new VigieError(
        'register-listen-failed',
        `the register cannot listen on ${host}:${listen.port}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    this.#port = port;
    log.info('register ingest listening', { host: listen.host, port });
    return port;
  }

  #authenticate(call: {
    getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } };
  }): AuthenticatedSource {
    const cert = call.getAuthContext().sslPeerCertificate;
    if (!cert?.raw) throw new VigieError('tls-peer-refused', 'the peer sent no certificate');
    return sourceFromCertificate(cert.raw, this.#options.tls);
  }

  #ingest(call: IngestCall): void {
    const { log, alarms } = this.#options;
    let source;
    try {
      source = this.#authenticate(call);
    } catch (err) {
      const detail = isVigieError(err) ? err.message : String(err);
      log.warn('ingest stream refused', { code: 'tls-peer-refused', detail });
      alarms.raise({
        code: 'protocol-violation',
        severity: 'warning',
        source: null,
        seq: null,
        detail,
      });
      call.emit('error', { code: UNAUTHENTICATED, details: detail });
      return;
    }
    if (this.#stopping) {
      call.end();
      return;
    }
    const stream: IngestStream = new IngestStream(call, source, {
      store: this.#options.store,
      checkpoints: this.#checkpoints,
      slots: this.#slots,
      alarms,
      limits: this.#options.limits ?? DEFAULT_INGEST_LIMITS,
      log,
      onClosed: () => this.#streams.delete(stream),
    });
    this.#streams.add(stream);
    stream.start();
  }

  #getCheckpoint(
    call: grpc.ServerUnaryCall<unknown, WireCheckpoint>,
    callback: grpc.sendUnaryData<WireCheckpoint>,
  ): void {
    try {
      this.#authenticate(call);
    } catch (err) {
      callback({ code: UNAUTHENTICATED, details: isVigieError(err) ? err.message : String(err) });
      return;
    }
    this.#checkpoints.latest().then(
      (c) => callback(null, checkpointToWire(c, 0, [])),
      (err: unknown) => {
        this.#options.log.error('no checkpoint for GetCheckpoint', err);
        callback({ code: 14, details: 'the register cannot sign a checkpoint now' });
      },
    );
  }

  async #stop(reason: string): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const server = this.#server;
    if (!server) return;
    const drainMs = this.#options.drainTimeoutMs ?? 2000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, drainMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#options.log.info('register ingest stopped', { reason });
  }
}

export type { IngestRequestIn, IngestResponse };
