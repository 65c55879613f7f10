/**
 * The `web` section of the register's configuration: the read-only page for
 * the people who answer for the register (EMH, the DPO, the prefecture's
 * auditors). Named users with scrypt hashes (`vigie csu hash-password` prints
 * them), HTTPS only. One schema gives the types, the defaults and the docs
 * (docs/register-reading.md).
 */
import path from 'node:path';
import { z } from 'zod';
import { VigieError } from '../../../../lib/src/errors.js';
import { parseOrThrow } from '../../../../lib/src/schema.js';
import { parseScryptHash } from '../../../../lib/src/web/password-hash.js';

const LOGIN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const RegisterWebUserSchema = z.strictObject({
  login: z.string().regex(LOGIN, 'lowercase letters, digits, ".", "_" or "-" (login name)'),
  name: z.string().min(1).max(120).describe('full name, written in the access log with the login'),
  scryptHash: z.string().refine((value) => parseScryptHash(value) !== null, {
    message:
      'must be `scrypt$N$r$p$saltb64$hashb64` as printed by `vigie csu hash-password` (N a power of two up to 2^20)',
  }),
  validUntil: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('last instant the user may log in (an auditor’s mission)'),
});
export type RegisterWebUser = z.output<typeof RegisterWebUserSchema>;

export const RegisterWebSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8444), // 0: any free port (tests)
      })
      .prefault({}),
    tls: z.strictObject({
      certFile: z.string().min(1).describe('server certificate chain (PEM), leaf first'),
      keyFile: z.string().min(1).describe('its private key (PEM)'),
    }),
    sessionTtlSec: z.number().int().min(60).max(86_400).default(28_800), // 8 h
    idleTimeoutSec: z.number().int().min(60).max(86_400).default(1_800), // 30 min
    login: z
      .strictObject({
        maxFailuresPerUser: z.number().int().min(1).max(100).default(5),
        maxFailuresPerIp: z.number().int().min(1).max(1000).default(20),
        windowSec: z.number().int().min(10).max(86_400).default(900), // 15 min
      })
      .prefault({}),
    /** How often the page re-verifies every chain and checkpoint on its own. */
    verifyEveryMs: z
      .number()
      .int()
      .min(60_000)
      .max(7 * 86_400_000)
      .default(3_600_000), // 1 h
    /** Transmissions shown when no period is chosen: the last N days. */
    defaultDays: z.number().int().min(1).max(366).default(30),
    users: z.array(RegisterWebUserSchema).min(1).max(200),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.users.forEach((user, index) => {
      if (seen.has(user.login)) {
        ctx.addIssue({
          code: 'custom',
          path: ['users', index, 'login'],
          message: `login "${user.login}" appears twice`,
        });
      }
      seen.add(user.login);
    });
  });
export type RegisterWebConfig = z.output<typeof RegisterWebSchema>;
export type RegisterWebConfigInput = z.input<typeof RegisterWebSchema>;

/** Parses the `web` section or throws `config-invalid` with every problem as `path: message`. */
export function parseRegisterWebConfig(
  value: unknown,
  what = 'register web configuration',
): RegisterWebConfig {
  return parseOrThrow(RegisterWebSchema, value, what);
}

/** Whether the user may log in at `nowMs`. */
export function isUserValid(user: RegisterWebUser, nowMs: number): boolean {
  return user.validUntil === undefined || nowMs <= Date.parse(user.validUntil);
}

/**
 * The `web` section of register.yaml (or of central.yaml's `register:`), its
 * TLS paths resolved against the configuration file's directory.
 */
export function resolveRegisterWebConfig(section: unknown, configFile: string): RegisterWebConfig {
  if (section === undefined || section === null) {
    throw new VigieError(
      'config-invalid',
      `${configFile} has no web section: add register.web (listen, tls, users) to serve the register's page`,
    );
  }
  const config = parseRegisterWebConfig(section, `${configFile} (web)`);
  const at = (p: string): string => path.resolve(path.dirname(path.resolve(configFile)), p);
  return { ...config, tls: { certFile: at(config.tls.certFile), keyFile: at(config.tls.keyFile) } };
}
