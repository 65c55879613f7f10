import t from 'tap';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../../protocol/src/base64url.js';
import { exceedsJsonDepth } from '../../protocol/src/json-depth.js';
import { Keyring } from '../../protocol/src/keyring.js';
import { makeKey } from './fixtures/messages.js';

function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object')
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

void t.test('the raw depth scan agrees with the parsed depth (property)', (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (value, max) => {
        const bytes = Buffer.from(JSON.stringify(value));
        return exceedsJsonDepth(bytes, max) === depthOf(value) > max;
      }),
      { numRuns: 1000 },
    ),
  );
  t.end();
});

void t.test('base64url decoding accepts exactly one spelling (property)', (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64url(bytes);
        return decodeBase64url(text)?.equals(Buffer.from(bytes)) === true;
      }),
    ),
  );
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const bytes = decodeBase64url(text);
        return bytes === null || encodeBase64url(bytes) === text;
      }),
      { numRuns: 2000 },
    ),
  );
  t.equal(decodeBase64url('AA=='), null, 'padding');
  t.equal(decodeBase64url('A'), null, 'impossible length');
  t.equal(decodeBase64url('AB'), null, 'non-zero trailing bits');
  t.end();
});

void t.test('a keyring parses each key once and refuses what is not an Ed25519 key', (t) => {
  const a = makeKey('op-a');
  const ring = Keyring.fromPems([{ kid: 'op-a', publicKeyPem: a.publicKeyPem }]);
  t.equal(ring.get('op-a'), ring.get('op-a'), 'the same KeyObject every time');
  t.equal(ring.get('op-a')?.asymmetricKeyType, 'ed25519');
  t.equal(ring.get('op-b'), undefined);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
    format: 'pem',
    type: 'spki',
  }) as string;
  t.throws(() => Keyring.fromPems([{ kid: 'op-rsa', publicKeyPem: rsa }]), {
    message: 'public key of op-rsa is a rsa key, not an Ed25519 key',
    code: 'config-invalid',
  });
  t.throws(
    () =>
      Keyring.fromPems([
        { kid: 'op-a', publicKeyPem: a.publicKeyPem },
        { kid: 'op-a', publicKeyPem: a.publicKeyPem },
      ]),
    /appears twice/,
  );
  t.throws(
    () => Keyring.fromPems([{ kid: 'Op A', publicKeyPem: a.publicKeyPem }]),
    /not a valid id/,
  );
  t.throws(() => Keyring.fromPems([{ kid: 'x', publicKeyPem: 'nope' }]), {
    code: 'config-invalid',
  });
  t.end();
});
