/**
 * Who a certificate speaks for. The identity lives in one SAN URI that later
 * code uses for authorisation (the CN is for people reading logs):
 *
 *   boxes     urn:vigie:box:<siteId>:<boxId>
 *   services  urn:vigie:service:<name>
 *   people    urn:vigie:person:<role>:<name-slug>   (role: viewer | operator | admin)
 *   CAs       urn:vigie:ca:<purpose>                (root | boxes | services | people)
 *
 * Parsing uses node:crypto / node:tls only (DESIGN: every verification path
 * goes through Node), and is strict: one `urn:vigie:` URI, every part in the
 * allowed charset, anything else is "no identity" (null).
 */
import type { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { VigieError } from '../../lib/src/errors.js';
// Site, box, service and person-slug ids share the protocol's id charset.
import { ID_PATTERN } from '../../protocol/src/ids.js';
export { ID_PATTERN };

export const PERSON_ROLES = ['viewer', 'operator', 'admin'] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

export const CA_PURPOSES = ['root', 'boxes', 'services', 'people'] as const;
export type CaPurpose = (typeof CA_PURPOSES)[number];

export type Identity =
  | { kind: 'box'; siteId: string; boxId: string }
  | { kind: 'service'; name: string }
  | { kind: 'person'; role: PersonRole; name: string };

export type IdentityKind = Identity['kind'];

/** The intermediate CA that issues each kind of leaf. */
export const ISSUER_OF: Readonly<Record<IdentityKind, Exclude<CaPurpose, 'root'>>> = {
  box: 'boxes',
  service: 'services',
  person: 'people',
};

const URN_PREFIX = 'urn:vigie:';

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function isPersonRole(value: string): value is PersonRole {
  return (PERSON_ROLES as readonly string[]).includes(value);
}

/** Throws a `pki-invalid-name` error naming the field, the value and the rule. */
export function assertValidId(field: string, value: string): void {
  if (!isValidId(value)) {
    throw new VigieError(
      'pki-invalid-name',
      `${field} "${value}" is not allowed: use 1 to 63 characters among a-z, 0-9 and "-", starting with a letter or digit`,
    );
  }
}

/** "Jeanne Dupont-Léger" -> "jeanne-dupont-leger"; the slug must then pass ID_PATTERN. */
export function slugify(displayName: string): string {
  return displayName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function identityUri(identity: Identity): string {
  switch (identity.kind) {
    case 'box':
      return `${URN_PREFIX}box:${identity.siteId}:${identity.boxId}`;
    case 'service':
      return `${URN_PREFIX}service:${identity.name}`;
    case 'person':
      return `${URN_PREFIX}person:${identity.role}:${identity.name}`;
  }
}

export function caUri(purpose: CaPurpose): string {
  return `${URN_PREFIX}ca:${purpose}`;
}

/** Parses one URI; null unless it is exactly one of our identity forms. */
export function parseIdentityUri(uri: string): Identity | null {
  if (!uri.startsWith(URN_PREFIX)) return null;
  const parts = uri.slice(URN_PREFIX.length).split(':');
  const [kind, a, b] = parts;
  if (kind === 'box' && parts.length === 3 && a && b && isValidId(a) && isValidId(b)) {
    return { kind: 'box', siteId: a, boxId: b };
  }
  if (kind === 'service' && parts.length === 2 && a && isValidId(a)) {
    return { kind: 'service', name: a };
  }
  if (kind === 'person' && parts.length === 3 && a && b && isPersonRole(a) && isValidId(b)) {
    return { kind: 'person', role: a, name: b };
  }
  return null;
}

export function parseCaUri(uri: string): CaPurpose | null {
  if (!uri.startsWith(`${URN_PREFIX}ca:`)) return null;
  const purpose = uri.slice(`${URN_PREFIX}ca:`.length);
  return (CA_PURPOSES as readonly string[]).includes(purpose) ? (purpose as CaPurpose) : null;
}

export interface GeneralNameEntry {
  type: string; // as Node prints it: "DNS", "IP Address", "URI", ...
  value: string;
}

/**
 * Splits Node's `subjectAltName` text ("DNS:a, URI:urn:x, IP Address:1.2.3.4").
 * Since the fix for CVE-2021-44532 Node prints any value containing a comma,
 * quote or control character as a JSON string (`URI:"a, URI:b"`), so a crafted
 * value cannot smuggle a second entry past a naive split; this parser honours
 * that quoting instead of splitting on ", ".
 */
export function parseSubjectAltName(text: string | undefined): GeneralNameEntry[] {
  const entries: GeneralNameEntry[] = [];
  let rest = text ?? '';
  while (rest.length > 0) {
    const colon = rest.indexOf(':');
    if (colon <= 0) throw new Error('malformed subjectAltName');
    const type = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    let value: string;
    if (rest.startsWith('"')) {
      const end = endOfJsonString(rest);
      value = JSON.parse(rest.slice(0, end + 1)) as string;
      rest = rest.slice(end + 1);
    } else {
      const sep = rest.indexOf(', ');
      value = sep === -1 ? rest : rest.slice(0, sep);
      rest = sep === -1 ? '' : rest.slice(sep);
    }
    entries.push({ type, value });
    if (rest.startsWith(', ')) rest = rest.slice(2);
    else if (rest.length > 0) throw new Error('malformed subjectAltName');
  }
  return entries;
}

function endOfJsonString(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new Error('malformed subjectAltName: unterminated string');
}

function sanText(cert: X509Certificate | PeerCertificate): string | undefined {
  return 'subjectAltName' in cert ? cert.subjectAltName : cert.subjectaltname;
}

/** Every `urn:vigie:` URI in the certificate, or null if its SAN cannot be parsed. */
function vigieUris(cert: X509Certificate | PeerCertificate): string[] | null {
  try {
    return parseSubjectAltName(sanText(cert))
      .filter((e) => e.type === 'URI' && e.value.startsWith(URN_PREFIX))
      .map((e) => e.value);
  } catch {
    // A SAN we cannot read carries no identity that we could trust: the caller refuses.
    return null;
  }
}

/**
 * The identity a leaf certificate speaks for, or null when it has none of ours:
 * not exactly one `urn:vigie:` URI, a malformed one, or a CA certificate.
 */
export function identityFromCertificate(cert: X509Certificate | PeerCertificate): Identity | null {
  if (cert.ca) return null;
  const uris = vigieUris(cert);
  if (uris?.length !== 1 || uris[0] === undefined) return null;
  return parseIdentityUri(uris[0]);
}

/** The purpose of one of our CA certificates (from its `urn:vigie:ca:` URI), or null. */
export function caPurposeFromCertificate(cert: X509Certificate): CaPurpose | null {
  if (!cert.ca) return null;
  const uris = vigieUris(cert);
  if (uris?.length !== 1 || uris[0] === undefined) return null;
  return parseCaUri(uris[0]);
}
