/**
 * `vigie csu --config csu.yaml`: the receiving centre's configuration. One zod
 * schema is the source of its types, defaults and documentation (docs/relay.md
 * carries the table generated from it; a test keeps them in sync). Every
 * problem is printed as `path: message` and the relay refuses to start.
 * Relative paths are relative to the configuration file, which is only read.
 */
import path from 'node:path';
import { z } from 'zod';
import { ViewerConfigSchema } from './viewer/viewer-config.js';
import { readTextFile } from '../../lib/src/files.js';
import { parseOrThrow } from '../../lib/src/schema.js';
import { parseYamlText } from '../../lib/src/yaml.js';
import { IdSchema } from '../../protocol/src/ids.js';

const FileSchema = (what: string) => z.string().min(1, 'must be a file path').describe(what);

export const RelayListenSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('address of the tunnel (TLS 1.3, mTLS) listener; the boxes dial it'),
    port: z.number().int().min(0).max(65535).default(8443).describe('0 picks a free port (tests)'),
  })
  .prefault({})
  .describe(
    'where the boxes reach the relay: the `relay` host:port of this recipient in the policy',
  );

export const RelayTlsSchema = z
  .strictObject({
    caFile: FileSchema('ca-bundle.pem: the root and the intermediates of our PKI'),
    certFile: FileSchema(
      'chain.pem of the relay service certificate (`vigie pki issue service --name relay-<centre>`)',
    ),
    keyFile: FileSchema('key.pem of the relay service certificate (mode 0600)'),
    crlFile: FileSchema('crl-bundle.pem: the CRLs of every CA; restart after `vigie pki crl`'),
    boxesCaFile: FileSchema(
      'the boxes CA certificate: only client certificates it issued may open a tunnel',
    ),
  })
  .describe('the shared TLS profile (docs/pki.md): TLS 1.3, mutual, CRLs');

export const RelayPolicySchema = z
  .strictObject({
    bundleFile: FileSchema('the signed policy bundle; re-read on SIGHUP'),
    adminKid: IdSchema.describe('key id of the EMH administrator key, as in the bundle envelope'),
    adminPublicKeyFile: FileSchema(
      'the administrator Ed25519 public key (SPKI PEM) that must have signed the bundle',
    ),
  })
  .describe('the policy the relay checks every ticket against');

export const RelayLimitsSchema = z
  .strictObject({
    gopMaxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('per camera: the group of pictures kept for late joiners; beyond it, only live'),
    subscriberMaxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe('per viewer and camera: bytes queued before it drops to the next keyframe'),
    redialGraceMs: z
      .number()
      .int()
      .min(0)
      .max(120_000)
      .default(15_000)
      .describe('a tunnel that drops without Bye may be redialled this long (never past expiry)'),
    maxSessions: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(64)
      .describe('simultaneous live sessions; more are refused (session-limit)'),
    closedIdsKept: z
      .number()
      .int()
      .min(100)
      .max(1_000_000)
      .default(100_000)
      .describe(
        'closed session ids remembered (at least until their ticket expires) against replay',
      ),
  })
  .prefault({})
  .describe('memory bounds and grace periods');

export const CsuConfigSchema = z.strictObject({
  recipientId: IdSchema.describe(
    'this receiving centre, as in the policy recipients (e.g. csu-metz)',
  ),
  listen: RelayListenSchema,
  tls: RelayTlsSchema,
  policy: RelayPolicySchema,
  limits: RelayLimitsSchema,
  viewer: ViewerConfigSchema.optional().describe(
    "the centre's HTTPS viewer for named, approved viewers (docs/viewer.md); without it, relay only",
  ),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error'])
        .default('info')
        .describe('JSON lines on stderr; secrets are redacted'),
    })
    .prefault({}),
});
export type CsuConfig = z.output<typeof CsuConfigSchema>;

function resolvePaths(config: CsuConfig, dir: string): CsuConfig {
  const at = (p: string): string => path.resolve(dir, p);
  const { tls, policy } = config;
  return {
    ...config,
    tls: {
      caFile: at(tls.caFile),
      certFile: at(tls.certFile),
      keyFile: at(tls.keyFile),
      crlFile: at(tls.crlFile),
      boxesCaFile: at(tls.boxesCaFile),
    },
    policy: {
      ...policy,
      bundleFile: at(policy.bundleFile),
      adminPublicKeyFile: at(policy.adminPublicKeyFile),
    },
    viewer: config.viewer && {
      ...config.viewer,
      tls: { certFile: at(config.viewer.tls.certFile), keyFile: at(config.viewer.tls.keyFile) },
    },
  };
}

/** Parses an already-read value (YAML or an object built by a test); paths resolve from `dir`. */
export function parseCsuConfig(raw: unknown, what: string, dir = process.cwd()): CsuConfig {
  return resolvePaths(parseOrThrow(CsuConfigSchema, raw ?? {}, what), dir);
}

export async function loadCsuConfig(file: string): Promise<CsuConfig> {
  const text = await readTextFile(file, 'csu configuration');
  const raw = parseYamlText(text, file, 'config-invalid');
  return parseCsuConfig(raw, file, path.dirname(path.resolve(file)));
}
