/**
 * The agent's configuration: one schema is the source of its types, defaults
 * and documentation (docs/agent-config.md is checked against it by a test).
 * Every problem is reported as `path: message` and the agent refuses to start.
 * The agent never writes to this file.
 */
import path from 'node:path';
import { z } from 'zod';
import { VigieError } from '../../../lib/src/errors.js';
import { readTextFile } from '../../../lib/src/files.js';
import { parseOrThrow } from '../../../lib/src/schema.js';
import { IdSchema } from '../../../protocol/src/ids.js';
import { parseYamlText } from '../../../lib/src/yaml.js';

const FileSchema = z.string().min(1).describe('path, relative to the configuration file');

export const AgentConfigSchema = z.strictObject({
  siteId: IdSchema.describe('the site (building) this box serves, as in the policy'),
  boxId: IdSchema.describe('this box, as in its certificate urn:vigie:box:<site>:<box>'),
  dataDir: FileSchema.describe('journal, replay ids and state; on the persistent partition'),
  broker: z.strictObject({
    url: z
      .string()
      .regex(/^mqtts:\/\/[^/\s:]+:\d{1,5}$/, 'must be mqtts://host:port (TLS only)')
      .describe('the central MQTT broker'),
    servername: z
      .string()
      .min(1)
      .max(253)
      .describe('name expected in the broker certificate (DNS or IP SAN)'),
    keepaliveSec: z
      .number()
      .int()
      .min(5)
      .max(600)
      .default(30)
      .describe('MQTT keepalive; the broker publishes the offline last will after 1.5x this'),
    reconnectMinMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(1_000)
      .describe('first reconnection delay cap (full jitter)'),
    reconnectMaxMs: z
      .number()
      .int()
      .min(1_000)
      .max(600_000)
      .default(60_000)
      .describe('largest reconnection delay cap'),
  }),
  tls: z.strictObject({
    caFile: FileSchema.describe('ca-bundle.pem: root and intermediates'),
    certFile: FileSchema.describe('chain.pem of this box'),
    keyFile: FileSchema.describe('key.pem of this box (mode 0600)'),
    crlFile: FileSchema.describe('crl-bundle.pem, refreshed by provisioning'),
  }),
  admin: z.strictObject({
    kid: IdSchema.describe('key id of the EMH administrator key, pinned at enrolment'),
    publicKeyFile: FileSchema.describe('the administrator public key (SPKI PEM)'),
  }),
  policyFile: FileSchema.optional().describe(
    'signed policy bundle to start with before the broker delivers one (default: <dataDir>/policy.json)',
  ),
  maxSessions: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(4)
    .describe('simultaneous transmissions on this box; more are refused (session-limit)'),
  clockSync: z
    .enum(['timesyncd', 'assume'])
    .default('timesyncd')
    .describe(
      'how the box knows its clock is synchronised: systemd-timesyncd, or assume (labs and demo only)',
    ),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error'])
        .default('info')
        .describe('JSON lines on stderr; secrets are redacted'),
    })
    .default({ level: 'info' }),
});
export type AgentConfig = z.output<typeof AgentConfigSchema>;

/** Cross-field rules, with the actual values in the message. */
function checkCrossFields(config: AgentConfig, file: string): void {
  const { reconnectMinMs, reconnectMaxMs } = config.broker;
  if (reconnectMinMs > reconnectMaxMs) {
    throw new VigieError(
      'config-invalid',
      `${file} is invalid:\n  broker.reconnectMinMs: ${reconnectMinMs} ms is more than broker.reconnectMaxMs ${reconnectMaxMs} ms`,
    );
  }
}

/** Resolves every path relative to the configuration file's folder. */
function resolvePaths(config: AgentConfig, dir: string): AgentConfig {
  const at = (p: string): string => path.resolve(dir, p);
  return {
    ...config,
    dataDir: at(config.dataDir),
    tls: {
      caFile: at(config.tls.caFile),
      certFile: at(config.tls.certFile),
      keyFile: at(config.tls.keyFile),
      crlFile: at(config.tls.crlFile),
    },
    admin: { ...config.admin, publicKeyFile: at(config.admin.publicKeyFile) },
    policyFile: config.policyFile === undefined ? undefined : at(config.policyFile),
  };
}

export function parseAgentConfig(text: string, file: string): AgentConfig {
  const raw = parseYamlText(text, file, 'config-invalid');
  const config = parseOrThrow(AgentConfigSchema, raw ?? {}, file);
  checkCrossFields(config, file);
  return resolvePaths(config, path.dirname(path.resolve(file)));
}

export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return parseAgentConfig(await readTextFile(file, 'agent configuration'), file);
}
