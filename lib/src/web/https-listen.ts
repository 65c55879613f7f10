/**
 * An HTTPS server of our web pages (the centre's viewer, the register's
 * page) listening on its configured address: TLS files read and checked as a
 * usable identity first (`tls-material-invalid`), TLS 1.2 at least, a listen
 * failure as one clear error with the address.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { VigieError, type ErrorCode } from '../errors.js';
import { readTextFile } from '../files.js';

export interface HttpsListenOptions {
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  readonly listen: { readonly host: string; readonly port: number };
  /** For messages: 'viewer', 'register web page'. */
  readonly what: string;
  /** The error code of a listen failure. */
  readonly listenFailed: ErrorCode;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Called with the server before it listens (to attach an upgrade handler). */
  readonly created?: (server: https.Server) => void;
}

export async function listenHttps(
  o: HttpsListenOptions,
): Promise<{ server: https.Server; url: string }> {
  const { tls, listen } = o;
  const cert = await readTextFile(tls.certFile, `${o.what} TLS certificate`);
  const key = await readTextFile(tls.keyFile, `${o.what} TLS private key`);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new VigieError(
      'tls-material-invalid',
      `${tls.certFile} and ${tls.keyFile} do not make a usable TLS identity: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, o.handler);
  o.created?.(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new VigieError(
          o.listenFailed,
          `the ${o.what} cannot listen on ${listen.host}:${listen.port}: ${err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(listen.port, listen.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { server, url: `https://${host}:${port}/` };
}

/** Closes the server and every open connection. */
export function closeHttps(server: https.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
