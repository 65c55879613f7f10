/**
 * Who may do what on the central broker, as pure functions of the identity
 * carried by the client's certificate (never of the MQTT username, which the
 * client chooses). The table is in docs/central.md; each rule has a test in
 * test/central/authorisation.test.ts and, end to end, in broker.test.ts.
 *
 * Boxes: read their own site's commands, the broadcast and the policy; write
 * their own site's events and state. Operators and administrators: write
 * commands for any site and the broadcast; read events, state, the register's
 * alarms and the policy.
 * Nobody publishes a retained command (a retained command would be replayed to
 * every box that reconnects) and nobody but the central service publishes the
 * policy (its own publish does not go through these checks).
 */
import { ID_PATTERN, type Identity, type PersonRole } from '../../../certs/src/identity.js';
import {
  BROADCAST_CMD_TOPIC,
  cmdTopic,
  parseSiteTopic,
  POLICY_TOPIC,
  REGISTER_ALARMS_TOPIC,
} from '../../../protocol/src/topics.js';
import { isCommandTopic, parseSiteFilter } from './topic-filters.js';

export type Decision = { readonly allowed: true } | { readonly allowed: false; reason: string };

const ALLOW: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

/** People who may use the operator console over MQTT. Viewers only ever use the relay. */
export const CONSOLE_ROLES: readonly PersonRole[] = ['operator', 'admin'];

export interface PublishRequest {
  readonly topic: string;
  readonly retain: boolean;
}

/** How a log line names the peer: the same text as its certificate identity. */
export function describeIdentity(identity: Identity): string {
  switch (identity.kind) {
    case 'box':
      return `box:${identity.siteId}:${identity.boxId}`;
    case 'service':
      return `service:${identity.name}`;
    case 'person':
      return `person:${identity.role}:${identity.name}`;
  }
}

/**
 * The MQTT client ids a peer may use. A box has exactly one, its certificate
 * CN `box:<site>:<box>`, so a second connection of the same box takes over
 * the first (MQTT 3.1.1 §3.1.4) and no other peer can take over a box's
 * session: the `box:` namespace is reserved to boxes, and `person:<role>:<slug>`
 * (optionally `:<suffix>`) to that person. Consoles may otherwise choose any id
 * (the operator console uses `op:<kid>:<random>`), so several run at once.
 */
export function checkClientId(identity: Identity, clientId: string): Decision {
  const base = describeIdentity(identity);
  if (identity.kind !== 'person') {
    return clientId === base
      ? ALLOW
      : deny(`client id "${clientId}" does not match the certificate: use "${base}"`);
  }
  if (clientId.startsWith('box:')) return deny(`client ids "box:..." are reserved to boxes`);
  if (clientId.startsWith('person:') && clientId !== base) {
    const suffix = clientId.startsWith(`${base}:`) ? clientId.slice(base.length + 1) : '';
    if (!ID_PATTERN.test(suffix)) {
      return deny(`client id "${clientId}" belongs to another person: use "${base}[:<suffix>]"`);
    }
  }
  return ALLOW;
}

export function mayConnect(identity: Identity): Decision {
  switch (identity.kind) {
    case 'box':
      return ALLOW;
    case 'person':
      return CONSOLE_ROLES.includes(identity.role)
        ? ALLOW
        : deny(`a ${identity.role} may not use the broker (roles allowed: operator, admin)`);
    case 'service':
      return deny(`service ${identity.name} may not use the broker`);
  }
}

export function maySubscribe(identity: Identity, filter: string): Decision {
  if (mayConnect(identity).allowed === false) return deny('not allowed on the broker');
  if (filter === POLICY_TOPIC) return ALLOW;
  if (identity.kind === 'box') {
    if (filter === cmdTopic(identity.siteId) || filter === BROADCAST_CMD_TOPIC) return ALLOW;
    return deny(`a box of site ${identity.siteId} may read only its own commands and the policy`);
  }
  const site = parseSiteFilter(filter);
  if (site !== null && (site.channel === 'evt' || site.channel === 'state')) return ALLOW;
  if (filter === REGISTER_ALARMS_TOPIC) return ALLOW;
  return deny(
    'the console may read only sites’ evt and state topics, the register’s alarms and the policy',
  );
}

export function mayPublish(identity: Identity, request: PublishRequest): Decision {
  if (mayConnect(identity).allowed === false) return deny('not allowed on the broker');
  const { topic, retain } = request;
  if (retain && isCommandTopic(topic)) {
    return deny('a command may never be retained (it would replay to every box that reconnects)');
  }
  if (topic === POLICY_TOPIC) return deny('only the central service publishes the policy');
  const site = parseSiteTopic(topic);
  if (identity.kind === 'box') {
    if (site?.siteId !== identity.siteId) {
      return deny(`a box of site ${identity.siteId} may write only its own evt and state`);
    }
    if (site.channel === 'state') return ALLOW;
    if (site.channel === 'evt') return retain ? deny('events are never retained') : ALLOW;
    return deny('a box may not publish commands');
  }
  if (topic === BROADCAST_CMD_TOPIC || site?.channel === 'cmd') return ALLOW;
  return deny('the console may write only commands');
}
