import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { closeCommand } from '../agent/pipeline-fixtures.js';
import { makePki } from '../certs/helpers.js';
import {
  BORNY,
  KEYS,
  RawBox,
  makeRelayWorld,
  sign,
  startTestRelay,
  ticket,
} from './relay-fixtures.js';

const world = await makeRelayWorld(t);
const { port, policy, relay } = await startTestRelay(t, world);

async function refusal(
  t: Test,
  send: (box: RawBox) => void,
  material = world.boxTls,
): Promise<{ reason: string; detail: string }> {
  const box = new RawBox(material, policy);
  t.teardown(() => box.close());
  send(box);
  const m = await box.next('rejected');
  if (!('rejected' in m) || !m.rejected) throw new Error('not a rejection');
  await box.ended;
  return { reason: m.rejected.reason ?? '', detail: m.rejected.detail ?? '' };
}

t.test('accepts a valid ticket and announces the session to the viewer side', async (t) => {
  const tk = ticket(Date.now());
  const box = new RawBox(world.boxTls, policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  const m = await box.next('accepted');
  t.equal('accepted' in m && m.accepted?.session_id, tk.sessionId);
  const info = relay.get(tk.sessionId);
  t.equal(info?.operatorKid, 'op-dupont');
  t.equal(info?.cameras.length, 2);
  t.equal((info?.expiresAtMs ?? 0) - (info?.openedAtMs ?? 0), 1200 * 1000, 'requested 1200s');
  box.send({ bye: { reason: 'close-command' } });
  await box.ended;
});

t.test('caps the ttl at the recipient maximum', async (t) => {
  const tk = ticket(Date.now(), { requestedTtlSec: 4 * 3600 });
  const box = new RawBox(world.boxTls, policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  await box.next('accepted');
  const info = relay.get(tk.sessionId);
  t.equal((info?.expiresAtMs ?? 0) - (info?.openedAtMs ?? 0), 3600 * 1000, 'csu-metz max 3600s');
  box.send({ bye: { reason: 'close-command' } });
  await box.ended;
});

t.test('refuses a box certificate from another CA at the TLS level', async (t) => {
  const other = await makePki(t);
  const foreign = await other.material(await other.issue({ kind: 'box', ...BORNY }));
  const tk = ticket(Date.now());
  const box = new RawBox(foreign, policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  const status = await box.ended;
  // TLS 1.3: the relay checks the client certificate after the client's Finished
  // and drops the connection; the box sees it end without a single message.
  t.match(status, /^(closed|error: )/, 'the connection ends at the handshake');
  t.equal(box.down.length, 0, 'not one message from the relay');
  t.equal(relay.get(tk.sessionId), undefined);
});

t.test('refuses a certificate of our PKI that is not a box (reason certificate)', async (t) => {
  const viewer = await world.pki.material(
    await world.pki.issue({ kind: 'person', displayName: 'Jeanne Dupont', role: 'viewer' }),
  );
  const tk = ticket(Date.now());
  const r = await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId), viewer);
  t.equal(r.reason, 'certificate');
});

t.test('refuses a ticket signed by an unknown key', async (t) => {
  const tk = ticket(Date.now(), {}, KEYS.intrus);
  t.equal((await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId))).reason, 'unknown-key');
});

t.test('refuses a ticket for another recipient', async (t) => {
  const tk = ticket(Date.now(), { recipient: 'dipn-57' });
  const r = await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId));
  t.equal(r.reason, 'recipient');
  t.match(r.detail, /dipn-57.*csu-metz/);
});

t.test('refuses an expired ticket (stale)', async (t) => {
  const tk = ticket(Date.now() - 10 * 60_000);
  t.equal((await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId))).reason, 'stale');
});

t.test('refuses a ticket replayed after its session closed', async (t) => {
  const tk = ticket(Date.now());
  const first = new RawBox(world.boxTls, policy);
  t.teardown(() => first.close());
  first.hello(tk.bytes, tk.sessionId);
  await first.next('accepted');
  first.send({ bye: { reason: 'close-command' } });
  await first.ended;
  const r = await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId));
  t.equal(r.reason, 'replay');
});

