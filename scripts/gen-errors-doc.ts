/**
 * Regenerates docs/errors.md from the catalogue in lib/src/errors.ts
 * (`npx tsx scripts/gen-errors-doc.ts`). test/lib/errors.test.ts fails when the
 * two drift apart.
 */
import { writeFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from '../lib/src/errors.js';

const rows = Object.entries(ERROR_CATALOGUE).map(
  ([code, text]) => `| \`${code}\` | ${text.replace(/\|/g, '\\|')} |`,
);
const doc = `# Error codes

Every error the \`vigie\` command and the services raise carries one of these
stable codes (printed in brackets by the CLI, e.g. \`[file-exists]\`). A code
never changes meaning once released; new codes are added at the end of their
group. Generated from \`lib/src/errors.ts\` by \`npx tsx scripts/gen-errors-doc.ts\`;
a test keeps the two in sync.

Command refusal reasons sent by the agent to operators, and session close
reasons, are a separate catalogue: see [protocol.md](protocol.md).

| code | meaning |
|---|---|
${rows.join('\n')}
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), doc);
