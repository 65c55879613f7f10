/**
 * MQTT topics of Vigie (DESIGN, Contracts). Commands are QoS 1 and never
 * retained; `state` is retained (online, or the `offline` last will); the
 * signed policy bundle is retained on one topic for every box.
 */
import { ID_PATTERN } from './ids.js';

export const TOPIC_ROOT = 'vigie/v1';
export const POLICY_TOPIC = `${TOPIC_ROOT}/policy`;
/** `sessions.close-all` with scope {all:true} goes to every box at once. */
export const BROADCAST_CMD_TOPIC = `${TOPIC_ROOT}/all/cmd`;

/** The register's alarms (docs/register.md), published by the central only; QoS 1, not retained. */
export const REGISTER_ALARMS_TOPIC = `${TOPIC_ROOT}/register/alarms`;

export type SiteChannel = 'cmd' | 'evt' | 'state';

function siteTopic(siteId: string, channel: SiteChannel): string {
  if (!ID_PATTERN.test(siteId)) throw new Error(`not a site id: ${JSON.stringify(siteId)}`);
  return `${TOPIC_ROOT}/sites/${siteId}/${channel}`;
}

export const cmdTopic = (siteId: string): string => siteTopic(siteId, 'cmd');
export const evtTopic = (siteId: string): string => siteTopic(siteId, 'evt');
export const stateTopic = (siteId: string): string => siteTopic(siteId, 'state');
/** Wildcards for the console and the register, which follow every site. */
export const ALL_EVT_TOPIC = `${TOPIC_ROOT}/sites/+/evt`;
export const ALL_STATE_TOPIC = `${TOPIC_ROOT}/sites/+/state`;

const SITE_TOPIC = /^vigie\/v1\/sites\/([a-z0-9][a-z0-9-]{0,62})\/(cmd|evt|state)$/;

/** `vigie/v1/sites/borny/cmd` -> {siteId:'borny', channel:'cmd'}; anything else -> null. */
export function parseSiteTopic(topic: string): { siteId: string; channel: SiteChannel } | null {
  const m = SITE_TOPIC.exec(topic);
  if (!m) return null;
  return { siteId: m[1] as string, channel: m[2] as SiteChannel };
}
