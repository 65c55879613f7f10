/**
 * Topic tests that only the broker's authorisation needs, built on the shared
 * topic helpers of protocol/src/topics.ts.
 */
import { ID_PATTERN } from '../../../protocol/src/ids.js';
import {
  BROADCAST_CMD_TOPIC,
  parseSiteTopic,
  TOPIC_ROOT,
  type SiteChannel,
} from '../../../protocol/src/topics.js';

/** True for every topic on which a command may travel: a site's cmd and the broadcast. */
export function isCommandTopic(topic: string): boolean {
  return topic === BROADCAST_CMD_TOPIC || parseSiteTopic(topic)?.channel === 'cmd';
}

const CHANNELS: readonly string[] = ['cmd', 'evt', 'state'];

/**
 * A subscription filter `vigie/v1/sites/{site|+}/{channel}`: only the site
 * level may be a wildcard (`+`), so `#` can never widen a grant to commands.
 * Returns the site (or '+') and the channel, else null.
 */
export function parseSiteFilter(filter: string): { siteId: string; channel: SiteChannel } | null {
  const prefix = `${TOPIC_ROOT}/sites/`;
  if (!filter.startsWith(prefix)) return null;
  const levels = filter.slice(prefix.length).split('/');
  const [siteId, channel] = levels;
  if (levels.length !== 2 || siteId === undefined || channel === undefined) return null;
  if (siteId !== '+' && !ID_PATTERN.test(siteId)) return null;
  if (!CHANNELS.includes(channel)) return null;
  return { siteId, channel: channel as SiteChannel };
}
