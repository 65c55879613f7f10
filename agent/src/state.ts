/**
 * The agent's retained `state`: `online` with health and the live sessions
 * (what `vigie op sessions` lists), and `offline`, registered as the last will.
 */
import type {
  AgentState,
  InventoryItemState,
  LiveSession,
} from '../../protocol/src/agent-state.js';
import type { Clocks } from './ports.js';
import type { Session } from './sessions/session.js';

export interface StateInputs {
  siteId: string;
  boxId: string;
  bootId: string;
  agentVersion: string;
  policyVersion: number | null;
  clockSynced: boolean;
  journalWritable: boolean;
  sessions: readonly Session[];
  startedMonoMs: number;
  inventory: InventoryItemState[];
}

export function liveSession(session: Session, clocks: Clocks): LiveSession {
  const now = clocks.wallNowMs();
  return {
    sessionId: session.id,
    recipient: session.spec.recipient,
    cameras: [...session.spec.cameras],
    operator: session.spec.kid,
    openedAt: new Date(now - session.elapsedSec * 1000).toISOString(),
    expiresAt: new Date(now + session.remainingMs).toISOString(),
  };
}

export function onlineState(s: StateInputs, clocks: Clocks): AgentState {
  const live = s.sessions.filter((x) => x.state !== 'closed');
  return {
    status: 'online',
    siteId: s.siteId,
    boxId: s.boxId,
    time: new Date(clocks.wallNowMs()).toISOString(),
    bootId: s.bootId,
    agentVersion: s.agentVersion,
    policyVersion: s.policyVersion,
    health: {
      uptimeSec: Math.floor((clocks.monoNowMs() - s.startedMonoMs) / 1000),
      clockSynced: s.clockSynced,
      journalWritable: s.journalWritable,
      openSessions: live.length,
    },
    inventory: s.inventory,
    sessions: live.slice(0, 16).map((x) => liveSession(x, clocks)),
  };
}

export function offlineState(siteId: string, boxId: string, clocks: Clocks): AgentState {
  return { status: 'offline', siteId, boxId, time: new Date(clocks.wallNowMs()).toISOString() };
}
