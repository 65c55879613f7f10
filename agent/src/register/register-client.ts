/**
 * One connection of the box to the central register: a grpc-js client over
 * mTLS with the box certificate and the shared TLS profile (TLS 1.3, our CAs,
 * CRLs), the server checked by name AND as the `register` service from our
 * services CA. The outbox loads this module only when a register is
 * configured: grpc-js and proto-loader stay out of an agent without one.
 */
import * as grpc from '@grpc/grpc-js';
import tls from 'node:tls';
import { checkServerIsService } from '../../../certs/src/peer-auth.js';
import { secureContextOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import {
  INGEST_METHOD_PATH,
  registerIngestService,
  type IngestRequest,
  type IngestResponseIn,
} from '../../../protocol/src/register-proto.js';

export const REGISTER_SERVICE_NAME = 'register';

export interface RegisterClientOptions {
  readonly address: string;
  readonly serverName: string;
  readonly tls: TlsMaterial;
}

export interface IngestConnection {
  /** Sends one message; resolves when it may be followed (write back-pressure). */
  send(message: IngestRequest): Promise<void>;
  /** The next message from the register, or rejects after `timeoutMs` or when the stream ends. */
  next(timeoutMs: number): Promise<IngestResponseIn>;
  /** Resolves when the stream is over (either side, or an error). */
  readonly ended: Promise<void>;
  /** Ends the stream and the channel; safe twice. */
  close(): void;
}

type Waiter = { resolve: (m: IngestResponseIn) => void; reject: (e: Error) => void };

/** Opens the Ingest stream (the TLS handshake happens on the first send). */
export function openIngest(options: RegisterClientOptions): IngestConnection {
  const context = tls.createSecureContext(secureContextOptions(options.tls));
  const credentials = grpc.credentials.createFromSecureContext(context, {
    checkServerIdentity: checkServerIsService(options.tls, options.serverName, {
      serviceName: REGISTER_SERVICE_NAME,
    }),
  });
  const client = new grpc.Client(options.address, credentials, {
    'grpc.ssl_target_name_override': options.serverName,
    'grpc.default_authority': options.serverName,
    // One connection per client: a box has one register stream, tests and the bench many boxes.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.max_receive_message_length': 1024 * 1024,
    'grpc.enable_channelz': 0,
  });
  const method = registerIngestService().Ingest as grpc.MethodDefinition<
    IngestRequest,
    IngestResponseIn
  >;
  const call = client.makeBidiStreamRequest(
    INGEST_METHOD_PATH,
    method.requestSerialize,
    method.responseDeserialize,
  );
  const inbox: IngestResponseIn[] = [];
  const waiters: Waiter[] = [];
  const drains: (() => void)[] = [];
  let ended: Error | null = null;
  let onEnded: () => void = () => undefined;
  const endedPromise = new Promise<void>((resolve) => (onEnded = resolve));
  const fail = (err: Error): void => {
    ended ??= err;
    for (const w of waiters.splice(0)) w.reject(ended);
    for (const d of drains.splice(0)) d();
    onEnded();
  };
  call.on('drain', () => {
    for (const d of drains.splice(0)) d();
  });
  call.on('data', (message: IngestResponseIn) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else inbox.push(message);
  });
  call.on('error', (err: Error) => fail(new Error(`register stream: ${err.message}`)));
  call.on('end', () => fail(new Error('the register ended the stream')));
  let closed = false;
  return {
    ended: endedPromise,
    send(message) {
      if (ended) return Promise.reject(ended);
      return new Promise<void>((resolve) => {
        if (call.write(message)) resolve();
        else drains.push(resolve);
      });
    },
    next(timeoutMs) {
      const queued = inbox.shift();
      if (queued) return Promise.resolve(queued);
      if (ended) return Promise.reject(ended);
      return new Promise<IngestResponseIn>((resolve, reject) => {
        const waiter: Waiter = {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`the register did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      fail(new Error('closed'));
      call.cancel();
      client.close();
    },
  };
}
