import t from 'tap';
import { PassThrough } from 'node:stream';
import { isVigieError } from '../../lib/src/errors.js';
import { hashPassword, parseScryptHash, verifyPassword } from '../../lib/src/web/password-hash.js';
import { hashPasswordCommand } from '../../csu/src/viewer/hash-password-command.js';
import { parseViewerConfig } from '../../csu/src/viewer/viewer-config.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

t.test('hashes and verifies passwords with scrypt', async (t) => {
  const hash = await hashPassword('un mot de passe long', CHEAP);
  t.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  t.ok(await verifyPassword('un mot de passe long', hash));
  t.notOk(await verifyPassword('un mot de passe lonG', hash));
  t.notOk(await verifyPassword('anything', null), 'unknown login: false, after one scrypt');
  t.not(await hashPassword('un mot de passe long', CHEAP), hash, 'salted');
});

t.test('refuses malformed or abusive scrypt strings', async (t) => {
  for (const bad of [
    'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', // N not a power of two
    'scrypt$4194304$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', // N = 2^22: 4 GiB a login
    'bcrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
    'scrypt$1024$8$1$c2FsdA==$aGFzaA==', // salt and hash too short
    'scrypt$1024$8$1$!!$??',
  ]) {
    t.equal(parseScryptHash(bad), null, bad);
  }
});

t.test('hash-password reads a piped password and prints one line', async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const done = hashPasswordCommand({ input, output, params: CHEAP });
  input.end('un mot de passe long\n');
  const hash = await done;
  t.equal(String(output.read()), `${hash}\n`);
  t.ok(await verifyPassword('un mot de passe long', hash), 'the final newline is not hashed');
});

t.test('hash-password reads without echo on a terminal and asks twice', async (t) => {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(mode: boolean) {
      this.rawModes.push(mode);
    },
  });
  const output = new PassThrough();
  const prompt = new PassThrough();
  const done = hashPasswordCommand({ input, output, prompt, params: CHEAP });
  input.write('un mot de passe longx\u007f\r');
  await new Promise<void>((resolve) => setImmediate(resolve));
  input.write('un mot de passe long\r');
  const hash = await done;
  t.ok(await verifyPassword('un mot de passe long', hash));
  t.equal(String(prompt.read()), 'Mot de passe : \nConfirmez : \n', 'no password echoed');
  t.same(input.rawModes, [true, false, true, false]);
});

t.test('hash-password refuses a short password', async (t) => {
  const input = new PassThrough();
  const done = hashPasswordCommand({ input, output: new PassThrough(), params: CHEAP });
  input.end('court\n');
  await t.rejects(done, { code: 'config-invalid', message: /5 characters; it needs 12/ });
});

const HASH =
  'scrypt$1024$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';

function viewer(overrides: Record<string, unknown> = {}) {
  return {
    id: 'agent-dupont',
    name: 'Brigadier Dupont',
    approvalRef: 'PP-2026-0042',
    validFrom: '2026-01-01T00:00:00Z',
    validUntil: '2027-01-01T00:00:00Z',
    passwordHash: HASH,
    ...overrides,
  };
}

t.test('the viewer config fills its defaults', async (t) => {
  const config = parseViewerConfig({
    tls: { certFile: '/etc/vigie/viewer.crt', keyFile: '/etc/vigie/viewer.key' },
    viewers: [viewer()],
  });
  t.same(config.listen, { host: '127.0.0.1', port: 8443 });
  t.equal(config.sessionTtlSec, 28_800);
  t.same(config.login, { maxFailuresPerViewer: 5, maxFailuresPerIp: 20, windowSec: 900 });
});

t.test('the viewer config names every problem with its path and values', async (t) => {
  try {
    parseViewerConfig({
      tls: { certFile: 'c', keyFile: 'k' },
      viewers: [
        viewer({ validUntil: '2025-01-01T00:00:00Z' }),
        viewer({ passwordHash: 'plaintext' }),
      ],
    });
    t.fail('should throw');
  } catch (err) {
    t.ok(isVigieError(err, 'config-invalid'));
    const message = (err as Error).message;
    t.match(
      message,
      'viewers.0.validUntil: validUntil 2025-01-01T00:00:00Z is not after validFrom 2026-01-01T00:00:00Z',
    );
    t.match(message, 'viewers.1.passwordHash: must be `scrypt$N$r$p$saltb64$hashb64`');
    t.match(message, 'viewers.1.id: viewer id "agent-dupont" appears twice');
  }
});
