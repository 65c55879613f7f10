/**
 * The box's hand-written ingest codec (protocol/src/register-wire.ts) against
 * protobufjs through proto-loader (what the register's server speaks): every
 * IngestRequest the box sends is encoded byte for byte as protobufjs encodes
 * it; every IngestResponse it reads decodes as protobufjs decodes it, over
 * well-formed encodings (fields in any order, repeated, unknown fields of every
 * wire type) and over garbage, truncations and corrupted bytes, where it may
 * only be stricter (a clean RegisterWireError), never differ; and the agent's
 * client loads neither protobufjs nor proto-loader.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import {
  registerIngestService,
  type IngestRequest,
  type WireEntry,
} from '../../protocol/src/register-proto.js';
import {
  decodeIngestResponse,
  encodeIngestRequest,
  RegisterWireError,
} from '../../protocol/src/register-wire.js';

const method = registerIngestService().Ingest;
if (!method) throw new Error('no Ingest method');
const serialize = method.requestSerialize as (m: IngestRequest) => Buffer;
const responseSerialize = method.responseSerialize as (m: unknown) => Buffer;
const deserialize = method.responseDeserialize as (b: Buffer) => unknown;

/** Comparable form: Buffers as hex, keys sorted. */
function norm(v: unknown): string {
  if (Buffer.isBuffer(v)) return JSON.stringify(`hex:${v.toString('hex')}`);
  if (Array.isArray(v)) return `[${v.map(norm).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${norm(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

type Outcome = { ok: true; value: string } | { ok: false; error: unknown };
const theirs = (b: Buffer): Outcome => {
  try {
    return { ok: true, value: norm(deserialize(b)) };
  } catch (error) {
    return { ok: false, error };
  }
};
const ours = (b: Buffer): Outcome => {
  try {
    return { ok: true, value: norm(decodeIngestResponse(b)) };
  } catch (error) {
    return { ok: false, error };
  }
};

/** Strings protobufjs and Buffer write alike (no lone surrogates), short and long. */
const text = fc.string({ unit: 'binary', maxLength: 90 }).filter((s) => !/\p{Cs}/u.test(s));
const u64 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

const entryArb: fc.Arbitrary<WireEntry> = fc.record({
  source: text,
  seq: u64,
  time: text,
  boot_id: text,
  type: text,
  data: bytes(400),
  prev_hash: bytes(40),
  hash: bytes(40),
});
const requestArb: fc.Arbitrary<IngestRequest> = fc.oneof(
  fc
    .record({ source: text, boot_id: text, last_local_seq: u64, known_tree_size: u64 })
    .map((hello) => ({ hello })),
  entryArb.map((entry) => ({ entry })),
  fc.array(entryArb, { maxLength: 8 }).map((entries) => ({ entries: { entries } })),
  fc.record({ source: text, seq: u64, hash: bytes(40), sig: bytes(80) }).map((head) => ({ head })),
);

t.test("every message the box sends is protobufjs's, byte for byte (property)", async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(requestArb, (m) => Buffer.compare(encodeIngestRequest(m), serialize(m)) === 0),
      { numRuns: 1500 },
    ),
  );
  const entry: WireEntry = {
    source: 'borny',
    seq: 1,
    time: '2026-01-01T00:00:00.000Z',
    boot_id: 'b',
    type: 'agent.started',
    data: Buffer.from('{}'),
    prev_hash: Buffer.alloc(32),
    hash: Buffer.alloc(32, 1),
  };
  for (const m of [
    { hello: { source: '', boot_id: '', last_local_seq: 0, known_tree_size: 0 } },
    { entries: { entries: [] } },
    { entries: { entries: [entry, { ...entry, seq: 2 ** 53 - 1, data: Buffer.alloc(70_000) }] } },
    { head: { source: 'x'.repeat(200), seq: 0, hash: Buffer.alloc(0), sig: Buffer.alloc(0) } },
  ] satisfies IngestRequest[]) {
    t.equal(Buffer.compare(encodeIngestRequest(m), serialize(m)), 0, Object.keys(m).join());
  }
});

t.test('what cannot be encoded faithfully is refused, not sent wrong', async (t) => {
  const entry = (over: Partial<WireEntry>): IngestRequest => ({
    entry: {
      source: 's',
      seq: 1,
      time: 't',
      boot_id: 'b',
      type: 'x',
      data: Buffer.alloc(0),
      prev_hash: Buffer.alloc(0),
      hash: Buffer.alloc(0),
      ...over,
    },
  });
  for (const [over, why] of [
    [{ seq: -1 }, /entry\.seq: -1 is not a uint64/],
    [{ seq: 2 ** 53 }, /below 2\^53/],
    [{ seq: 1.5 }, /entry\.seq/],
    [{ type: 'a\ud800' }, /entry\.type: a lone surrogate/],
    [{ source: 'x'.repeat(50) + '\udc00' }, /entry\.source: a lone surrogate/],
  ] as const) {
    t.throws(() => encodeIngestRequest(entry(over)), why);
  }
  t.throws(() => encodeIngestRequest({} as IngestRequest), /no body/);
});

// ---- IngestResponse: well-formed encodings, built field by field.

/** Protobuf primitives, for encodings protobufjs's encoder would never write. */
function varint(value: bigint): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const tag = (field: number, wire: number): Buffer => varint(BigInt(field * 8 + wire));
const lenField = (field: number, body: Buffer): Buffer =>
  Buffer.concat([tag(field, 2), varint(BigInt(body.length)), body]);
const u64Field = (field: number, value: number): Buffer =>
  Buffer.concat([tag(field, 0), varint(BigInt(value))]);

/** An unknown field of any wire type (groups nested, closed by their own field). */
const unknownField = (minField: number): fc.Arbitrary<Buffer> => {
  const field = fc.integer({ min: minField, max: 2 ** 29 - 1 });
  const { node } = fc.letrec<{ node: Buffer }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc
        .tuple(field, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
        .map(([f, v]) => Buffer.concat([tag(f, 0), varint(v)])),
      fc
        .tuple(
          field,
          bytes(8).filter((b) => b.length === 8),
        )
        .map(([f, b]) => Buffer.concat([tag(f, 1), b])),
      fc.tuple(field, bytes(30)).map(([f, b]) => lenField(f, b)),
      fc
        .tuple(
          field,
          bytes(4).filter((b) => b.length === 4),
        )
        .map(([f, b]) => Buffer.concat([tag(f, 5), b])),
      fc
        .tuple(field, fc.array(tie('node'), { maxLength: 3 }))
        .map(([f, inner]) => Buffer.concat([tag(f, 3), ...inner, tag(f, 4)])),
    ),
  }));
  return node;
};

type Spec = { name: string; no: number; fields: Record<number, 'u64' | 'string' | 'bytes'> };
const BODY_SPECS: Spec[] = [
  { name: 'resume', no: 1, fields: { 1: 'u64', 2: 'bytes' } },
  { name: 'ack', no: 2, fields: { 1: 'u64', 2: 'bytes', 3: 'u64' } },
  { name: 'nack', no: 3, fields: { 1: 'u64', 2: 'string', 3: 'string' } },
  {
    name: 'checkpoint',
    no: 4,
    fields: {
      1: 'u64',
      2: 'bytes',
      3: 'string',
      4: 'string',
      5: 'bytes',
      6: 'u64',
      7: 'bytes',
      8: 'u64',
      9: 'u64',
      10: 'bytes',
    },
  },
];

const knownField = (spec: Spec): fc.Arbitrary<Buffer> =>
  fc.oneof(
    ...Object.entries(spec.fields).map(([no, kind]) => {
      const f = Number(no);
      if (kind === 'u64') return u64.map((v) => u64Field(f, v));
      if (kind === 'string') return text.map((s) => lenField(f, Buffer.from(s, 'utf8')));
      return bytes(40).map((b) => lenField(f, b));
    }),
  );

/** A response as any encoder may write it: known fields in any order, repeated, unknowns between. */
const wellFormedResponse: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.option(fc.constantFrom(...BODY_SPECS), { nil: undefined }),
    fc.array(unknownField(5), { maxLength: 3 }),
    fc.array(unknownField(5), { maxLength: 3 }),
  )
  .chain(([spec, before, after]) =>
    (spec
      ? fc
          .array(fc.oneof(knownField(spec), unknownField(11)), { maxLength: 14 })
          .map((fields) => [lenField(spec.no, Buffer.concat(fields))])
      : fc.constant([] as Buffer[])
    ).map((body) => Buffer.concat([...before, ...body, ...after])),
  );

/** Responses as the register's server writes them (protobufjs's encoder). */
const serverResponse: fc.Arbitrary<Buffer> = fc
  .oneof(
    fc.record({ acked_seq: u64, acked_hash: bytes(40) }).map((resume) => ({ resume })),
    fc.record({ seq: u64, hash: bytes(40), head_seq: u64 }).map((ack) => ({ ack })),
    fc.record({ seq: u64, problem: text, detail: text }).map((nack) => ({ nack })),
    fc
      .record({
        tree_size: u64,
        root_hash: bytes(40),
        time: text,
        kid: text,
        sig: bytes(80),
        proof_from_size: u64,
        consistency_proof: fc.array(bytes(40), { maxLength: 20 }),
        inclusion_seq: u64,
        leaf_index: u64,
        inclusion_proof: fc.array(bytes(40), { maxLength: 20 }),
      })
      .map((checkpoint) => ({ checkpoint })),
  )
  .map((m) => responseSerialize(m));

const agree = (b: Buffer): boolean => {
  const a = ours(b);
  const p = theirs(b);
  return a.ok && p.ok && a.value === p.value;
};

t.test(
  'every response the register writes decodes as protobufjs decodes it (property)',
  async (t) => {
    t.doesNotThrow(() => fc.assert(fc.property(serverResponse, agree), { numRuns: 1500 }));
  },
);

t.test('any well-formed encoding, unknown fields included, decodes alike (property)', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(wellFormedResponse, agree), { numRuns: 3000 }));
  // Unknown fields of every wire type at both levels, by hand.
  const group = Buffer.concat([tag(99, 3), u64Field(1, 5), tag(7, 3), tag(7, 4), tag(99, 4)]);
  const fixed = Buffer.concat([tag(12, 1), Buffer.alloc(8, 7), tag(13, 5), Buffer.alloc(4, 9)]);
  const ack = Buffer.concat([fixed, u64Field(1, 42), group, lenField(2, Buffer.alloc(32, 3))]);
  const b = Buffer.concat([group, lenField(2, ack), fixed]);
  t.ok(agree(b));
  const got = decodeIngestResponse(b);
  t.equal(got.ack?.seq, 42);
  t.equal(got.body, 'ack');
  t.same(decodeIngestResponse(Buffer.alloc(0)), {}, 'no body: {}');
});

/** Our decoder may refuse what protobufjs takes, never accept it differently or crash. */
const neverLaxer = (b: Buffer): boolean => {
  const a = ours(b);
  if (!a.ok) return a.error instanceof RegisterWireError;
  const p = theirs(b);
  return p.ok && p.value === a.value;
};

t.test(
  'garbage, truncations and corruptions: stricter or equal, never a crash (property)',
  async (t) => {
    const stats = { both: 0, oursOnly: 0, accepted: 0 };
    const lax = new Map<string, number>();
    const counted = (b: Buffer): boolean => {
      const a = ours(b);
      const p = theirs(b);
      if (a.ok) stats.accepted++;
      else if (p.ok) {
        stats.oursOnly++;
        const why = (a.error as Error).message.replace(/^[^:]+: /, '').replace(/\d+/g, 'N');
        lax.set(why, (lax.get(why) ?? 0) + 1);
      } else stats.both++;
      return neverLaxer(b);
    };
    t.doesNotThrow(() => fc.assert(fc.property(bytes(300), counted), { numRuns: 5000 }));
    const valid = fc.oneof(serverResponse, wellFormedResponse);
    t.doesNotThrow(
      () =>
        fc.assert(
          fc.property(valid, fc.nat(), (b, cut) => counted(b.subarray(0, cut % (b.length + 1)))),
          { numRuns: 3000 },
        ),
      'truncations',
    );
    t.doesNotThrow(
      () =>
        fc.assert(
          fc.property(
            valid.filter((b) => b.length > 0),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 4,
            }),
            (b, flips) => {
              const c = Buffer.from(b);
              for (const [at, v] of flips) c[at % c.length] = v;
              return counted(c);
            },
          ),
          { numRuns: 5000 },
        ),
      'corrupted bytes',
    );
    t.comment(
      `accepted (equal to protobufjs) ${stats.accepted}, refused by both ${stats.both}, refused by ours only ${stats.oursOnly}`,
    );
    const whys = [...lax].sort((x, y) => y[1] - x[1]).map(([w, n]) => `${w} (${n})`);
    t.comment(`refused by ours only (protobufjs lax): ${whys.join('; ')}`);
  },
);

t.test('what protobufjs takes laxly is refused with a clean error', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    [
      'a string past its message (protobufjs cuts it)',
      Buffer.from('1a0312087a', 'hex'),
      /nack\.problem: 8 bytes announced, 1 left/,
    ],
    [
      'a known field with another wire type',
      Buffer.from('0a020a00', 'hex'),
      /resume\.acked_seq: wire type 2, not 0/,
    ],
    ['field number 0', Buffer.from('0a020000', 'hex'), /field number 0/],
    [
      'a uint64 beyond 2^53',
      lenField(1, Buffer.concat([tag(1, 0), varint(2n ** 53n)])),
      /beyond 2\^53/,
    ],
    [
      'an 11-byte varint',
      Buffer.concat([Buffer.from('0a0c08', 'hex'), Buffer.alloc(10, 0x80), Buffer.from([0])]),
      /longer than 10 bytes/,
    ],
    ['an end group of another field', Buffer.concat([tag(9, 3), tag(8, 4)]), /unmatched end group/],
    ['an end group alone', tag(9, 4), /end group outside a group/],
    ['wire type 6', tag(9, 6), /wire type 6/],
    [
      'two bodies',
      Buffer.concat([lenField(1, Buffer.alloc(0)), lenField(2, Buffer.alloc(0))]),
      /a second body/,
    ],
    ['a body longer than the message', Buffer.from('2205', 'hex'), /5 bytes announced, 0 left/],
    [
      'groups too deep',
      Buffer.concat(Array.from({ length: 40 }, () => tag(9, 3))),
      /groups too deep/,
    ],
    [
      'a proof of more hashes than any tree needs',
      lenField(4, Buffer.concat(Array.from({ length: 129 }, () => lenField(10, Buffer.alloc(32))))),
      /checkpoint\.inclusion_proof: more than 128 hashes/,
    ],
    ['a truncated varint', Buffer.from('0a01', 'hex').subarray(0, 1), /truncated varint/],
  ];
  for (const [what, b, why] of cases) {
    t.throws(() => decodeIngestResponse(b), why, what);
    t.throws(() => decodeIngestResponse(b), RegisterWireError, what);
  }
});

t.test('the agent with a register loads neither protobufjs nor proto-loader', async (t) => {
  const root = path.resolve(import.meta.dirname, '../..');
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(path.join(root, 'agent/src/register/outbox.ts'))});
    await import(${JSON.stringify(path.join(root, 'agent/src/register/register-client.ts'))});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify(loaded.filter((f) => /protobufjs|proto-loader|grpc-js/.test(f))));
  `;
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  t.equal(run.status, 0, run.stderr);
  t.same(JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null'), []);
});
