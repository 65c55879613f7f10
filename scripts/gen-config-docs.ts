/**
 * Prints the configuration reference table of a deployable, generated from its
 * schema, to paste into its doc page: `npx tsx scripts/gen-config-docs.ts agent|op|central`.
 * test/lib/config-docs.test.ts fails when a page and its schema drift apart.
 */
import { configReference } from '../lib/src/config-reference.js';
import { CONFIG_SCHEMAS } from '../test/lib/config-schemas.js';

const which = process.argv[2] ?? '';
const entry = CONFIG_SCHEMAS.find((e) => e.name === which);
if (!entry) {
  process.stderr.write(
    `usage: gen-config-docs.ts ${CONFIG_SCHEMAS.map((e) => e.name).join('|')}\n`,
  );
  process.exit(2);
}
process.stdout.write(configReference(entry.schema) + '\n');
