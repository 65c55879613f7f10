/**
 * What each `vigie op` command does, returning the text to print. A refusal
 * by the box is not an error of the console: it is printed with its reason and
 * what to do next, and the command exits 1 (VigieError `command-refused`).
 */
import { randomUUID } from 'node:crypto';
import { VigieError } from '../../../lib/src/errors.js';
import type { SessionOpen } from '../../../protocol/src/commands.js';
import { formatParis } from '../../../protocol/src/paris-time.js';
import { refusalMessage } from '../../../protocol/src/refusal-reasons.js';
import {
  BROADCAST_CMD_TOPIC,
  ALL_EVT_TOPIC,
  cmdTopic,
  evtTopic,
} from '../../../protocol/src/topics.js';
import { formatDuration } from './duration.js';
import type { CommandReply } from './op-client.js';
import { readRetainedStates, withOpContext } from './op-session.js';

type OpenFields = Pick<
  SessionOpen,
  'siteId' | 'cameras' | 'recipient' | 'purpose' | 'trigger' | 'callRef' | 'requestedTtlSec'
>;

function refused(
  reply: Extract<CommandReply, { type: 'command.reject' }>,
  lang: 'fr' | 'en',
): never {
  const message = refusalMessage(reply.reason, reply.params ?? {}, lang);
  throw new VigieError('command-refused', `${message} (${reply.reason})`);
}

export async function openSession(configFile: string, fields: OpenFields): Promise<string> {
  return withOpContext(configFile, async (ctx) => {
    const sessionId = randomUUID();
    const reply = await ctx.send(
      { ...ctx.envelopeTimes(), type: 'session.open', sessionId, ...fields },
      cmdTopic(fields.siteId),
      evtTopic(fields.siteId),
    );
    if (reply.type === 'command.reject') refused(reply, ctx.config.lang);
    const ttlSec = reply.grantedTtlSec ?? fields.requestedTtlSec;
    const until = formatParis(new Date(Date.now() + ttlSec * 1000));
    const shortened =
      ttlSec < fields.requestedTtlSec
        ? ` (demandé ${formatDuration(fields.requestedTtlSec)}, limité par la politique ou les certificats)`
        : '';
    return [
      `transmission ouverte : ${sessionId}`,
      `  site ${fields.siteId}, caméras ${fields.cameras.join(', ')}, vers ${fields.recipient}`,
      `  durée accordée ${formatDuration(ttlSec)}${shortened}, fin au plus tard ${until}`,
    ].join('\n');
  });
}

/** The site of a live session, from the boxes' retained state. */
async function siteOfSession(configFile: string, sessionId: string): Promise<string> {
  const states = await readRetainedStates(configFile);
  for (const state of states) {
    if (state.status === 'online' && state.sessions.some((s) => s.sessionId === sessionId)) {
      return state.siteId;
    }
  }
  throw new VigieError(
    'session-not-found',
    `no online box reports session ${sessionId}; it may already be closed (give --site to send anyway)`,
  );
}

export async function closeSession(
  configFile: string,
  sessionId: string,
  site: string | undefined,
  note: string | undefined,
): Promise<string> {
  const siteId = site ?? (await siteOfSession(configFile, sessionId));
  return withOpContext(configFile, async (ctx) => {
    const reply = await ctx.send(
      {
        ...ctx.envelopeTimes(),
        type: 'session.close',
        siteId,
        sessionId,
        reason: 'intervention-ended',
        ...(note ? { note } : {}),
      },
      cmdTopic(siteId),
      evtTopic(siteId),
    );
    if (reply.type === 'command.reject') refused(reply, ctx.config.lang);
    return `transmission fermée : ${sessionId} (site ${siteId})`;
  });
}

export async function extendSession(
  configFile: string,
  sessionId: string,
  newTtlSec: number,
  site: string | undefined,
): Promise<string> {
  const siteId = site ?? (await siteOfSession(configFile, sessionId));
  return withOpContext(configFile, async (ctx) => {
    const reply = await ctx.send(
      { ...ctx.envelopeTimes(), type: 'session.extend', siteId, sessionId, newTtlSec },
      cmdTopic(siteId),
      evtTopic(siteId),
    );
    if (reply.type === 'command.reject') refused(reply, ctx.config.lang);
    const granted = reply.grantedTtlSec ?? newTtlSec;
    return `transmission prolongée : ${sessionId}, durée totale ${formatDuration(granted)}`;
  });
}

export async function closeAll(
  configFile: string,
  siteId: string | null,
  note: string | undefined,
): Promise<string> {
  return withOpContext(configFile, async (ctx) => {
    const scope = siteId ? { siteId } : { all: true as const };
    const reply = await ctx.send(
      { ...ctx.envelopeTimes(), type: 'sessions.close-all', scope, ...(note ? { note } : {}) },
      siteId ? cmdTopic(siteId) : BROADCAST_CMD_TOPIC,
      siteId ? evtTopic(siteId) : ALL_EVT_TOPIC,
    );
    if (reply.type === 'command.reject') refused(reply, ctx.config.lang);
    return siteId
      ? `toutes les transmissions du site ${siteId} sont fermées`
      : `ordre de fermeture envoyé à tous les boîtiers (premier accusé : site ${reply.siteId}) ; vérifier avec \`vigie op sessions\``;
  });
}

export async function listSessions(configFile: string, json: boolean): Promise<string> {
  const states = await readRetainedStates(configFile);
  const now = Date.now();
  const rows = states.flatMap((state) =>
    state.status === 'online'
      ? state.sessions.map((s) => ({
          ...s,
          siteId: state.siteId,
          boxId: state.boxId,
          leftSec: Math.max(0, Math.round((Date.parse(s.expiresAt) - now) / 1000)),
        }))
      : [],
  );
  if (json) return JSON.stringify({ sessions: rows, boxes: states }, null, 2);
  const offline = states.filter((s) => s.status === 'offline').map((s) => `${s.siteId}/${s.boxId}`);
  const lines = rows.map(
    (r) =>
      `${r.sessionId}  ${r.siteId}  ${r.cameras.join(',')}  -> ${r.recipient}  par ${r.operator}  reste ${formatDuration(r.leftSec)} (fin ${formatParis(new Date(r.expiresAt))})`,
  );
  if (lines.length === 0) lines.push('aucune transmission en cours');
  if (offline.length > 0) lines.push(`boîtiers hors ligne : ${offline.join(', ')}`);
  return lines.join('\n');
}
