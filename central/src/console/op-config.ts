/**
 * The operator console's configuration (`vigie op --config op.yaml`, or
 * VIGIE_OP_CONFIG): who signs (the operator's Ed25519 key and its kid in the
 * policy) and how to reach the broker (the operator's person certificate).
 */
import path from 'node:path';
import { z } from 'zod';
import { readTextFile } from '../../../lib/src/files.js';
import { parseOrThrow } from '../../../lib/src/schema.js';
import { IdSchema } from '../../../protocol/src/ids.js';
import { parseYamlText } from '../../../lib/src/yaml.js';

const FileSchema = z.string().min(1);

export const OpConfigSchema = z.strictObject({
  operator: z.strictObject({
    kid: IdSchema.describe('the operator key id, as listed in the policy'),
    keyFile: FileSchema.describe('the operator Ed25519 private key (mode 0600)'),
  }),
  broker: z.strictObject({
    url: z
      .string()
      .regex(/^mqtts:\/\/[^/\s:]+:\d{1,5}$/, 'must be mqtts://host:port')
      .describe('the central MQTT broker'),
    servername: z.string().min(1).max(253).describe('name in the broker certificate'),
  }),
  tls: z.strictObject({
    caFile: FileSchema.describe('ca-bundle.pem'),
    certFile: FileSchema.describe("the operator's person certificate chain"),
    keyFile: FileSchema.describe('its private key (mode 0600)'),
    crlFile: FileSchema.describe('crl-bundle.pem'),
  }),
  lang: z.enum(['fr', 'en']).default('fr').describe('language of refusal messages'),
  replyTimeoutSec: z
    .number()
    .int()
    .min(1)
    .max(120)
    .default(15)
    .describe("how long to wait for the box's acknowledgement"),
  commandLifetimeSec: z
    .number()
    .int()
    .min(10)
    .max(300)
    .default(60)
    .describe('expiresAt - issuedAt of each command: a late delivery is refused as stale'),
});
export type OpConfig = z.output<typeof OpConfigSchema>;

export async function loadOpConfig(file: string): Promise<OpConfig> {
  const text = await readTextFile(file, 'operator console configuration');
  const raw = parseYamlText(text, file, 'config-invalid');
  const config = parseOrThrow(OpConfigSchema, raw ?? {}, file);
  const at = (p: string): string => path.resolve(path.dirname(path.resolve(file)), p);
  return {
    ...config,
    operator: { ...config.operator, keyFile: at(config.operator.keyFile) },
    tls: {
      caFile: at(config.tls.caFile),
      certFile: at(config.tls.certFile),
      keyFile: at(config.tls.keyFile),
      crlFile: at(config.tls.crlFile),
    },
  };
}
