/**
 * readJournalEntry (the register's hot path) decides exactly as the protocol's
 * JournalEntrySchema and writes canonicalJson's bytes for the data: checked on
 * valid entries, on entries with one field broken in every way we can think
 * of, and on arbitrary values.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { canonicalJson, MAX_JSON_DEPTH } from '../../protocol/src/canonical-json.js';
import { appendEntry, JournalEntrySchema } from '../../protocol/src/journal-entry.js';
import { readJournalEntry } from '../../protocol/src/journal-entry-reader.js';

const RUNS = 400;

const base = appendEntry(null, {
  source: 'box-01',
  time: '2026-11-29T10:00:00.123Z',
  bootId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'session.opened',
  data: { sessionId: 's-1', cameras: ['cam-01', 'cam-02'], ttlSec: 600, urgence: true, x: null },
});

function agree(t: Test, raw: unknown, label: string): boolean {
  let zodOk: boolean;
  try {
    zodOk = JournalEntrySchema.safeParse(raw).success;
  } catch {
    zodOk = false; // canonicalJson inside zod's refine threw: the reader must refuse too
  }
  const read = readJournalEntry(raw);
  if (read.ok !== zodOk) {
    t.fail(`${label}: reader ${read.ok}, zod ${zodOk}: ${JSON.stringify(raw)}`);
    return false;
  }
  if (read.ok && read.dataJson !== canonicalJson((raw as { data: unknown }).data)) {
    t.fail(`${label}: data JSON differs`);
    return false;
  }
  return true;
}

const jsonLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.string({ minLength: 4090, maxLength: 4100 }),
  fc.constantFrom(Number.NaN, Infinity, -0, 1e21, 5e-7),
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    jsonLeaf,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.string({ minLength: 127, maxLength: 129 })),
      tie('json'),
      { maxKeys: 4 },
    ),
  ),
}));

void t.test('a valid entry reads, with canonicalJson bytes', (t) => {
  const read = readJournalEntry(base);
  t.ok(read.ok);
  if (read.ok) {
    t.same(read.entry, base);
    t.equal(read.dataJson, canonicalJson(base.data));
  }
  t.end();
});

void t.test('agrees with JournalEntrySchema on any data object', (t) => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 130 }), json, { maxKeys: 6 }), (data) => {
      return agree(t, { ...base, data }, 'data');
    }),
    { numRuns: RUNS },
  );
  t.end();
});

void t.test('agrees with JournalEntrySchema when one field is replaced by anything', (t) => {
  const fields = Object.keys(base);
  const odd = fc.oneof(
    json,
    fc.constantFrom(
      undefined,
      0,
      -1,
      1.5,
      2 ** 53,
      Number.MAX_SAFE_INTEGER,
      '',
      'BOX',
      'box_01',
      'a'.repeat(63),
      'a'.repeat(64),
      '2026-11-29T10:00:00Z',
      '2026-11-29T10:00:00+01:00',
      '2026-02-30T10:00:00Z',
      '2026-11-29 10:00:00Z',
      '0F8FAD5B-D9CB-469F-A165-70867728950E',
      'session.opened.x.y.z.a.b.c.d',
      'Session.opened',
      '0'.repeat(64),
      'A'.repeat(64),
      [],
    ),
  );
  fc.assert(
    fc.property(fc.constantFrom(...fields, 'extra'), odd, (field, value) => {
      return agree(t, { ...base, [field]: value }, field);
    }),
    { numRuns: RUNS * 2 },
  );
  for (const field of fields) {
    const rest: Record<string, unknown> = { ...base };
    delete rest[field];
    t.ok(agree(t, rest, `without ${field}`), `without ${field}`);
  }
  t.end();
});

void t.test('agrees on values that are not entries at all', (t) => {
  fc.assert(
    fc.property(fc.anything(), (raw) => {
      return agree(t, raw, 'anything');
    }),
    { numRuns: RUNS },
  );
  for (const [label, raw] of Object.entries({
    null: null,
    one: 1,
    x: 'x',
    empty: [],
    list: [base],
  })) {
    t.ok(agree(t, raw, label), label);
  }
  t.end();
});

void t.test('data past the size bound or the nesting bound is refused, never thrown', (t) => {
  const big = {
    ...base,
    data: { a: 'x'.repeat(4096), b: 'y'.repeat(4096), c: 'z'.repeat(4096), d: 'w'.repeat(4096) },
  };
  agree(t, big, 'big');
  t.notOk(readJournalEntry(big).ok);
  let deep: unknown = 1;
  for (let i = 0; i < MAX_JSON_DEPTH + 2; i += 1) deep = [deep];
  const nested = readJournalEntry({ ...base, data: { deep } });
  t.notOk(nested.ok);
  if (!nested.ok) t.match(nested.message, /deeper/);
  let fine: unknown = 1;
  for (let i = 0; i < MAX_JSON_DEPTH - 1; i += 1) fine = [fine];
  agree(t, { ...base, data: { fine } }, 'deep but allowed');
  t.ok(readJournalEntry({ ...base, data: { fine } }).ok);
  t.end();
});

void t.test(
  'a null-prototype object is JSON data; a class instance is not (stricter than zod)',
  (t) => {
    const bare = readJournalEntry({
      ...base,
      data: Object.assign(Object.create(null) as object, { b: 2, a: 1 }),
    });
    t.ok(bare.ok);
    if (bare.ok) t.equal(bare.dataJson, '{"a":1,"b":2}');
    t.notOk(readJournalEntry({ ...base, data: { when: new Date(0) } }).ok);
    t.end();
  },
);
