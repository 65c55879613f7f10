/**
 * WS-UsernameToken PasswordDigest as the simulated cameras check it: the
 * right digest passes once; a replayed nonce, a stale or future Created, a
 * wrong password, another user and a plain-text password are refused.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { DigestVerifier, makeUsernameToken } from '../../sim/src/ws-security.js';

const creds = { username: 'viewer-cam-01', password: 'correct horse battery' };
const NOW = Date.parse('2026-03-01T10:00:00.000Z');

t.test('a fresh digest passes once, and its replay is refused', async (t) => {
  const v = new DigestVerifier({ now: () => NOW });
  const token = makeUsernameToken(creds, randomBytes(16), '2026-03-01T10:00:00.000Z');
  t.equal(v.verify(token, creds), 'ok');
  t.equal(v.verify(token, creds), 'auth-replayed-nonce');
});

t.test('Created outside the freshness window is refused', async (t) => {
  const v = new DigestVerifier({ now: () => NOW, maxSkewMs: 60_000 });
  t.equal(
    v.verify(makeUsernameToken(creds, randomBytes(16), '2026-03-01T09:58:59Z'), creds),
    'auth-stale-created',
  );
  t.equal(
    v.verify(makeUsernameToken(creds, randomBytes(16), '2026-03-01T10:01:01Z'), creds),
    'auth-stale-created',
  );
  t.equal(v.verify(makeUsernameToken(creds, randomBytes(16), '2026-03-01T09:59:30Z'), creds), 'ok');
  t.equal(
    v.verify(makeUsernameToken(creds, randomBytes(16), 'yesterday'), creds),
    'auth-bad-created',
  );
});

t.test(
  'a wrong password, another user, a missing token or a text password are refused',
  async (t) => {
    const v = new DigestVerifier({ now: () => NOW });
    const created = '2026-03-01T10:00:00Z';
    t.equal(
      v.verify(makeUsernameToken({ ...creds, password: 'wrong' }, randomBytes(16), created), creds),
      'auth-bad-digest',
    );
    t.equal(
      v.verify(makeUsernameToken({ ...creds, username: 'admin' }, randomBytes(16), created), creds),
      'auth-unknown-user',
    );
    t.equal(v.verify(undefined, creds), 'auth-missing-token');
    const text = {
      ...makeUsernameToken(creds, randomBytes(16), created),
      passwordType: 'PasswordText',
      password: creds.password,
    };
    t.equal(v.verify(text, creds), 'auth-not-digest');
    t.equal(
      v.verify({ ...makeUsernameToken(creds, randomBytes(16), created), nonceBase64: '!!' }, creds),
      'auth-bad-nonce',
    );
  },
);

t.test('a full nonce cache refuses rather than forgetting fresh nonces', async (t) => {
  let now = NOW;
  const v = new DigestVerifier({ now: () => now, maxNonces: 3, maxSkewMs: 60_000 });
  const created = () => new Date(now).toISOString();
  for (let i = 0; i < 3; i++)
    t.equal(v.verify(makeUsernameToken(creds, randomBytes(16), created()), creds), 'ok');
  t.equal(
    v.verify(makeUsernameToken(creds, randomBytes(16), created()), creds),
    'auth-nonce-cache-full',
  );
  now += 121_000; // past 2 x skew: the old nonces can no longer be replayed, so they may go
  t.equal(v.verify(makeUsernameToken(creds, randomBytes(16), created()), creds), 'ok');
});
