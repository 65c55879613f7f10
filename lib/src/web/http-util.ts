/**
 * Small HTTP helpers for our web pages (the centre's viewer, the register's
 * page): cookies, bounded form bodies, the security headers every response
 * carries. The default CSP is the viewer's; a page that plays no media sends
 * a stricter one through `send`'s headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * No inline script or style, media only from MediaSource blobs, sockets and
 * forms only to this origin, never framed. `connect-src 'self'` covers wss: to
 * the same host (CSP Level 3).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  'media-src blob:',
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Strict-Transport-Security': 'max-age=31536000',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

/**
 * The request's path and query, never throwing: the request target is read
 * as a path on our own origin, so "//host/x" or "http://x/y" is a path that
 * matches no page (404) instead of an invalid or foreign URL (a 500).
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  const origin = 'https://vigie.invalid';
  try {
    return new URL(target.startsWith('/') ? `${origin}${target}` : `${origin}/${target}`);
  } catch {
    return new URL(`${origin}/`);
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

/** A cookie only this origin's pages send, over HTTPS, never readable by scripts. */
export function cookie(name: string, value: string, maxAgeSec: number): string {
  return `${name}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; Secure; SameSite=Strict`;
}

export const MAX_FORM_BYTES = 4096;

/** Reads an urlencoded form of at most MAX_FORM_BYTES; null when too large or of another type. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/html; charset=utf-8',
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, ...headers });
  res.end(body);
}

export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(303, { ...SECURITY_HEADERS, Location: location, ...headers });
  res.end();
}

/**
 * Same-origin check for POSTs and socket upgrades, a second lock behind
 * SameSite=Strict and the CSRF token. A cross-site request is refused when the
 * browser says so (Sec-Fetch-Site) or names another Origin. Form POSTs may
 * carry `Origin: null`: with `Referrer-Policy: no-referrer` Chromium sends
 * that for its own pages (Fetch spec, "serializing a request origin"), so for
 * POSTs the token decides then. Socket upgrades must name this origin.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  const ours = `https://${req.headers.host ?? ''}`;
  if (req.method === 'GET') return origin === ours; // the WebSocket upgrade
  return origin === undefined || origin === 'null' || origin === ours;
}
