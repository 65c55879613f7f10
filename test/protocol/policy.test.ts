import t from 'tap';
import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isVigieError, type ErrorCode } from '../../lib/src/errors.js';
import { formatIssues } from '../../lib/src/schema.js';
import {
  PolicySchema,
  operatorKeyring,
  signPolicy,
  verifyPolicyBundle,
} from '../../protocol/src/policy.js';
import { loadPolicySource, policyFromYaml } from '../../protocol/src/policy-source.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { keyringOf, makeKey } from './fixtures/messages.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../protocol/examples/policy.example.yaml');
const NOW = new Date('2025-03-01T09:00:00Z');
const admin = makeKey('admin');
const adminKeyring = keyringOf(admin);

async function codeOf(fn: () => unknown): Promise<ErrorCode | 'no-error' | 'not-vigie-error'> {
  try {
    await fn();
    return 'no-error';
  } catch (err) {
    return isVigieError(err) ? err.code : 'not-vigie-error';
  }
}

function problems(value: unknown): string[] {
  const result = PolicySchema.safeParse(value);
  return result.success ? [] : formatIssues(result.error.issues);
}

const example = await loadPolicySource(EXAMPLE, NOW);
const variant = (edit: (p: Policy) => void): Policy => {
  const copy = structuredClone(example);
  edit(copy);
  return copy;
};

void t.test('the example policy loads, inlines its files, signs and verifies', (t) => {
  t.equal(example.issuedAt, '2025-03-01T09:00:00Z', 'issuedAt defaults to the signing time');
  t.match(example.operators[0]?.publicKey, /^-----BEGIN PUBLIC KEY-----/);
  t.match(example.recipients[0]?.caPem, /^-----BEGIN CERTIFICATE-----/);
  const bundle = signPolicy(example, admin.signer);
  const verified = verifyPolicyBundle(bundle, { adminKeyring });
  t.equal(verified.kid, 'admin');
  t.same(verified.payload, example);
  t.same(operatorKeyring(verified.payload).kids, ['op-dupont', 'op-martin', 'op-nuit-prestataire']);
  t.end();
});

void t.test('a bundle must be strictly newer than the one in force', async (t) => {
  const v12 = signPolicy(
    variant((p) => (p.version = 12)),
    admin.signer,
  );
  t.equal(
    await codeOf(() => verifyPolicyBundle(v12, { adminKeyring, inForceVersion: 12 })),
    'policy-version-not-newer',
    'equal',
  );
  t.equal(
    await codeOf(() => verifyPolicyBundle(v12, { adminKeyring, inForceVersion: 13 })),
    'policy-version-not-newer',
    'lower',
  );
  t.equal(
    await codeOf(() => verifyPolicyBundle(v12, { adminKeyring, inForceVersion: 11 })),
    'no-error',
    'newer',
  );
  t.throws(() => verifyPolicyBundle(v12, { adminKeyring, inForceVersion: 13 }), {
    message: 'policy version 12 is not newer than version 13 in force',
  });
});

void t.test('a bundle signed by another key is refused, even with a known kid name', async (t) => {
  const impostor = makeKey('admin');
  const bundle = signPolicy(example, impostor.signer);
  t.equal(
    await codeOf(() => verifyPolicyBundle(bundle, { adminKeyring })),
    'envelope-bad-signature',
  );
  const otherKid = signPolicy(example, makeKey('root').signer);
  t.equal(
    await codeOf(() => verifyPolicyBundle(otherKid, { adminKeyring })),
    'envelope-unknown-kid',
  );
});

