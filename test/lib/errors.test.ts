import t from 'tap';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from '../../lib/src/errors.js';

// docs/errors.md is what operators and integrators read; a code missing there,
// or a documented code that no longer exists, is a broken promise.
const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([a-z0-9-]+)` \| (.+?) \|$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
);

t.test('every error code is documented with its catalogue text', async (t) => {
  for (const [code, text] of Object.entries(ERROR_CATALOGUE)) {
    t.equal(documented.get(code), text.replace(/\|/g, '\\|'), `docs/errors.md row for ${code}`);
  }
});

t.test('docs/errors.md lists no code that the catalogue does not have', async (t) => {
  const extra = [...documented.keys()].filter((code) => !(code in ERROR_CATALOGUE));
  t.same(extra, []);
});

t.test('codes are stable kebab-case strings', async (t) => {
  for (const code of Object.keys(ERROR_CATALOGUE)) t.match(code, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
});
