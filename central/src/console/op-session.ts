/**
 * One console invocation: load the configuration, the operator's key and TLS
 * material, talk to the broker, and always disconnect, whatever happens.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { clientTlsOptions, loadTlsMaterial } from '../../../certs/src/tls-profile.js';
import { readTextFile } from '../../../lib/src/files.js';
import type { Command } from '../../../protocol/src/commands.js';
import { parsePrivateKeyPem } from '../../../protocol/src/ed25519.js';
import type { Signer } from '../../../protocol/src/envelope.js';
import { AgentStateSchema, type AgentState } from '../../../protocol/src/agent-state.js';
import { ALL_STATE_TOPIC } from '../../../protocol/src/topics.js';
import { loadOpConfig, type OpConfig } from './op-config.js';
import { newClientId, OpClient, type CommandReply } from './op-client.js';

export interface OpContext {
  config: OpConfig;
  signer: Signer;
  client: OpClient;
  /** Common command fields: a fresh id, issuedAt now, a short expiry. */
  envelopeTimes(): { id: string; issuedAt: string; expiresAt: string };
  send(command: Command, topic: string, replyTopic: string): Promise<CommandReply>;
}

export async function withOpContext<T>(
  configFile: string,
  fn: (ctx: OpContext) => Promise<T>,
): Promise<T> {
  const config = await loadOpConfig(configFile);
  const keyPem = await readTextFile(config.operator.keyFile, 'operator key');
  const signer: Signer = {
    kid: config.operator.kid,
    privateKey: parsePrivateKeyPem(keyPem, 'operator key'),
  };
  const tls = await loadTlsMaterial(config.tls);
  const client = new OpClient({
    url: config.broker.url,
    servername: config.broker.servername,
    tls,
    clientId: newClientId(config.operator.kid),
    replyTimeoutMs: config.replyTimeoutSec * 1000,
  });
  const ctx: OpContext = {
    config,
    signer,
    client,
    envelopeTimes: () => {
      const now = Date.now();
      return {
        id: randomUUID(),
        issuedAt: new Date(now).toISOString(),
        expiresAt: new Date(now + config.commandLifetimeSec * 1000).toISOString(),
      };
    },
    send: (command, topic, replyTopic) => client.send(command, signer, topic, replyTopic),
  };
  try {
    return await fn(ctx);
  } finally {
    await client.close();
  }
}

/**
 * Reads every box's retained state. Retained messages arrive right after the
 * subscription is granted; we stop after `quietMs` without a new one, and in
 * any case after `maxMs`.
 */
export async function readRetainedStates(
  configFile: string,
  quietMs = 300,
  maxMs = 5000,
): Promise<AgentState[]> {
  const config = await loadOpConfig(configFile);
  const tls = await loadTlsMaterial(config.tls);
  const client = await mqtt.connectAsync(config.broker.url, {
    ...clientTlsOptions(tls, { servername: config.broker.servername }),
    protocolVersion: 4,
    clientId: newClientId(config.operator.kid),
    reconnectPeriod: 0,
    connectTimeout: config.replyTimeoutSec * 1000,
  });
  const states = new Map<string, AgentState>();
  try {
    await new Promise<void>((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(quiet);
        clearTimeout(overall);
        resolve();
      };
      const overall = setTimeout(done, maxMs);
      client.on('message', (_topic, payload, packet) => {
        if (!packet.retain) return;
        const parsed = safeState(payload);
        if (parsed) states.set(`${parsed.siteId}/${parsed.boxId}`, parsed);
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      });
      // The quiet period starts once the broker granted the subscription.
      client.subscribe(ALL_STATE_TOPIC, { qos: 1 }, () => {
        quiet ??= setTimeout(done, quietMs);
      });
    });
  } finally {
    await client.endAsync();
  }
  return [...states.values()];
}

function safeState(payload: Buffer): AgentState | null {
  try {
    const parsed = AgentStateSchema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // not JSON: ignored, like any message that is not a state
  }
}