void t.test('cross-field rules report the actual values', (t) => {
  const cases: [string, Policy, string][] = [
    [
      'validity reversed',
      variant((p) => {
        const op = p.operators[2];
        if (op) [op.validFrom, op.validUntil] = ['2026-06-01T00:00:00Z', '2026-01-01T00:00:00Z'];
      }),
      'operators.2.validUntil: validUntil 2026-01-01T00:00:00Z is not after validFrom 2026-06-01T00:00:00Z',
    ],
    [
      'undefined recipient',
      variant((p) => p.operators[0]?.recipients.push('police-municipale')),
      'operators.0.recipients.2: recipient police-municipale of operator op-dupont is not defined in recipients',
    ],
    [
      'duplicate kid',
      variant((p) => {
        const op = p.operators[1];
        if (op) op.kid = 'op-dupont';
      }),
      'operators.1.kid: duplicate operator kid op-dupont (already at index 0)',
    ],
    [
      'shared public key',
      variant((p) => {
        const [a, b] = p.operators;
        if (a && b) b.publicKey = a.publicKey;
      }),
      'operators.1.publicKey: duplicate public key SHA256:',
    ],
    [
      'not Ed25519',
      variant((p) => {
        const op = p.operators[0];
        if (op) op.publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----';
      }),
      'operators.0.publicKey: public key is not a PEM public key',
    ],
    [
      'duplicate camera',
      variant((p) => {
        const cam = p.sites[0]?.cameras[1];
        if (cam) cam.id = 'cam-01';
      }),
      'sites.0.cameras.1.id: duplicate camera id on site borny-hauts: cam-01 (already at index 0)',
    ],
    [
      'same camera on two sites',
      variant((p) => {
        const [a, b] = [p.sites[0]?.cameras[0], p.sites[1]?.cameras[0]];
        if (a && b) b.onvif = { ...a.onvif };
      }),
      'sites.1.cameras.0.onvif.serial: duplicate camera manufacturer/serial Hikvision/',
    ],
    [
      'window for unknown site',
      variant((p) =>
        p.timeWindows.push({ sites: ['nulle-part'], days: ['mon'], from: '08:00', to: '09:00' }),
      ),
      'timeWindows.3.sites.0: site nulle-part is not defined in sites',
    ],
    [
      'CA unreadable',
      variant((p) => {
        const r = p.recipients[0];
        if (r) r.caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
      }),
      'recipients.0.caPem: CA of csu-metz is not a readable certificate',
    ],
    [
      'express renewal before first end',
      variant((p) => (p.convention.renewal = { mode: 'express', renewedUntil: '2025-01-01' })),
      'convention.renewal.renewedUntil: renewedUntil 2025-01-01 is not after the end of the first period 2025-09-20',
    ],
    [
      'starts before signature',
      variant((p) => (p.convention.startsAt = '2024-01-01')),
      'convention.startsAt: startsAt 2024-01-01 is before signedAt 2024-09-09',
    ],
  ];
  for (const [name, policy, expected] of cases) {
    const lines = problems(policy);
    t.ok(
      lines.some((l) => l.startsWith(expected)),
      `${name}: ${JSON.stringify(lines)}`,
    );
  }
  t.same(problems(example), [], 'the example itself has none');
  t.end();
});

void t.test('schema rejections give paths', (t) => {
  const lines = problems({ ...example, version: 0, recipients: [], extra: 1 });
  t.ok(lines.includes('version: Too small: expected number to be >0'), JSON.stringify(lines));
  t.ok(lines.some((l) => l.startsWith('recipients: Too small')));
  t.ok(lines.includes('(root): Unrecognized key: "extra"'));
  t.end();
});

void t.test(
  'loadPolicySource reports every problem of a YAML file and its references',
  async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigie-policy-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await mkdir(path.join(dir, 'keys'));
    await mkdir(path.join(dir, 'ca'));
    const text = (await readFile(EXAMPLE, 'utf8'))
      .replace('keys/op-martin.pub', 'keys/absent.pub')
      .replace('maxTtlSec: 3600 #', 'maxTtlSec: 99999 #');
    for (const f of ['op-dupont.pub', 'op-nuit-prestataire.pub']) {
      await copyFile(path.join(path.dirname(EXAMPLE), 'keys', f), path.join(dir, 'keys', f));
    }
    for (const f of ['csu-metz-ca.pem', 'dipn-57-ca.pem']) {
      await copyFile(path.join(path.dirname(EXAMPLE), 'ca', f), path.join(dir, 'ca', f));
    }
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, text);
    const err = await loadPolicySource(file, NOW).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(isVigieError(err, 'policy-invalid'));
    const message = err instanceof Error ? err.message : '';
    t.match(message, 'operators.1.publicKeyFile: cannot read keys/absent.pub (ENOENT)');
    t.match(message, 'maxTtlSec: Too big');
    t.notMatch(
      message,
      'operators.1.publicKey:',
      'the missing field is reported as its file, once',
    );

    await writeFile(file, 'version: 1\nversion: 2\nsites: [\n');
    const yamlErr = await loadPolicySource(file, NOW).catch((e: unknown) => e);
    t.ok(isVigieError(yamlErr, 'policy-invalid'));
    t.match(
      yamlErr instanceof Error ? yamlErr.message : '',
      /policy\.yaml:2:1: Map keys must be unique/,
    );
  },
);

void t.test(
  'arbitrary bundles and YAML texts never throw anything but a VigieError (property)',
  async (t) => {
    const exampleText = await readFile(EXAMPLE, 'utf8');
    const bundle = signPolicy(example, admin.signer);
    t.doesNotThrow(() =>
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 400 }),
            fc.nat(bundle.length - 1).map((i) => {
              const copy = Buffer.from(bundle);
              copy[i] = (copy[i] ?? 0) ^ 0x20;
              return copy;
            }),
          ),
          (bytes) => {
            try {
              verifyPolicyBundle(bytes, { adminKeyring });
              return true;
            } catch (err) {
              return isVigieError(err);
            }
          },
        ),
        { numRuns: 500 },
      ),
    );
    const texts = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .tuple(fc.nat(exampleText.length), fc.string({ maxLength: 5 }))
        .map(([i, s]) => exampleText.slice(0, i) + s + exampleText.slice(i + s.length)),
    );
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        const code = await codeOf(() => policyFromYaml(text, EXAMPLE, NOW));
        return code !== 'not-vigie-error';
      }),
      { numRuns: 300 },
    );
    t.pass('every failure was a VigieError');
  },
);
