/**
 * The `viewer` section of the relay's config: where the centre's web viewer
 * listens, its TLS files, how long a login lasts, the login limits, and the
 * named viewers approved by the prefecture. One schema gives the types, the
 * defaults and the documentation (docs/viewer.md).
 */
import { z } from 'zod';
import { parseOrThrow } from '../../../lib/src/schema.js';
import { parseScryptHash } from '../../../lib/src/web/password-hash.js';

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const ApprovedViewerSchema = z
  .object({
    id: z.string().regex(ID, 'lowercase letters, digits, ".", "_" or "-" (login name)'),
    name: z.string().min(1).max(120).describe('full name, shown in the watermark'),
    approvalRef: z.string().min(1).max(120).describe("the prefecture's approval reference"),
    validFrom: z.iso.datetime({ offset: true }).describe('first instant the viewer may log in'),
    validUntil: z.iso.datetime({ offset: true }).describe('last instant the viewer may log in'),
    passwordHash: z.string().refine((value) => parseScryptHash(value) !== null, {
      message:
        'must be `scrypt$N$r$p$saltb64$hashb64` as printed by `vigie csu hash-password` (N a power of two up to 2^20)',
    }),
  })
  .strict()
  .superRefine((viewer, ctx) => {
    if (Date.parse(viewer.validFrom) >= Date.parse(viewer.validUntil)) {
      ctx.addIssue({
        code: 'custom',
        path: ['validUntil'],
        message: `validUntil ${viewer.validUntil} is not after validFrom ${viewer.validFrom}`,
      });
    }
  });
export type ApprovedViewer = z.output<typeof ApprovedViewerSchema>;

export const ViewerConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8443), // 0: any free port (tests)
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        certFile: z.string().min(1).describe('server certificate chain (PEM), leaf first'),
        keyFile: z.string().min(1).describe('its private key (PEM)'),
      })
      .strict(),
    sessionTtlSec: z.number().int().min(60).max(86_400).default(28_800), // 8 h: one shift
    idleTimeoutSec: z.number().int().min(60).max(86_400).default(1_800), // 30 min
    login: z
      .object({
        maxFailuresPerViewer: z.number().int().min(1).max(100).default(5),
        maxFailuresPerIp: z.number().int().min(1).max(1000).default(20),
        windowSec: z.number().int().min(10).max(86_400).default(900), // 15 min
      })
      .strict()
      .prefault({}),
    maxBufferedBytes: z
      .number()
      .int()
      .min(65_536)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024), // per WebSocket; beyond it, drop to the next keyframe
    viewers: z.array(ApprovedViewerSchema).max(1000),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.viewers.forEach((viewer, index) => {
      if (seen.has(viewer.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['viewers', index, 'id'],
          message: `viewer id "${viewer.id}" appears twice`,
        });
      }
      seen.add(viewer.id);
    });
  });
export type ViewerConfig = z.output<typeof ViewerConfigSchema>;
export type ViewerConfigInput = z.input<typeof ViewerConfigSchema>;

/** Parses the `viewer` section or throws `config-invalid` listing every problem as `path: message`. */
export function parseViewerConfig(value: unknown): ViewerConfig {
  return parseOrThrow(ViewerConfigSchema, value, 'viewer configuration');
}

/** Whether the viewer's approval covers the instant `nowMs` (wall clock). */
export function isWithinValidity(viewer: ApprovedViewer, nowMs: number): boolean {
  return nowMs >= Date.parse(viewer.validFrom) && nowMs <= Date.parse(viewer.validUntil);
}
