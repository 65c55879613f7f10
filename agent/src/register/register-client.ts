/**
 * One connection of the box to the central register: a gRPC bidi stream spoken
 * directly over node:http2 (the wire format of grpc-js's server: HTTP/2 POST,
 * `application/grpc`, 5-byte length-prefixed messages, grpc-status in the
 * trailers), over mTLS with the box certificate and the shared TLS profile
 * (TLS 1.3, our CAs, CRLs), the server checked by name AND as the `register`
 * service from our services CA. Not grpc-js: its channel machinery (65
 * modules: resolvers, balancers, retries, channelz) cost an idle box ~3 MB of
 * RSS for the one stream it has (bench/agent-idle.bench.ts, register variant).
 * Messages are encoded and read by hand (protocol/src/register-wire.ts, kept
 * byte-identical to protobufjs by property tests): protobufjs, proto-loader and
 * the loaded .proto (~2 MB) stay out of the agent. The outbox loads this module
 * only when a register is configured: http2 stays out of an agent without one.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { checkServerIsService } from '../../../certs/src/peer-auth.js';
import { secureContextOptions, type TlsMaterial } from '../../../certs/src/tls-profile.js';
import {
  INGEST_METHOD_PATH,
  type IngestRequest,
  type IngestResponseIn,
} from '../../../protocol/src/register-proto.js';
import { decodeIngestResponse, encodeIngestRequest } from '../../../protocol/src/register-wire.js';

export const REGISTER_SERVICE_NAME = 'register';

/** A message from the register larger than this ends the stream (as grpc-js's limit did). */
const MAX_RECEIVE_BYTES = 1024 * 1024;
/** HTTP/2 ping after this long (a dead link is noticed while the stream idles)... */
const KEEPALIVE_TIME_MS = 60_000;
/** ...and the connection is dropped when the ping is not answered within this. */
const KEEPALIVE_TIMEOUT_MS = 20_000;

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

/** grpc-status codes by name, for the messages (as grpc-js wrote them: "7 PERMISSION_DENIED: ..."). */
const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

function decodeGrpcMessage(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : '';
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Opens the Ingest stream (the connection and its TLS handshake start now). */
export function openIngest(options: RegisterClientOptions): IngestConnection {
  const secureContext = tls.createSecureContext(secureContextOptions(options.tls));
  const checkServerIdentity = checkServerIsService(options.tls, options.serverName, {
    serviceName: REGISTER_SERVICE_NAME,
  });
  const session = http2.connect(`https://${options.address}`, {
    secureContext,
    // SNI carries DNS names only (RFC 6066 s.3); the name check does not depend on it.
    ...(net.isIP(options.serverName) === 0 ? { servername: options.serverName } : {}),
    checkServerIdentity,
    rejectUnauthorized: true,
    // One stream in each direction is all a box needs: small windows, small tables.
    settings: { enablePush: false, maxConcurrentStreams: 1 },
  });

  const inbox: IngestResponseIn[] = [];
  const waiters: Waiter[] = [];
  const drains: (() => void)[] = [];
  let ended: Error | null = null;
  let onEnded: () => void = () => undefined;
  const endedPromise = new Promise<void>((resolve) => (onEnded = resolve));
  let keepalive: NodeJS.Timeout | null = null;
  const fail = (err: Error): void => {
    if (!ended) ended = err;
    if (keepalive) clearInterval(keepalive);
    keepalive = null;
    for (const w of waiters.splice(0)) w.reject(ended);
    for (const d of drains.splice(0)) d();
    onEnded();
    if (!session.destroyed) session.destroy();
  };
  session.on('error', (err: Error) => fail(new Error(`register stream: ${err.message}`)));
  session.on('close', () => fail(new Error('register stream: the connection closed')));
  session.on('goaway', () => undefined); // the stream's own close says how it ended

  const stream = session.request(
    {
      [http2.constants.HTTP2_HEADER_METHOD]: 'POST',
      [http2.constants.HTTP2_HEADER_PATH]: INGEST_METHOD_PATH,
      [http2.constants.HTTP2_HEADER_AUTHORITY]: options.serverName,
      [http2.constants.HTTP2_HEADER_SCHEME]: 'https',
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'user-agent': 'vigie-agent',
    },
    { endStream: false },
  );

  // Keepalive: an HTTP/2 ping every KEEPALIVE_TIME_MS, the link dropped when unanswered.
  keepalive = setInterval(() => {
    const timer = setTimeout(
      () => fail(new Error('register stream: keepalive ping unanswered')),
      KEEPALIVE_TIMEOUT_MS,
    );
    const sent = session.ping((err) => {
      clearTimeout(timer);
      if (err) fail(new Error(`register stream: keepalive ping failed: ${err.message}`));
    });
    if (!sent) clearTimeout(timer);
  }, KEEPALIVE_TIME_MS);

  let status: { code: number; detail: string } | null = null;
  const takeStatus = (headers: http2.IncomingHttpHeaders): void => {
    const code = headers['grpc-status'];
    if (code === undefined || status) return;
    status = { code: Number(code), detail: decodeGrpcMessage(headers['grpc-message']) };
  };
  stream.on('response', (headers) => {
    const httpStatus = headers[http2.constants.HTTP2_HEADER_STATUS];
    const type = String(headers['content-type'] ?? '');
    takeStatus(headers);
    if (!status && (Number(httpStatus) !== 200 || !type.startsWith('application/grpc'))) {
      fail(new Error(`register stream: HTTP ${String(httpStatus)} ${type}`));
    }
  });
  stream.on('trailers', (headers: http2.IncomingHttpHeaders) => takeStatus(headers));

  let pending: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (!ended && pending.length >= 5) {
      const compressed = pending[0] !== 0;
      const length = pending.readUInt32BE(1);
      if (compressed) return fail(new Error('register stream: a compressed message (not asked)'));
      if (length > MAX_RECEIVE_BYTES) {
        return fail(
          new Error(`register stream: a message of ${length} bytes (max ${MAX_RECEIVE_BYTES})`),
        );
      }
      if (pending.length < 5 + length) return;
      let message: IngestResponseIn;
      try {
        message = decodeIngestResponse(pending.subarray(5, 5 + length));
      } catch (err) {
        return fail(new Error(`register stream: undecodable message: ${(err as Error).message}`));
      }
      pending = pending.subarray(5 + length);
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(message);
      else inbox.push(message);
    }
  });
  stream.on('drain', () => {
    for (const d of drains.splice(0)) d();
  });
  stream.on('error', (err: Error) => fail(new Error(`register stream: ${err.message}`)));
  // The register's half ends with its status (trailers): all its messages were read
  // by then ('end' follows the last 'data'); 'close' covers a reset stream.
  const settle = (): void => {
    const s = status;
    if (!s) {
      fail(new Error('register stream: closed without a status'));
    } else if (s.code === 0) {
      fail(new Error('the register ended the stream'));
    } else {
      fail(
        new Error(`register stream: ${s.code} ${STATUS_NAMES[s.code] ?? 'UNKNOWN'}: ${s.detail}`),
      );
    }
  };
  stream.on('end', settle);
  stream.on('close', settle);

  let closed = false;
  return {
    ended: endedPromise,
    send(message) {
      if (ended) return Promise.reject(ended);
      const body = encodeIngestRequest(message);
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      return new Promise<void>((resolve) => {
        if (stream.write(frame)) resolve();
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
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      if (!session.destroyed) session.destroy();
    },
  };
}
