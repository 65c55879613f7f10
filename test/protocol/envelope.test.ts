import t from 'tap';
import fc from 'fast-check';
import { isVigieError, type ErrorCode } from '../../lib/src/errors.js';
import { CommandSchema } from '../../protocol/src/commands.js';
import { ED25519_ORDER, signatureScalar } from '../../protocol/src/ed25519.js';
import { ENVELOPE_LIMITS } from '../../protocol/src/limits.js';
import { signEnvelope, signJson, verifyEnvelope } from '../../protocol/src/envelope.js';
import { keyringOf, makeKey, sessionOpen } from './fixtures/messages.js';
import { verify } from 'node:crypto';

const operator = makeKey('op-dupont');
const stranger = makeKey('op-inconnu');
const keyring = keyringOf(operator); // built once, as the agent does per policy
const options = { kind: 'command', keyring, schema: CommandSchema } as const;

function codeOf(fn: () => unknown): ErrorCode | 'no-error' | 'not-vigie-error' {
  try {
    fn();
    return 'no-error';
  } catch (err) {
    return isVigieError(err) ? err.code : 'not-vigie-error';
  }
}

function envelopeWith(bytes: Buffer, patch: Record<string, unknown>): Buffer {
  const env = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...env, ...patch }));
}

void t.test('round trip returns the kid, the exact signed bytes and the typed payload', (t) => {
  const command = sessionOpen();
  const bytes = signJson(command, operator.signer);
  const verified = verifyEnvelope(bytes, options);
  t.equal(verified.kid, 'op-dupont');
  t.equal(verified.payloadBytes.toString('utf8'), JSON.stringify(command));
  t.same(verified.payload, command);
  t.end();
});

void t.test('the payload is verified as shipped, without re-serialisation', (t) => {
  // Whitespace and key order that JSON.stringify would not produce still verify.
  const odd = Buffer.from(JSON.stringify(sessionOpen(), null, 3).replace('"type"', ' "type"'));
  const verified = verifyEnvelope(signEnvelope(odd, operator.signer), options);
  t.ok(verified.payloadBytes.equals(odd));
  t.end();
});

