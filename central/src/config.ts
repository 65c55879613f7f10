/**
 * `vigie central --config central.yaml`: one zod schema is the source of the
 * configuration's types, defaults and documentation (docs/central.md's table
 * is generated from it by lib/src/config-reference.ts, and a test checks they agree).
 * Every problem is printed as `path: message` and the service refuses to
 * start. Relative file paths are relative to the configuration file. The
 * configuration file is only ever read.
 */
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../../lib/src/files.js';
import { parseOrThrow } from '../../lib/src/schema.js';
import { ID_PATTERN } from '../../protocol/src/ids.js';
import { parseYamlText } from '../../lib/src/yaml.js';
import {
  RegisterSectionSchema,
  resolveRegisterSection,
  type RegisterConfig,
} from './register/register-config.js';

const FileSchema = (what: string) => z.string().min(1, 'must be a file path').describe(what);

export const ListenSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('address of the MQTT mTLS listener; loopback unless boxes must reach it'),
    port: z.number().int().min(1).max(65535).default(8883).describe('MQTT over TLS (IANA 8883)'),
  })
  .prefault({})
  .describe('where the embedded broker listens');

export const TlsFilesSchema = z
  .strictObject({
    caFile: FileSchema('ca-bundle.pem: the root and the intermediates of our PKI'),
    certFile: FileSchema(
      'chain.pem of the broker service certificate (`vigie pki issue service --name broker`)',
    ),
    keyFile: FileSchema('key.pem of the broker service certificate (mode 0600)'),
    crlFile: FileSchema('crl-bundle.pem: the four CRLs; restart after `vigie pki crl`'),
  })
  .describe('the shared TLS profile (docs/pki.md)');

export const PolicyFilesSchema = z
  .strictObject({
    bundleFile: FileSchema('the signed policy bundle (`vigie policy sign`); re-read on SIGHUP'),
    adminPublicKeyFile: FileSchema(
      'the administrator Ed25519 public key (SPKI PEM) that must have signed it',
    ),
    adminKid: z
      .string()
      .regex(ID_PATTERN, 'must be a key id: a-z, 0-9 and "-", 1 to 63 characters')
      .describe('key id of the administrator key, as in the bundle envelope'),
  })
  .describe('the policy bundle published retained on vigie/v1/policy');

export const CentralConfigSchema = z.strictObject({
  listen: ListenSchema,
  tls: TlsFilesSchema,
  policy: PolicyFilesSchema,
  dataDir: z
    .string()
    .min(1)
    .default('/var/lib/vigie/central')
    .describe('directory for the central state (the register, later)'),
  logLevel: z
    .enum(['debug', 'info', 'warn', 'error'])
    .default('info')
    .describe('lowest level written to stderr'),
  register: RegisterSectionSchema.optional().describe(
    'serve the central register too (docs/register.md); without it, no register',
  ),
});

/** The register section comes out resolved (paths, database file under dataDir). */
export type CentralConfig = Omit<z.output<typeof CentralConfigSchema>, 'register'> & {
  register?: RegisterConfig;
};

/** Validates an already-read configuration and resolves its paths against `baseDir`. */
export function parseCentralConfig(raw: unknown, file: string): CentralConfig {
  const config = parseOrThrow(CentralConfigSchema, raw ?? {}, file);
  const baseDir = path.dirname(path.resolve(file));
  const at = (p: string): string => path.resolve(baseDir, p);
  return {
    ...config,
    tls: {
      caFile: at(config.tls.caFile),
      certFile: at(config.tls.certFile),
      keyFile: at(config.tls.keyFile),
      crlFile: at(config.tls.crlFile),
    },
    policy: {
      ...config.policy,
      bundleFile: at(config.policy.bundleFile),
      adminPublicKeyFile: at(config.policy.adminPublicKeyFile),
    },
    dataDir: at(config.dataDir),
    register:
      config.register &&
      resolveRegisterSection(config.register, {
        file,
        prefix: 'register.',
        dataDir: at(config.dataDir),
        logLevel: config.logLevel,
      }),
  };
}

export async function loadCentralConfig(file: string): Promise<CentralConfig> {
  const text = await readTextFile(file, 'central configuration');
  return parseCentralConfig(parseYamlText(text, file, 'config-invalid'), file);
}
