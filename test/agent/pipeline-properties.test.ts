/**
 * Property (issue 3): random mutations of valid envelopes never open a
 * session. A mutation of the signed bytes or of the signature is always
 * refused; an arbitrary mutation of the envelope text is either refused or
 * the very same signed payload re-wrapped (JSON whitespace), which the replay
 * store stops. The pipeline never throws on any input.
 */
import t from 'tap';
import fc from 'fast-check';
import { decodeBase64url, encodeBase64url } from '../../protocol/src/base64url.js';
import { NOW_MS, openCommand, sign, startedHarness } from './pipeline-fixtures.js';

type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; byte: number }
  | { op: 'insert'; pos: number; byte: number }
  | { op: 'delete'; pos: number }
  | { op: 'truncate'; pos: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('flip' as const),
    pos: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    op: fc.constant('set' as const),
    pos: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    pos: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), pos: fc.nat() }),
);

function mutate(input: Buffer, m: Mutation): Buffer {
  const bytes = Buffer.from(input);
  if (bytes.length === 0) return bytes;
  const pos = m.pos % bytes.length;
  switch (m.op) {
    case 'flip':
      bytes[pos] = (bytes[pos] ?? 0) ^ (1 << m.bit);
      return bytes;
    case 'set':
      bytes[pos] = m.byte;
      return bytes;
    case 'insert':
      return Buffer.concat([bytes.subarray(0, pos), Buffer.from([m.byte]), bytes.subarray(pos)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, pos), bytes.subarray(pos + 1)]);
    case 'truncate':
      return bytes.subarray(0, pos);
  }
}

t.test('a mutated signed payload or signature never passes', async (t) => {
  const h = await startedHarness();
  const original = sign(openCommand(NOW_MS, { requestedTtlSec: 600 }));
  const envelope = JSON.parse(original.toString('utf8')) as Record<string, unknown>;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('payload', 'sig'),
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      async (field, mutations) => {
        const decoded = decodeBase64url(String(envelope[field]));
        if (!decoded) throw new Error('fixture is not base64url');
        const changed = mutations.reduce(mutate, decoded);
        fc.pre(!changed.equals(decoded));
        const bytes = Buffer.from(
          JSON.stringify({ ...envelope, [field]: encodeBase64url(changed) }),
        );
        const event = await h.processor.process(bytes, { retained: false });
        return event.type === 'command.reject' && h.transmitter.opens.length === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.equal(h.journal.ofType('session.opened').length, 0);
  await h.manager.stop();
});

t.test('a mutated envelope never opens a second session', async (t) => {
  const h = await startedHarness();
  const command = openCommand(NOW_MS, { requestedTtlSec: 600 });
  const original = sign(command);
  t.equal((await h.processor.process(original, { retained: false })).type, 'command.ack');
  await fc.assert(
    fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (mutations) => {
      const bytes = mutations.reduce(mutate, original);
      fc.pre(!bytes.equals(original));
      const verdict = h.verifier.verify(bytes, { retained: false }); // must not throw
      if (verdict.ok) return false; // the original consumed its id: even a re-wrapping is a replay
      const event = await h.processor.process(bytes, { retained: false });
      return event.type === 'command.reject' && h.transmitter.opens.length === 1;
    }),
    { numRuns: 500 },
  );
  t.equal(h.journal.ofType('session.opened').length, 1);
  await h.manager.stop();
});

t.test('arbitrary bytes never make the pipeline throw', async (t) => {
  const h = await startedHarness();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, retained) => {
      const verdict = h.verifier.verify(bytes, { retained });
      return !verdict.ok;
    }),
    { numRuns: 500 },
  );
  t.equal(h.replay.calls, 0);
  await h.manager.stop();
});
