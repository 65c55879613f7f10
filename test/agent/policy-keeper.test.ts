/**
 * The policy keeper with real Ed25519 keys and real signed bundles: only a
 * bundle signed by the pinned administrator key and strictly newer than the
 * one in force is applied; it is kept (0600, replaced atomically) under the
 * data directory; anything else is refused and changes nothing, in memory or
 * on disk. A kept file is verified exactly like a bundle from the broker.
 */
import t, { type Test } from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PolicyKeeper, type PolicyOutcome } from '../../agent/src/policy/policy-keeper.js';
import { signEnvelope, signJson } from '../../protocol/src/envelope.js';
import { Keyring } from '../../protocol/src/keyring.js';
import { signPolicy } from '../../protocol/src/policy.js';
import type { Policy } from '../../protocol/src/policy-schema.js';
import { tempDir } from '../certs/helpers.js';
import { makeKey, testPolicy, type TestKey } from './pipeline-fixtures.js';

const ADMIN = makeKey('admin-emh');
/** Another administrator's key: not pinned on this box. */
const STRANGER = makeKey('admin-ailleurs');
/** A key that claims the pinned kid but is not the pinned key. */
const IMPOSTOR = makeKey('admin-emh');

const policyV = (version: number, edit: (p: Policy) => void = () => undefined): Policy =>
  testPolicy((p) => {
    p.version = version;
    edit(p);
  });
const bundle = (version: number, key: TestKey = ADMIN): Buffer =>
  signPolicy(policyV(version), key.signer);

interface Box {
  dir: string;
  file: string;
  keeper: PolicyKeeper;
  /** A keeper on the same kept file: the box after a restart. */
  reboot(): PolicyKeeper;
}

async function box(t: Test): Promise<Box> {
  const dir = await tempDir(t, 'vigie-keeper-');
  // A data directory that does not exist yet: the keeper creates it.
  const file = path.join(dir, 'data', 'policy.json');
  const keyring = Keyring.fromPems([{ kid: ADMIN.kid, publicKeyPem: ADMIN.publicKeyPem }]);
  return {
    dir,
    file,
    keeper: new PolicyKeeper(keyring, file),
    reboot: () => new PolicyKeeper(keyring, file),
  };
}

function refusedCode(outcome: PolicyOutcome | null): string | null {
  return outcome?.kind === 'refused' ? outcome.code : null;
}

/** What is on disk: bytes, mode and inode (a rename gives a new inode; a rewrite in place does not). */
async function onDisk(file: string): Promise<{ bytes: Buffer; mode: number; ino: number }> {
  const [bytes, stat] = await Promise.all([fs.readFile(file), fs.stat(file)]);
  return { bytes, mode: stat.mode & 0o777, ino: stat.ino };
}

t.test(
  'a bundle signed by the pinned key is applied and kept 0600, replaced atomically',
  async (t) => {
    const { file, keeper } = await box(t);
    const v12 = bundle(12);
    const outcome = await keeper.offer(v12);
    t.equal(outcome.kind, 'applied', 'applied');
    t.equal(keeper.current?.version, 12, 'version 12 is in force');
    const first = await onDisk(file);
    t.ok(first.bytes.equals(v12), 'the exact signed bytes are kept, not a re-serialisation');
    t.equal(first.mode, 0o600, 'the kept file is readable by the agent only');
    t.equal((await fs.stat(path.dirname(file))).mode & 0o777, 0o700, 'in a 0700 data directory');

    const v13 = bundle(13);
    t.equal((await keeper.offer(v13)).kind, 'applied', 'a newer version is applied');
    t.equal(keeper.current?.version, 13);
    const second = await onDisk(file);
    t.ok(second.bytes.equals(v13), 'the kept file now holds version 13');
    t.equal(second.mode, 0o600, 'still 0600');
    t.not(second.ino, first.ino, 'replaced by a rename of a new file, never rewritten in place');
    t.same(await fs.readdir(path.dirname(file)), ['policy.json'], 'no temporary file left behind');
  },
);

t.test('the same version again is unchanged and nothing is rewritten', async (t) => {
  const { file, keeper } = await box(t);
  const v12 = bundle(12);
  await keeper.offer(v12);
  const before = await onDisk(file);
  const applied = keeper.current;

  t.same(await keeper.offer(v12), { kind: 'unchanged' }, 'a retained redelivery is unchanged');
  // Other bytes with the same version number: still not applied, still not written.
  const sameVersionOtherContent = signPolicy(
    policyV(12, (p) => {
      p.maxTtlSec = 600;
    }),
    ADMIN.signer,
  );
  t.same(await keeper.offer(sameVersionOtherContent), { kind: 'unchanged' });
  t.equal(keeper.current, applied, 'the policy in force is the same object');
  t.equal(keeper.current?.maxTtlSec, 3600, 'the other content was not taken');
  t.same(await onDisk(file), before, 'the kept file has the same bytes, mode and inode');
});

