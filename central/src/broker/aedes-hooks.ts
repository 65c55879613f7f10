/**
 * The aedes handlers that enforce authorisation.ts. aedes' own types are
 * adequate here, so no `any` is needed.
 *
 * - authenticate: the identity comes from the TLS peer certificate (chain
 *   already verified by node:tls with our CAs and CRLs; authorisePeer adds
 *   the issuing-CA check), never from the MQTT username or password. A
 *   refusal answers CONNACK 5 (not authorised) or 2 (identifier rejected).
 * - authorizeSubscribe: a refused filter gets SUBACK 0x80 and no subscription.
 * - authorizePublish: MQTT 3.1.1 has no negative PUBACK, so aedes closes the
 *   connection (§3.3.5); the message goes nowhere. Also consulted for last
 *   wills, with the client that registered the will.
 */
import tls from 'node:tls';
import type {
  AedesOptions,
  AuthenticateError,
  AuthErrorCode,
  Client,
  PublishPacket,
  Subscription,
} from 'aedes';
import { authorisePeer, type TrustAnchors } from '../../../certs/src/peer-auth.js';
import type { Identity } from '../../../certs/src/identity.js';
import type { Logger } from '../../../lib/src/log.js';
import {
  checkClientId,
  describeIdentity,
  mayConnect,
  mayPublish,
  maySubscribe,
  type Decision,
} from './authorisation.js';
import type { RefusalCounter } from './refusal-counter.js';

// aedes declares AuthErrorCode as a `const enum`, which isolatedModules cannot read.
const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

export interface HookContext {
  readonly anchors: TrustAnchors;
  readonly log: Logger;
  readonly refusals: RefusalCounter;
}

type Hooks = Required<
  Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe' | 'authorizePublish'>
>;

function authError(message: string, returnCode: AuthErrorCode): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

/** The identity of the certificate on the client's socket, or a refusal. */
function identityOf(client: Client, anchors: TrustAnchors): Identity | Error {
  if (!(client.conn instanceof tls.TLSSocket)) return new Error('not a TLS connection');
  try {
    return authorisePeer(client.conn, anchors, { allow: ['box', 'person', 'service'] });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function firstRefusal(...decisions: (() => Decision)[]): string | null {
  for (const decide of decisions) {
    const decision = decide();
    if (!decision.allowed) return decision.reason;
  }
  return null;
}

export function authorisationHooks(ctx: HookContext): Hooks {
  const identities = new WeakMap<Client, Identity>();
  const refuse = (
    stage: 'connect' | 'subscribe' | 'publish',
    fields: Record<string, unknown>,
  ): void => {
    ctx.refusals.add(stage);
    ctx.log.warn(`refused ${stage}`, fields);
  };

  const authenticate: Hooks['authenticate'] = (client, _username, _password, done) => {
    const identity = identityOf(client, ctx.anchors);
    if (identity instanceof Error) {
      refuse('connect', { clientId: client.id, reason: identity.message });
      return done(authError(identity.message, NOT_AUTHORIZED), null);
    }
    const who = describeIdentity(identity);
    const allowed = mayConnect(identity);
    if (!allowed.allowed) {
      refuse('connect', { identity: who, clientId: client.id, reason: allowed.reason });
      return done(authError(allowed.reason, NOT_AUTHORIZED), null);
    }
    const idCheck = checkClientId(identity, client.id);
    if (!idCheck.allowed) {
      refuse('connect', { identity: who, clientId: client.id, reason: idCheck.reason });
      return done(authError(idCheck.reason, IDENTIFIER_REJECTED), null);
    }
    identities.set(client, identity);
    ctx.log.info('client connected', { identity: who, clientId: client.id });
    return done(null, true);
  };

  const authorizeSubscribe: Hooks['authorizeSubscribe'] = (client, sub: Subscription, done) => {
    const identity = identities.get(client);
    const reason =
      identity === undefined
        ? 'no authenticated identity'
        : firstRefusal(() => maySubscribe(identity, sub.topic));
    if (reason === null) return done(null, sub);
    refuse('subscribe', { identity: who(identity), topic: sub.topic, reason });
    // A null subscription makes aedes answer SUBACK 0x80 for this filter only.
    return done(null, null);
  };

  const authorizePublish: Hooks['authorizePublish'] = (client, packet: PublishPacket, done) => {
    const identity = client === null ? undefined : identities.get(client);
    const request = { topic: packet.topic, retain: packet.retain };
    const reason =
      identity === undefined
        ? 'no authenticated identity'
        : firstRefusal(() => mayPublish(identity, request));
    if (reason === null) return done(null);
    refuse('publish', { identity: who(identity), ...request, reason });
    return done(new Error(`publish refused: ${reason}`));
  };

  return { authenticate, authorizeSubscribe, authorizePublish };
}

function who(identity: Identity | undefined): string {
  return identity === undefined ? '(unauthenticated)' : describeIdentity(identity);
}
