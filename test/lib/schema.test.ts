import t from 'tap';
import { z } from 'zod';
import { parseOrThrow } from '../../lib/src/schema.js';
import { isVigieError } from '../../lib/src/errors.js';

t.test('every schema problem is reported as `path: message`', async (t) => {
  const schema = z.object({
    mqtt: z.object({ port: z.number().int() }),
    sites: z.array(z.string()),
  });
  const err = (() => {
    try {
      parseOrThrow(schema, { mqtt: { port: 'x' }, sites: [1] }, 'agent config');
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.ok(isVigieError(err, 'config-invalid'));
  const msg = (err as Error).message;
  t.match(msg, /^agent config is invalid:/);
  t.match(msg, /\n {2}mqtt\.port: /);
  t.match(msg, /\n {2}sites\.0: /);
});

t.test('a valid value is returned parsed', async (t) => {
  t.same(parseOrThrow(z.object({ a: z.number().default(3) }), {}, 'x'), { a: 3 });
});
