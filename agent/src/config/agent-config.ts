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
import { HostPortSchema, IdSchema } from '../../../protocol/src/ids.js';
import { parseYamlText } from '../../../lib/src/yaml.js';
import { parseCidr, parseIpv4 } from '../cameras/ipv4-cidr.js';
import { expandProbeTargets } from '../cameras/probe-targets.js';

const FileSchema = z.string().min(1).describe('path, relative to the configuration file');

/** Full-jitter reconnection delays (link/backoff.ts), for the broker and the register. */
function reconnectSchemas(maxOfMaxMs: number) {
  return {
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
      .max(maxOfMaxMs)
      .default(60_000)
      .describe('largest reconnection delay cap'),
  };
}

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
    ...reconnectSchemas(600_000),
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
  cameras: z
    .strictObject({
      lanAddress: z
        .string()
        .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address')
        .describe(
          "the box's own IPv4 address on the camera LAN: probes leave from it, multicast only through it",
        ),
      lanCidrs: z
        .array(z.string())
        .min(1)
        .max(16)
        .describe(
          'the camera LAN ranges; a camera answering from or pointing elsewhere is refused',
        ),
      multicast: z
        .boolean()
        .default(true)
        .describe(
          'probe the WS-Discovery group 239.255.255.250:3702 on the camera LAN, hear Hello/Bye',
        ),
      probe: z
        .array(z.string())
        .max(256)
        .default([])
        .describe(
          'directed unicast probes: host, host:port, range a.b.c.d/n or a.b.c.d/n:port (1024 addresses at most)',
        ),
      credentialsFile: FileSchema.describe(
        'per-camera ONVIF credentials, JSON, mode 0600 (docs/cameras.md)',
      ),
      probeIntervalSec: z
        .number()
        .int()
        .min(5)
        .max(3600)
        .default(60)
        .describe('how often the inventory is refreshed'),
      answerWaitMs: z
        .number()
        .int()
        .min(100)
        .max(10_000)
        .default(1500)
        .describe('how long answers to a probe are awaited'),
      forgetAfterSec: z
        .number()
        .int()
        .min(10)
        .max(86_400)
        .default(180)
        .describe('a camera silent this long is missing'),
      describeTimeoutMs: z
        .number()
        .int()
        .min(500)
        .max(60_000)
        .default(5000)
        .describe('per camera: a camera that hangs does not stall the others'),
      describeConcurrency: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(8)
        .describe('cameras described at once'),
      redescribeEverySec: z
        .number()
        .int()
        .min(60)
        .max(86_400)
        .default(900)
        .describe('a described camera is asked again after this long (profiles change)'),
    })
    .optional()
    .describe('ONVIF discovery and the camera inventory; without it the inventory stays empty'),
  media: z
    .strictObject({
      ffmpegPath: z
        .string()
        .min(1)
        .default('/usr/bin/ffmpeg')
        .describe(
          "Debian's ffmpeg: reads a camera's RTSP and remuxes it (-c copy, no transcoding)",
        ),
      warmCache: z
        .boolean()
        .default(false)
        .describe(
          'instant open: keep, in memory only, the latest group of pictures of each annexed camera',
        ),
      tunnelGraceSec: z
        .number()
        .int()
        .min(1)
        .max(120)
        .default(10)
        .describe('a tunnel lost and not redialled within this closes the session (tunnel-lost)'),
    })
    .default({ ffmpegPath: '/usr/bin/ffmpeg', warmCache: false, tunnelGraceSec: 10 })
    .describe('live view: the camera remux and the tunnel to the relay'),
  register: z
    .strictObject({
      address: HostPortSchema.describe("the central register's gRPC ingest, host:port"),
      serverName: z
        .string()
        .min(1)
        .max(253)
        .describe(
          'name expected in the register certificate (DNS or IP SAN); its service name must be register',
        ),
      publicKeyFile: FileSchema.describe(
        'the register public key (SPKI PEM, `vigie register keygen`): it checks every checkpoint',
      ),
      kid: IdSchema.describe('key id of the register key, as in its checkpoints'),
      batchEntries: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(500)
        .describe('entries sent before a signed head closes the batch and an Ack is awaited'),
      ...reconnectSchemas(3_600_000),
      responseTimeoutMs: z
        .number()
        .int()
        .min(1_000)
        .max(600_000)
        .default(30_000)
        .describe(
          'a register that answers neither Resume nor Ack within this is dropped and redialled',
        ),
      backlogHighWater: z
        .number()
        .int()
        .min(1)
        .max(100_000_000)
        .default(100_000)
        .describe('unacknowledged entries past this raise register-backlog-high'),
      minFreeDiskPercent: z
        .number()
        .min(0)
        .max(50)
        .default(5)
        .describe(
          'data partition free space under this (with a backlog) raises register-backlog-high',
        ),
    })
    .optional()
    .describe(
      'the central register the journal is forwarded to (docs/register.md); without it, nothing is sent',
    ),
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
export type CamerasConfig = NonNullable<AgentConfig['cameras']>;
export type RegisterLinkConfig = NonNullable<AgentConfig['register']>;

/** Cross-field rules, with the actual values in the message. */
function checkCrossFields(config: AgentConfig, file: string): void {
  const cameraProblems = config.cameras ? cameraConfigProblems(config.cameras) : [];
  if (cameraProblems.length > 0) {
    throw new VigieError('config-invalid', `${file} is invalid:\n  ${cameraProblems.join('\n  ')}`);
  }
  const { reconnectMinMs, reconnectMaxMs } = config.broker;
  if (reconnectMinMs > reconnectMaxMs) {
    throw new VigieError(
      'config-invalid',
      `${file} is invalid:\n  broker.reconnectMinMs: ${reconnectMinMs} ms is more than broker.reconnectMaxMs ${reconnectMaxMs} ms`,
    );
  }
  const register = config.register;
  if (register && register.reconnectMinMs > register.reconnectMaxMs) {
    throw new VigieError(
      'config-invalid',
      `${file} is invalid:\n  register.reconnectMinMs: ${register.reconnectMinMs} ms is more than register.reconnectMaxMs ${register.reconnectMaxMs} ms`,
    );
  }
}

function cameraConfigProblems(c: NonNullable<AgentConfig['cameras']>): string[] {
  const problems: string[] = [];
  if (parseIpv4(c.lanAddress) === undefined)
    problems.push(`cameras.lanAddress: ${c.lanAddress} is not an IPv4 address`);
  c.lanCidrs.forEach((cidr, i) => {
    if (!parseCidr(cidr))
      problems.push(`cameras.lanCidrs.${i}: ${cidr} is not an IPv4 range like 192.168.50.0/24`);
  });
  const { problems: targets } = expandProbeTargets(c.probe);
  for (const p of targets) problems.push(`cameras.probe: ${p}`);
  return problems;
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
    cameras: config.cameras && {
      ...config.cameras,
      credentialsFile: at(config.cameras.credentialsFile),
    },
    register: config.register && {
      ...config.register,
      publicKeyFile: at(config.register.publicKeyFile),
    },
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
