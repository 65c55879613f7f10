/**
 * What a person asks `vigie pki issue` for, checked and turned into the
 * subject, identity URI and SANs of the leaf certificate. Every refusal names
 * the field, the value and the rule.
 */
import net from 'node:net';
import { VigieError } from '../../lib/src/errors.js';
import {
  assertValidId,
  identityUri,
  isPersonRole,
  PERSON_ROLES,
  slugify,
  type Identity,
  type IdentityKind,
  type PersonRole,
} from './identity.js';

export type IssueRequest =
  | { kind: 'box'; siteId: string; boxId: string }
  | { kind: 'service'; name: string; dns: readonly string[]; ips: readonly string[] }
  | { kind: 'person'; displayName: string; role: PersonRole };

export interface LeafDescription {
  kind: IdentityKind;
  identity: Identity;
  identityUri: string;
  commonName: string;
  organizationalUnit: string;
  dns: string[];
  ips: string[];
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

// Control characters would make the CN unreadable in logs and `vigie pki list`.
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export function normaliseDnsName(value: string): string {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (!DNS_NAME.test(name)) {
    throw new VigieError(
      'pki-invalid-name',
      `DNS name "${value}" is not allowed: use labels of a-z, 0-9 and "-" separated by dots (no wildcards)`,
    );
  }
  return name;
}

export function normaliseIp(value: string): string {
  const ip = value.trim();
  if (net.isIP(ip) === 0) {
    throw new VigieError('pki-invalid-name', `"${value}" is not an IPv4 or IPv6 address`);
  }
  return ip;
}

function describeService(
  name: string,
  dns: readonly string[],
  ips: readonly string[],
): LeafDescription {
  assertValidId('service name', name);
  const dnsNames = [...new Set(dns.map(normaliseDnsName))];
  const ipAddresses = [...new Set(ips.map(normaliseIp))];
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new VigieError(
      'pki-invalid-name',
      `service "${name}" needs at least one --dns name or --ip address: clients check the server name against them`,
    );
  }
  const identity: Identity = { kind: 'service', name };
  return {
    kind: 'service',
    identity,
    identityUri: identityUri(identity),
    commonName: name,
    organizationalUnit: 'services',
    dns: dnsNames,
    ips: ipAddresses,
  };
}

function describePerson(displayName: string, role: string): LeafDescription {
  const name = displayName.trim();
  if (name.length === 0 || name.length > 64 || CONTROL_CHARS.test(name)) {
    throw new VigieError(
      'pki-invalid-name',
      `person name "${displayName}" is not allowed: use 1 to 64 printable characters`,
    );
  }
  // A colon would let a person's CN read like a box's (`box:<site>:<id>`), and
  // Mosquitto authorises by CN alone (use_identity_as_username).
  if (name.includes(':')) {
    throw new VigieError(
      'pki-invalid-name',
      `person name "${displayName}" is not allowed: a person's name has no colon`,
    );
  }
  if (!isPersonRole(role)) {
    throw new VigieError(
      'pki-invalid-name',
      `role "${role}" is not one of ${PERSON_ROLES.join(', ')}`,
    );
  }
  const slug = slugify(name);
  assertValidId(`name slug of "${name}"`, slug);
  const identity: Identity = { kind: 'person', role, name: slug };
  return {
    kind: 'person',
    identity,
    identityUri: identityUri(identity),
    commonName: name,
    organizationalUnit: 'people',
    dns: [],
    ips: [],
  };
}

export function describeLeaf(request: IssueRequest): LeafDescription {
  switch (request.kind) {
    case 'box': {
      assertValidId('site id', request.siteId);
      assertValidId('box id', request.boxId);
      const identity: Identity = { kind: 'box', siteId: request.siteId, boxId: request.boxId };
      return {
        kind: 'box',
        identity,
        identityUri: identityUri(identity),
        commonName: `box:${request.siteId}:${request.boxId}`,
        organizationalUnit: 'boxes',
        dns: [],
        ips: [],
      };
    }
    case 'service':
      return describeService(request.name, request.dns, request.ips);
    case 'person':
      return describePerson(request.displayName, request.role);
  }
}