void t.test('every single-bit flip of payload or signature is rejected (property)', (t) => {
  const bytes = signJson(sessionOpen(), operator.signer);
  const env = JSON.parse(bytes.toString('utf8')) as { payload: string; sig: string };
  const payload = Buffer.from(env.payload, 'base64url');
  const sig = Buffer.from(env.sig, 'base64url');
  fc.assert(
    fc.property(fc.boolean(), fc.nat(), (inSig, n) => {
      const target = Buffer.from(inSig ? sig : payload);
      const bit = n % (target.length * 8);
      target[bit >> 3] = (target[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const patch = inSig
        ? { sig: target.toString('base64url') }
        : { payload: target.toString('base64url') };
      const code = codeOf(() => verifyEnvelope(envelopeWith(bytes, patch), options));
      return code === 'envelope-bad-signature' || code === 'envelope-signature-not-canonical';
    }),
    { numRuns: 2000 },
  );
  t.end();
});

void t.test('every one of the 512 bits of one signature, flipped, is rejected', (t) => {
  const bytes = signJson({ ...sessionOpen(), cameras: ['cam-01'] }, operator.signer);
  const sig = Buffer.from((JSON.parse(bytes.toString('utf8')) as { sig: string }).sig, 'base64url');
  const accepted: number[] = [];
  for (let bit = 0; bit < 512; bit++) {
    const flipped = Buffer.from(sig);
    flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
    const code = codeOf(() =>
      verifyEnvelope(envelopeWith(bytes, { sig: flipped.toString('base64url') }), options),
    );
    if (code !== 'envelope-bad-signature' && code !== 'envelope-signature-not-canonical')
      accepted.push(bit);
  }
  t.same(accepted, [], 'no flipped bit verifies');
  t.end();
});

void t.test('the malleable variant S + L is rejected by our own check, with its code', (t) => {
  const bytes = signJson(sessionOpen(), operator.signer);
  const env = JSON.parse(bytes.toString('utf8')) as { payload: string; sig: string };
  const sig = Buffer.from(env.sig, 'base64url');
  const s = signatureScalar(sig) + ED25519_ORDER;
  t.ok(s < 1n << 256n, 'S + L still fits in 32 bytes');
  const malleable = Buffer.from(sig);
  for (let i = 0; i < 32; i++) malleable[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  t.not(malleable.toString('base64url'), env.sig);
  t.equal(
    codeOf(() =>
      verifyEnvelope(envelopeWith(bytes, { sig: malleable.toString('base64url') }), options),
    ),
    'envelope-signature-not-canonical',
  );
  // Defence in depth, not our only line: OpenSSL refuses it too.
  t.notOk(verify(null, Buffer.from(env.payload, 'base64url'), operator.publicKey, malleable));
  t.end();
});

void t.test('each verification failure has its own stable code', (t) => {
  const bytes = signJson(sessionOpen(), operator.signer);
  const cases: [string, Buffer, ErrorCode][] = [
    ['unknown kid', signJson(sessionOpen(), stranger.signer), 'envelope-unknown-kid'],
    ['wrong alg', envelopeWith(bytes, { alg: 'EdDSA' }), 'envelope-bad-alg'],
    ['alg none', envelopeWith(bytes, { alg: 'none' }), 'envelope-bad-alg'],
    ['version 2', envelopeWith(bytes, { v: 2 }), 'envelope-bad-version'],
    ['extra field', envelopeWith(bytes, { note: 'x' }), 'envelope-malformed'],
    [
      'padded base64',
      envelopeWith(bytes, { payload: `${JSON.parse(bytes.toString()).payload as string}=` }),
      'envelope-malformed',
    ],
    [
      'standard base64 charset',
      envelopeWith(bytes, { sig: 'A+'.repeat(43) }),
      'envelope-malformed',
    ],
    ['short signature', envelopeWith(bytes, { sig: 'AAAA' }), 'envelope-malformed'],
    ['not JSON', Buffer.from('{"v":1,'), 'envelope-malformed'],
    ['BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), 'envelope-malformed'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'envelope-malformed'],
    [
      'payload not JSON',
      signEnvelope(Buffer.from('not json'), operator.signer),
      'payload-malformed',
    ],
    [
      'payload off schema',
      signJson({ ...sessionOpen(), cameras: [] }, operator.signer),
      'payload-invalid',
    ],
  ];
  for (const [name, input, code] of cases)
    t.equal(
      codeOf(() => verifyEnvelope(input, options)),
      code,
      name,
    );
  t.end();
});

void t.test('non-canonical base64url (stray trailing bits) is malformed', (t) => {
  const bytes = signJson(sessionOpen(), operator.signer);
  const sig = (JSON.parse(bytes.toString()) as { sig: string }).sig;
  // 64 bytes = 85 full chars + 1 char carrying 4 bits; the low 2 bits must be zero.
  const last = sig.charAt(85);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const twin = alphabet.charAt(alphabet.indexOf(last) + 1);
  t.equal(
    Buffer.from(sig.slice(0, 85) + twin, 'base64url').toString('base64url'),
    sig,
    'Node decodes both alike',
  );
  t.equal(
    codeOf(() => verifyEnvelope(envelopeWith(bytes, { sig: sig.slice(0, 85) + twin }), options)),
    'envelope-malformed',
  );
  t.end();
});

void t.test('oversized input is refused before parsing, whatever it contains', (t) => {
  const limit = ENVELOPE_LIMITS.command.maxBytes;
  const garbage = Buffer.alloc(limit + 1, 0x5b); // '[' x 16385: also too deep, but size comes first
  t.equal(
    codeOf(() => verifyEnvelope(garbage, options)),
    'envelope-too-large',
  );
  const big = signJson({ ...sessionOpen(), callRef: 'x'.repeat(limit) }, operator.signer);
  t.equal(
    codeOf(() => verifyEnvelope(big, options)),
    'envelope-too-large',
  );
  t.equal(
    codeOf(() => verifyEnvelope(Buffer.alloc(limit, 0x20), options)),
    'envelope-malformed',
    'at the limit: parsed',
  );
  t.end();
});

void t.test(
  'deep nesting is refused before JSON.parse, in the envelope and in the payload',
  (t) => {
    const deep = Buffer.from('{"v":' + '['.repeat(17) + ']'.repeat(17) + '}');
    t.equal(
      codeOf(() => verifyEnvelope(deep, options)),
      'envelope-too-deep',
    );
    const ok = Buffer.from('{"v":' + '['.repeat(15) + ']'.repeat(15) + '}');
    t.equal(
      codeOf(() => verifyEnvelope(ok, options)),
      'envelope-malformed',
      'depth 16 passes the scan',
    );
    const inString = Buffer.from(JSON.stringify({ v: '['.repeat(100) + '\\"[[' }));
    t.equal(
      codeOf(() => verifyEnvelope(inString, options)),
      'envelope-malformed',
      'brackets in strings do not count',
    );
    const deepPayload = signEnvelope(
      Buffer.from('{"a":' + '['.repeat(40) + ']'.repeat(40) + '}'),
      operator.signer,
    );
    t.equal(
      codeOf(() => verifyEnvelope(deepPayload, options)),
      'envelope-too-deep',
    );
    t.end();
  },
);

void t.test('checks run cheapest first', (t) => {
  const foreign = signJson(sessionOpen(), stranger.signer);
  t.equal(
    codeOf(() => verifyEnvelope(envelopeWith(foreign, { v: 9, alg: 'RS256' }), options)),
    'envelope-bad-version',
  );
  t.equal(
    codeOf(() => verifyEnvelope(envelopeWith(foreign, { alg: 'RS256' }), options)),
    'envelope-bad-alg',
  );
  const tampered = envelopeWith(foreign, { payload: Buffer.from('{}').toString('base64url') });
  t.equal(
    codeOf(() => verifyEnvelope(tampered, options)),
    'envelope-unknown-kid',
    'kid before signature',
  );
  const invalidButSigned = signJson({ type: 'session.open' }, operator.signer);
  t.equal(
    codeOf(() => verifyEnvelope(invalidButSigned, options)),
    'payload-invalid',
    'schema after signature',
  );
  t.end();
});

void t.test('arbitrary bytes never throw anything but a VigieError (property)', (t) => {
  const valid = signJson(sessionOpen(), operator.signer);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.json().map((s) => Buffer.from(s)),
        fc
          .record({
            v: fc.anything(),
            kid: fc.string(),
            alg: fc.string(),
            payload: fc.string(),
            sig: fc.string(),
          })
          .map((o) => Buffer.from(JSON.stringify(o) ?? '')),
        fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
          const copy = Buffer.from(valid);
          copy[i] = b;
          return copy;
        }),
      ),
      (input) => {
        const code = codeOf(() => verifyEnvelope(input, options));
        return code !== 'not-vigie-error';
      },
    ),
    { numRuns: 3000 },
  );
  t.end();
});

void t.test(
  'signed arbitrary JSON payloads never throw anything but a VigieError (property)',
  (t) => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const code = codeOf(() => verifyEnvelope(signJson(value, operator.signer), options));
        return (
          code === 'payload-invalid' ||
          code === 'envelope-too-deep' ||
          code === 'envelope-too-large'
        );
      }),
      { numRuns: 500 },
    );
    t.end();
  },
);
