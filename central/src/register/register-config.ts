/**
 * The register's configuration: one zod schema is the source of its types,
 * defaults and documentation (docs/register.md and docs/central.md carry the
 * tables generated from it). The same section serves two ways:
 *
 * - `register:` in central.yaml: `vigie central` serves the register beside
 *   the broker (its dataDir and logLevel are the central's);
 * - a standalone register.yaml (the section's keys at the top level, plus
 *   dataDir and logLevel): `vigie register serve --config register.yaml`.
 *
 * loadRegisterConfig takes either. Relative paths are relative to the file.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VigieError } from '../../../lib/src/errors.js';
import { readTextFile } from '../../../lib/src/files.js';
import type { Logger } from '../../../lib/src/log.js';
import { parseOrThrow } from '../../../lib/src/schema.js';
import { parseYamlText } from '../../../lib/src/yaml.js';
import { ID_PATTERN } from '../../../protocol/src/ids.js';
import { RegisterWebSchema } from './read/register-web-config.js';
import type { RegisterStore } from './register-port.js';

const FileSchema = (what: string) => z.string().min(1, 'must be a file path').describe(what);

export const RegisterSectionSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z
        .string()
        .min(1)
        .default('127.0.0.1')
        .describe('address of the gRPC mTLS ingest listener; loopback unless boxes must reach it'),
      port: z.number().int().min(0).max(65535).default(7443).describe('gRPC over TLS'),
    })
    .prefault({})
    .describe('where the ingest service listens'),
  tls: z
    .strictObject({
      caFile: FileSchema('ca-bundle.pem: the root and the intermediates of our PKI'),
      certFile: FileSchema(
        'chain.pem of the register service certificate (`vigie pki issue service --name register`)',
      ),
      keyFile: FileSchema('key.pem of the register service certificate (mode 0600)'),
      crlFile: FileSchema('crl-bundle.pem: the four CRLs; restart after `vigie pki crl`'),
    })
    .describe('the shared TLS profile (docs/pki.md)'),
  database: z
    .strictObject({
      backend: z
        .enum(['sqlite', 'postgres'])
        .default('sqlite')
        .describe('SQLite (one file, the default) or PostgreSQL (larger deployments)'),
      file: z
        .string()
        .min(1)
        .optional()
        .describe('the SQLite file (default <dataDir>/register.sqlite)'),
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
        .optional()
        .describe(
          'the PostgreSQL connection URL (backend postgres; no password in it: use PGPASSFILE)',
        ),
    })
    .prefault({})
    .describe('where the register is kept'),
  signing: z
    .strictObject({
      keyFile: FileSchema(
        'Ed25519 private key (PKCS#8 PEM, mode 0600) that signs checkpoints (`vigie register keygen`)',
      ),
      kid: z
        .string()
        .regex(ID_PATTERN, 'must be a key id: a-z, 0-9 and "-", 1 to 63 characters')
        .describe('key id written in every checkpoint; boxes pin it with the public key'),
    })
    .describe('the register key'),
  checkpointEveryMs: z
    .number()
    .int()
    .min(10)
    .max(3_600_000)
    .default(1000)
    .describe(
      'at most one new signed checkpoint per this many ms, shared by every stream; sooner when an Ack needs one that holds its entry',
    ),
  maxBatchEntries: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1000)
    .describe('entries a source may send before a head closes the batch; more is refused'),
  maxBatchBytes: z
    .number()
    .int()
    .min(65_536)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe('bytes of entries before a head; more is refused'),
  maxConcurrentBatches: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(32)
    .describe('sources with a batch in memory at once; the others wait (bounds memory)'),
  web: RegisterWebSchema.optional().describe(
    'the read-only web page (docs/register-reading.md); without it, no page',
  ),
});
export type RegisterSection = z.output<typeof RegisterSectionSchema>;

export const RegisterFileSchema = RegisterSectionSchema.extend({
  dataDir: z
    .string()
    .min(1)
    .default('/var/lib/vigie/register')
    .describe('directory of the register file'),
  logLevel: z
    .enum(['debug', 'info', 'warn', 'error'])
    .default('info')
    .describe('lowest level written to stderr'),
});

/** A register section with every path resolved and the database settled. */
export interface RegisterConfig extends RegisterSection {
  readonly dataDir: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly database: { backend: 'sqlite'; file: string } | { backend: 'postgres'; url: string };
}

