/**
 * The console's conversation with a box through the broker: sign a command,
 * publish it (QoS 1, never retained), and wait for the box's acknowledgement or
 * refusal of that very command on the site's `evt` topic, within a bounded time.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  clientTlsOptions,
  disableNagle,
  type TlsMaterial,
} from '../../../certs/src/tls-profile.js';
import { VigieError } from '../../../lib/src/errors.js';
import { CommandSchema, type Command } from '../../../protocol/src/commands.js';
import { signEnvelope, type Signer } from '../../../protocol/src/envelope.js';
import { AgentEventSchema, type AgentEvent } from '../../../protocol/src/events.js';
import { formatIssues } from '../../../lib/src/schema.js';

export type CommandReply = Extract<AgentEvent, { type: 'command.ack' | 'command.reject' }>;

export interface OpClientOptions {
  url: string;
  servername: string;
  tls: TlsMaterial;
  clientId: string;
  replyTimeoutMs: number;
}

export class OpClient {
  #client: MqttClient | undefined;
  constructor(readonly options: OpClientOptions) {}

  async connect(): Promise<MqttClient> {
    if (this.#client) return this.#client;
    const o = this.options;
    try {
      this.#client = await mqtt.connectAsync(o.url, {
        ...clientTlsOptions(o.tls, { servername: o.servername }),
        protocolVersion: 4, // MQTT 3.1.1, served by aedes and Mosquitto alike
        clientId: o.clientId,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: o.replyTimeoutMs,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new VigieError('broker-unreachable', `cannot reach the broker ${o.url}: ${reason}`, {
        cause: err,
      });
    }
    disableNagle(this.#client.stream);
    return this.#client;
  }

  /** Signs `command`, publishes it on `topic` and waits for the reply on `replyTopic`. */
  async send(
    command: Command,
    signer: Signer,
    topic: string,
    replyTopic: string,
  ): Promise<CommandReply> {
    const checked = CommandSchema.safeParse(command);
    if (!checked.success) {
      const lines = formatIssues(checked.error.issues).join('\n  ');
      throw new VigieError('config-invalid', `the command is invalid:\n  ${lines}`);
    }
    const client = await this.connect();
    const reply = this.#awaitReply(client, command.id);
    await client.subscribeAsync(replyTopic, { qos: 1 });
    const payload = Buffer.from(JSON.stringify(command), 'utf8');
    await client.publishAsync(topic, signEnvelope(payload, signer), { qos: 1, retain: false });
    return reply.promise.finally(reply.cancel);
  }

  #awaitReply(
    client: MqttClient,
    commandId: string,
  ): { promise: Promise<CommandReply>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<CommandReply>((resolve, reject) => {
      const onMessage = (_topic: string, payload: Buffer): void => {
        const event = parseEvent(payload);
        if (!event || !('commandId' in event) || event.commandId !== commandId) return;
        if (event.type !== 'command.ack' && event.type !== 'command.reject') return;
        cancel();
        resolve(event);
      };
      const timer = setTimeout(() => {
        cancel();
        reject(
          new VigieError(
            'no-reply',
            `no answer from the box within ${this.options.replyTimeoutMs / 1000} s (is it online? see \`vigie op sessions\`)`,
          ),
        );
      }, this.options.replyTimeoutMs);
      // Mosquitto forces the client id to the certificate CN (docs/central.md): a
      // second console of the same person takes this connection over. Say so at
      // once rather than time out as if the box were silent: it may have acted.
      const onClose = (): void => {
        cancel();
        reject(
          new VigieError(
            'broker-unreachable',
            `the broker closed the connection before the box answered (another console with the same certificate?); the command may have been applied: check with \`vigie op sessions\``,
          ),
        );
      };
      cancel = () => {
        clearTimeout(timer);
        client.removeListener('message', onMessage);
        client.removeListener('close', onClose);
      };
      client.on('message', onMessage);
      client.on('close', onClose);
    });
    return { promise, cancel };
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.endAsync();
  }
}

function parseEvent(payload: Buffer): AgentEvent | null {
  try {
    const parsed = AgentEventSchema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // not JSON: not an event of ours, ignored like any other stranger
  }
}

export function newClientId(kid: string): string {
  return `op:${kid}:${randomUUID().slice(0, 8)}`;
}