const cases: [string, string, () => { bytes: Buffer; sessionId: string; boxId?: string }][] = [
  [
    'a tampered signature',
    'signature',
    () => {
      const tk = ticket(Date.now());
      const env = JSON.parse(tk.bytes.toString('utf8')) as { sig: string };
      env.sig = (env.sig.startsWith('A') ? 'B' : 'A') + env.sig.slice(1);
      return { bytes: Buffer.from(JSON.stringify(env)), sessionId: tk.sessionId };
    },
  ],
  [
    'bytes that are no envelope',
    'malformed',
    () => ({ bytes: Buffer.from('not json'), sessionId: randomUUID() }),
  ],
  [
    'a signed close instead of an open',
    'not-an-open',
    () => {
      const id = randomUUID();
      return { bytes: sign(closeCommand(Date.now(), id)), sessionId: id };
    },
  ],
  [
    'a hello naming another session',
    'session-id',
    () => ({ bytes: ticket(Date.now()).bytes, sessionId: randomUUID() }),
  ],
  [
    'a hello naming another box than its certificate',
    'box',
    () => {
      const tk = ticket(Date.now());
      return { ...tk, boxId: 'box-patrotte-01' };
    },
  ],
  ['a ticket for another site', 'site', () => ticket(Date.now(), { siteId: 'patrotte-barres' })],
  [
    'a camera outside the annex',
    'camera-not-annexed',
    () => ticket(Date.now(), { cameras: ['cam-99'] }),
  ],
  [
    'a camera that is not transmissible',
    'camera-not-transmissible',
    () => ticket(Date.now(), { cameras: ['cam-03'] }),
  ],
  ['an operator key past its validity', 'key-not-valid', () => ticket(Date.now(), {}, KEYS.ancien)],
  ['an operator whose role may not open', 'role', () => ticket(Date.now(), {}, KEYS.chef)],
];

for (const [what, reason, make] of cases) {
  t.test(`refuses ${what} (${reason})`, async (t) => {
    const tk = make();
    const r = await refusal(t, (b) => b.hello(tk.bytes, tk.sessionId, tk.boxId));
    t.equal(r.reason, reason, r.detail);
  });
}

t.test('refuses a first message that is not a Hello (hello)', async (t) => {
  const r = await refusal(t, (b) =>
    b.send({ fragment: { camera: 'cam-01', seq: 1, keyframe: true, data: Buffer.alloc(8) } }),
  );
  t.equal(r.reason, 'hello');
});

t.test(
  'refuses a second tunnel for a live session from a different ticket (session-live)',
  async (t) => {
    const tk = ticket(Date.now());
    const first = new RawBox(world.boxTls, policy);
    t.teardown(() => first.close());
    first.hello(tk.bytes, tk.sessionId);
    await first.next('accepted');
    const other = ticket(Date.now(), { sessionId: tk.sessionId });
    const r = await refusal(t, (b) => b.hello(other.bytes, other.sessionId));
    t.equal(r.reason, 'session-live');
    first.send({ bye: { reason: 'close-command' } });
    await first.ended;
  },
);

t.test('refuses every ticket without a policy (policy-missing)', async (t) => {
  const bare = await startTestRelay(t, world, { policy: null });
  const tk = ticket(Date.now());
  const box = new RawBox(world.boxTls, bare.policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  const m = await box.next('rejected');
  t.equal('rejected' in m && m.rejected?.reason, 'policy-missing');
});

t.test('refuses past the session limit (session-limit)', async (t) => {
  const small = await startTestRelay(t, world, { limits: { maxSessions: 1 } });
  const a = ticket(Date.now());
  const first = new RawBox(world.boxTls, small.policy);
  t.teardown(() => first.close());
  first.hello(a.bytes, a.sessionId);
  await first.next('accepted');
  const b = ticket(Date.now());
  const second = new RawBox(world.boxTls, small.policy);
  t.teardown(() => second.close());
  second.hello(b.bytes, b.sessionId);
  const m = await second.next('rejected');
  t.equal('rejected' in m && m.rejected?.reason, 'session-limit');
  void port;
});
