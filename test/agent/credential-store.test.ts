import t from 'tap';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CredentialStore } from '../../agent/src/cameras/credential-store.js';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';

async function write(dir: string, content: unknown, mode: number): Promise<string> {
  const file = path.join(dir, 'cameras.json');
  await fs.writeFile(file, JSON.stringify(content), { mode });
  await fs.chmod(file, mode); // the umask must not decide the test
  return file;
}

const CREDS = {
  version: 1,
  cameras: [
    { id: 'cam-01', xaddr: 'http://10.0.0.7/onvif', username: 'vigie', password: 'Kx7-pass-cam01' },
    { endpointReference: 'urn:uuid:5a0e', username: 'admin', password: 'Zq9-pass-urn' },
  ],
};

t.test('credentials are read per camera, by annex id then endpoint URN', async (t) => {
  const file = await write(t.testdir(), CREDS, 0o600);
  const store = await CredentialStore.load(file, new Redactor());
  t.same(store.get('cam-01'), { username: 'vigie', password: 'Kx7-pass-cam01' });
  t.same(store.get(null, 'urn:uuid:5a0e')?.username, 'admin');
  t.equal(store.get('cam-99'), undefined);
});

t.test('a file readable by others is refused, the way ssh refuses a private key', async (t) => {
  for (const mode of [0o644, 0o640, 0o604]) {
    const file = await write(t.testdir(), CREDS, mode);
    await t.rejects(CredentialStore.load(file, new Redactor()), {
      code: 'credentials-exposed',
      message: new RegExp(`mode ${mode.toString(8)}`),
    });
  }
});

t.test('every password is masked in everything the agent logs afterwards', async (t) => {
  const file = await write(t.testdir(), CREDS, 0o600);
  const redactor = new Redactor();
  await CredentialStore.load(file, redactor);
  const lines: string[] = [];
  const log = new Logger('agent:cameras', { redactor, sink: { write: (l) => lines.push(l) } });
  log.warn('camera refused Kx7-pass-cam01 for rtsp://vigie:Kx7-pass-cam01@10.0.0.7/s1', {
    detail: 'digest of Zq9-pass-urn failed',
  });
  log.error('probe failed', new Error('bad password Zq9-pass-urn'));
  const out = lines.join('\n');
  t.notMatch(out, /Kx7-pass-cam01|Zq9-pass-urn/);
  t.match(out, /\[redacted\]/);
});

t.test('an invalid file says where, never what', async (t) => {
  const bad = { version: 1, cameras: [{ id: 'cam-01', username: 'vigie', password: 'x' }] };
  const file = await write(t.testdir(), bad, 0o600);
  const err = await CredentialStore.load(file, new Redactor()).catch((e: unknown) => e);
  t.match(err, { code: 'config-invalid', message: /cameras\.0\.password: is too short/ });
  const notJson = path.join(t.testdir(), 'broken.json');
  await fs.writeFile(notJson, '{"cameras": {"cam-01": {"password": "Kx7-secret', { mode: 0o600 });
  const err2 = await CredentialStore.load(notJson, new Redactor()).catch((e: unknown) => e);
  t.match(err2, { code: 'config-invalid' });
  t.notMatch((err2 as Error).message, /Kx7-secret/, 'the content is not echoed');
});

t.test(
  'a changed file is read again; a file made unsafe is refused and the old one stays',
  async (t) => {
    const file = await write(t.testdir(), CREDS, 0o600);
    const store = await CredentialStore.load(file, new Redactor());
    t.equal(await store.reloadIfChanged(), false, 'unchanged: nothing read');
    const more = {
      ...CREDS,
      cameras: [...CREDS.cameras, { id: 'cam-02', username: 'vigie', password: 'New-pass-cam02' }],
    };
    await fs.rm(file);
    await write(path.dirname(file), more, 0o600);
    t.equal(await store.reloadIfChanged(), true);
    t.equal(store.get('cam-02')?.password, 'New-pass-cam02', 'the new camera has credentials');
    await fs.chmod(file, 0o644);
    await t.rejects(store.reloadIfChanged(), { code: 'credentials-exposed' });
    t.equal(store.get('cam-02')?.password, 'New-pass-cam02', 'what was loaded stays in use');
  },
);