/**
 * Resolves the paths of a parsed section against `baseDir` and checks the
 * database's cross-field rules with the values in the message.
 */
export function resolveRegisterSection(
  section: RegisterSection,
  where: { file: string; prefix: string; dataDir: string; logLevel: RegisterConfig['logLevel'] },
): RegisterConfig {
  const at = (p: string): string => path.resolve(path.dirname(path.resolve(where.file)), p);
  const db = section.database;
  let database: RegisterConfig['database'];
  if (db.backend === 'postgres') {
    if (db.url === undefined) {
      throw new VigieError(
        'config-invalid',
        `${where.file} is invalid:\n  ${where.prefix}database.url: required with backend postgres`,
      );
    }
    database = { backend: 'postgres', url: db.url };
  } else {
    if (db.url !== undefined) {
      throw new VigieError(
        'config-invalid',
        `${where.file} is invalid:\n  ${where.prefix}database.url: given with backend sqlite; set backend: postgres or remove it`,
      );
    }
    database = {
      backend: 'sqlite',
      file: at(db.file ?? path.join(where.dataDir, 'register.sqlite')),
    };
  }
  return {
    ...section,
    dataDir: where.dataDir,
    logLevel: where.logLevel,
    database,
    tls: {
      caFile: at(section.tls.caFile),
      certFile: at(section.tls.certFile),
      keyFile: at(section.tls.keyFile),
      crlFile: at(section.tls.crlFile),
    },
    signing: { ...section.signing, keyFile: at(section.signing.keyFile) },
    web: section.web && {
      ...section.web,
      tls: { certFile: at(section.web.tls.certFile), keyFile: at(section.web.tls.keyFile) },
    },
  };
}

/**
 * Reads register.yaml, or central.yaml's `register:` section (then with the
 * central's dataDir and logLevel). Every problem as `path: message`.
 */
export async function loadRegisterConfig(file: string): Promise<RegisterConfig> {
  const text = await readTextFile(file, 'register configuration');
  const raw = parseYamlText(text, file, 'config-invalid') ?? {};
  const at = (p: string): string => path.resolve(path.dirname(path.resolve(file)), p);
  if (typeof raw === 'object' && raw !== null && 'register' in raw) {
    const { parseCentralConfig } = await import('../config.js');
    const central = parseCentralConfig(raw, file);
    if (central.register === undefined) {
      throw new VigieError('config-invalid', `${file} is invalid:\n  register: missing`);
    }
    return central.register;
  }
  const parsed = parseOrThrow(RegisterFileSchema, raw, file);
  const { dataDir, logLevel, ...section } = parsed;
  return resolveRegisterSection(section, { file, prefix: '', dataDir: at(dataDir), logLevel });
}

/**
 * The register's signing key: Ed25519, PKCS#8 PEM, readable by its owner only
 * (a key others can read is refused, as camera credentials are).
 */
export async function readRegisterKey(file: string): Promise<KeyObject> {
  const stat = await fs.stat(file).catch((err: unknown) => {
    throw new VigieError('file-unreadable', `cannot read the register key ${file}: ${String(err)}`);
  });
  if ((stat.mode & 0o077) !== 0) {
    throw new VigieError(
      'credentials-exposed',
      `the register key ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 ${file}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(await readTextFile(file, 'register key'));
  } catch (err) {
    if (err instanceof VigieError) throw err;
    throw new VigieError('config-invalid', `${file} is not a PEM private key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new VigieError(
      'register-key-unsupported',
      `${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; checkpoints are signed with Ed25519 (vigie register keygen)`,
    );
  }
  return key;
}

export interface RegisterClocks {
  wallNowMs(): number;
}

/** The store the configuration names, opened. */
export async function openRegisterStore(
  config: RegisterConfig,
  clocks: RegisterClocks,
  log: Logger,
): Promise<RegisterStore> {
  const registerKey = await readRegisterKey(config.signing.keyFile);
  if (config.database.backend === 'sqlite') {
    await fs.mkdir(path.dirname(config.database.file), { recursive: true, mode: 0o700 });
  }
  // Imported when opened: the PostgreSQL client stays out of a config check.
  const { createRegisterStore } = await import('./register-factory.js');
  const store = createRegisterStore(config.database, {
    registerKey,
    kid: config.signing.kid,
    clocks,
    logger: log.child('store'),
  });
  await store.open();
  return store;
}