t.test('an older version, validly signed, is refused with policy-version-not-newer', async (t) => {
  const { file, keeper } = await box(t);
  await keeper.offer(bundle(12));
  const before = await onDisk(file);
  const outcome = await keeper.offer(bundle(11));
  t.equal(refusedCode(outcome), 'policy-version-not-newer');
  t.match(outcome, { message: /11.*12/ }, 'the message names both versions');
  t.equal(keeper.current?.version, 12, 'version 12 stays in force');
  t.same(await onDisk(file), before, 'the kept file is untouched');
});

t.test('a bundle signed by another key is refused and changes nothing', async (t) => {
  const { file, keeper } = await box(t);
  await keeper.offer(bundle(12));
  const before = await onDisk(file);

  t.equal(
    refusedCode(await keeper.offer(bundle(13, STRANGER))),
    'envelope-unknown-kid',
    'another administrator’s kid is not pinned',
  );
  t.equal(
    refusedCode(await keeper.offer(bundle(13, IMPOSTOR))),
    'envelope-bad-signature',
    'the pinned kid with another key does not verify',
  );
  t.equal(keeper.current?.version, 12, 'version 12 stays in force');
  t.same(await onDisk(file), before, 'the kept file is untouched');
});

t.test('a corrupted bundle is refused and the policy in force is unchanged', async (t) => {
  const { file, keeper } = await box(t);
  await keeper.offer(bundle(12));
  const before = await onDisk(file);
  const applied = keeper.current;

  const good = bundle(13);
  const envelope = JSON.parse(good.toString('utf8')) as { payload: string };
  const payload = Buffer.from(envelope.payload, 'base64url').toString('utf8');
  const tampered = Buffer.from(
    JSON.stringify({
      ...envelope,
      payload: Buffer.from(payload.replace('"maxTtlSec":3600', '"maxTtlSec":3601')).toString(
        'base64url',
      ),
    }),
  );
  t.not(tampered.toString(), good.toString(), 'the tampering did change the payload');
  const cases: [string, Buffer, string][] = [
    ['a signed payload altered in transit', tampered, 'envelope-bad-signature'],
    ['a truncated bundle', good.subarray(0, good.length - 10), 'envelope-malformed'],
    ['bytes that are not JSON', Buffer.from('\u0000\u0001 not a bundle'), 'envelope-malformed'],
    [
      'a validly signed payload that is not a policy',
      signJson({ ...policyV(13), maxTtlSec: -1 }, ADMIN.signer),
      'payload-invalid',
    ],
    [
      'validly signed bytes that are not JSON',
      signEnvelope(Buffer.from('{"version": 13,'), ADMIN.signer),
      'payload-malformed',
    ],
  ];
  for (const [what, bytes, code] of cases) {
    t.equal(refusedCode(await keeper.offer(bytes)), code, `${what}: refused with ${code}`);
  }
  t.equal(keeper.current, applied, 'version 12 stays in force, the same object');
  t.same(await onDisk(file), before, 'the kept file is untouched');
});

t.test('loadKept on a missing file returns null and applies nothing', async (t) => {
  const { file, keeper } = await box(t);
  t.equal(await keeper.loadKept(), null);
  t.equal(keeper.current, null, 'no policy in force');
  await t.rejects(fs.stat(file), { code: 'ENOENT' }, 'and no file is created');
});

t.test(
  'loadKept of a valid kept file applies it, and the box then refuses older bundles',
  async (t) => {
    const b = await box(t);
    await b.keeper.offer(bundle(12));
    const before = await onDisk(b.file);

    const rebooted = b.reboot();
    const outcome = await rebooted.loadKept();
    t.equal(outcome?.kind, 'applied', 'the kept bundle is applied at boot');
    t.equal(rebooted.current?.version, 12, 'version 12 in force before any broker message');
    t.same(await onDisk(b.file), before, 'loading does not rewrite the kept file');
    t.same(
      await rebooted.offer(bundle(12)),
      { kind: 'unchanged' },
      'the retained copy is unchanged',
    );
    t.equal(refusedCode(await rebooted.offer(bundle(11))), 'policy-version-not-newer');
  },
);

t.test('a kept file that fails verification is refused and nothing is applied', async (t) => {
  const cases: [string, Buffer, string][] = [
    ['signed by a key that is not pinned', bundle(12, STRANGER), 'envelope-unknown-kid'],
    ['signed with the pinned kid by another key', bundle(12, IMPOSTOR), 'envelope-bad-signature'],
    ['cut short (a torn write)', bundle(12).subarray(0, 40), 'envelope-malformed'],
  ];
  for (const [what, bytes, code] of cases) {
    const b = await box(t);
    await fs.mkdir(path.dirname(b.file), { recursive: true });
    await fs.writeFile(b.file, bytes, { mode: 0o600 });
    const outcome = await b.keeper.loadKept();
    t.equal(refusedCode(outcome), code, `${what}: refused with ${code}`);
    t.equal(b.keeper.current, null, `${what}: no policy in force`);
    t.ok((await fs.readFile(b.file)).equals(bytes), `${what}: the file is left for inspection`);
  }
});
