/**
 * The HTTP side of one simulated camera: its own port, the device service at
 * /onvif/device_service (the path clients assume by default) and the media
 * service at /onvif/media_service. Bodies are bounded before parsing; slow or
 * hanging clients are cut by the server's request timeout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/src/log.js';
import {
  handleOnvifRequest,
  type OnvifCameraContext,
  type OnvifServiceName,
} from './onvif-service.js';
import type { RejectCounter } from './reject-counter.js';

export const DEVICE_PATH = '/onvif/device_service';
export const MEDIA_PATH = '/onvif/media_service';
export const SNAPSHOT_PATH_PREFIX = '/onvif/snapshot/';

export interface CameraServerOptions {
  host: string; // '127.0.0.1' in tests and by default
  port: number; // 0 = ephemeral
  maxBodyBytes?: number; // default 64 KiB
  requestTimeoutMs?: number; // default 10 s
  log: Logger;
  counter: RejectCounter;
}

const ROUTES: Record<string, OnvifServiceName> = { [DEVICE_PATH]: 'device', [MEDIA_PATH]: 'media' };

export class CameraServer {
  #server: http.Server | undefined;
  #context: OnvifCameraContext | undefined;

  constructor(readonly options: CameraServerOptions) {}

  /** Listens and returns the bound port; the context is given once URLs are known. */
  async listen(): Promise<number> {
    if (this.#server) return (this.#server.address() as AddressInfo).port;
    const server = http.createServer((req, res) => this.#onRequest(req, res));
    server.requestTimeout = this.options.requestTimeoutMs ?? 10_000;
    server.headersTimeout = Math.min(server.requestTimeout, 10_000);
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  serve(context: OnvifCameraContext): void {
    this.#context = context;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const ctx = this.#context;
    if (path.startsWith(SNAPSHOT_PATH_PREFIX) && req.method === 'GET') {
      // Snapshots are not simulated yet: the URI exists so clients can read it.
      this.#plain(res, 501, 'snapshot not simulated\n');
      return;
    }
    const service = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!service || !ctx) {
      this.options.counter.count('http-unknown-path');
      this.#plain(res, 404, 'not found\n');
      return;
    }
    if (req.method !== 'POST') {
      this.options.counter.count('http-bad-method');
      res.setHeader('Allow', 'POST');
      this.#plain(res, 405, 'POST only\n');
      return;
    }
    const max = this.options.maxBodyBytes ?? 64 * 1024;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      this.#tooLarge(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        this.#tooLarge(req, res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      this.#reply(res, ctx, service, Buffer.concat(chunks));
    });
    req.on('error', (err) =>
      this.options.log.debug('request stream error', () => ({ err: err.message })),
    );
  }

  #reply(
    res: http.ServerResponse,
    ctx: OnvifCameraContext,
    service: OnvifServiceName,
    body: Buffer,
  ): void {
    let reply;
    try {
      reply = handleOnvifRequest(ctx, service, body);
    } catch (err) {
      // A bug, not hostile input: answer like a camera would and keep serving.
      this.options.log.error('internal error while answering a request', err);
      this.#plain(res, 500, 'internal error\n');
      return;
    }
    res.writeHead(reply.status, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
    res.end(reply.body);
  }

  #tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (res.headersSent) return;
    this.options.counter.count('http-body-too-large');
    res.setHeader('Connection', 'close');
    this.#plain(res, 413, 'request body too large\n');
    req.removeAllListeners('data');
    // Stop reading a hostile upload: close once the 413 is flushed.
    res.once('finish', () => req.destroy());
  }

  #plain(res: http.ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text);
  }
}
