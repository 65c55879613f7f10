import t from 'tap';
import { readFileSync } from 'node:fs';
import { configReference } from '../../lib/src/config-reference.js';
import { CONFIG_SCHEMAS } from './config-schemas.js';

// A configuration key documented wrong is a box that will not start at 3 a.m.
for (const { name, schema, doc } of CONFIG_SCHEMAS) {
  t.test(
    `${doc} carries the ${name} configuration reference generated from its schema`,
    async (t) => {
      const page = readFileSync(new URL(`../../${doc}`, import.meta.url), 'utf8');
      t.ok(
        page.includes(configReference(schema)),
        `regenerate with: npx tsx scripts/gen-config-docs.ts ${name}`,
      );
    },
  );
}
