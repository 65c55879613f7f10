import { once } from 'node:events';
import t from 'tap';
import type { MediaSubscriber } from '../../csu/src/live-sessions.js';
import { closeCommand, openCommand, sign } from './pipeline-fixtures.js';
import { makeRelayWorld, startTestRelay } from '../csu/relay-fixtures.js';
import {
  childRelayConfig,
  command,
  freePort,
  makeBox,
  spawnRelay,
  until,
} from './tunnel-fixtures.js';

const world = await makeRelayWorld(t);

t.test(
  'opens on the relay acceptance, carries media, closes with Bye and leaves nothing',
  async (t) => {
    const { relay, policy } = await startTestRelay(t, world);
    const box = makeBox(world, policy);
    t.teardown(() => box.manager.stop());
    const open = openCommand(Date.now());
    const result = await command(box, sign(open));
    t.ok(result.ok, 'opened');
    t.equal(box.journal.ofType('session.opened').length, 1, 'opened journaled after acceptance');
    const got: string[] = [];
    const sub: MediaSubscriber = {
      init: (c) => got.push(`init:${c}`),
      fragment: (c, seq, k) => got.push(`${c}:${seq}${k ? 'K' : ''}`),
      end: (r) => got.push(`end:${r}`),
    };
    t.ok(relay.subscribe(open.sessionId, 'cam-01', { id: 'v1', name: 'Jeanne' }, sub));
    await until(
      () => box.journal.ofType('session.viewer-joined').length === 1,
      'viewer joined journaled',
    );
    box.feeds.push(open.sessionId, 'cam-01', 0, true);
    box.feeds.push(open.sessionId, 'cam-01', 1, true);
    box.feeds.push(open.sessionId, 'cam-01', 2, false);
    await until(() => got.includes('cam-01:2'), 'fragments at the relay');
    t.same(got, ['init:cam-01', 'cam-01:1K', 'cam-01:2']);
    await command(box, sign(closeCommand(Date.now(), open.sessionId)));
    await until(
      () => got.includes('end:close-command'),
      'the relay ends the viewer with the box reason',
    );
    t.equal(relay.get(open.sessionId), undefined);
    t.same(box.transmitter.sessionIds, [], 'no tunnel left');
    t.equal(box.feeds.closed, 1, 'feeds closed');
  },
);

t.test('a relay refusal closes the session before it is journaled as opened', async (t) => {
  const { policy } = await startTestRelay(t, world);
  const box = makeBox(world, policy);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now(), { recipient: 'dipn-57' });
  const result = await command(box, sign(open));
  t.equal(result.ok, false);
  t.match(box.journal.ofType('session.open-failed')[0]?.data, {
    reason: 'relay-rejected',
    detail: /^recipient/,
  });
  t.equal(box.journal.ofType('session.opened').length, 0);
  t.same(box.transmitter.sessionIds, []);
});

t.test('intervention over from a viewer closes the session with intervention-ended', async (t) => {
  const { relay, policy } = await startTestRelay(t, world);
  const box = makeBox(world, policy);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now());
  await command(box, sign(open));
  t.ok(
    relay.interventionOver(open.sessionId, { id: 'v1', name: 'Jeanne' }, 'interpellation faite'),
  );
  await until(() => box.journal.ofType('session.closed').length === 1, 'closed');
  t.match(box.journal.ofType('session.closed')[0]?.data, { reason: 'intervention-ended' });
  t.equal(box.journal.ofType('session.intervention-over').length, 1);
  await until(() => relay.get(open.sessionId) === undefined, 'relay let go');
});

t.test('back-pressure drops fragments to the next keyframe and counts them', async (t) => {
  const { relay, policy } = await startTestRelay(t, world);
  const box = makeBox(world, policy);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now());
  await command(box, sign(open));
  const seen: string[] = [];
  relay.subscribe(
    open.sessionId,
    'cam-01',
    { id: 'v1', name: 'J' },
    {
      init: () => undefined,
      fragment: (_c, seq, k) => seen.push(`${seq}${k ? 'K' : ''}`),
      end: () => undefined,
    },
  );
  box.feeds.push(open.sessionId, 'cam-01', 0, true);
  // A burst far faster than any link: 400 fragments of 256 KiB in one tick.
  for (let seq = 1; seq <= 400; seq++)
    box.feeds.push(open.sessionId, 'cam-01', seq, seq % 25 === 1, 256 * 1024);
  const drops = box.transmitter.drops(open.sessionId)['cam-01'] ?? 0;
  t.ok(drops > 0, `dropped ${drops}`);
  // Keyframes keep coming, as from a camera; once the stream drains one gets through.
  let seq = 401;
  await until(() => {
    box.feeds.push(open.sessionId, 'cam-01', seq++, true, 1000);
    return seen.some((s) => Number.parseInt(s, 10) > 400);
  }, 'a keyframe after the burst');
  // After any gap, the relay's next fragment is a keyframe.
  for (let i = 1; i < seen.length; i++) {
    const prev = Number.parseInt(seen[i - 1] ?? '0', 10);
    const cur = seen[i] ?? '';
    if (Number.parseInt(cur, 10) !== prev + 1)
      t.ok(cur.endsWith('K'), `resumed at ${cur} after ${prev}`);
  }
  await command(box, sign(closeCommand(Date.now(), open.sessionId)));
  t.match(box.journal.ofType('session.media-drops')[0]?.data, { dropped: { 'cam-01': Number } });
});

t.test('a burst within the send budget (a warm group of pictures) goes out whole', async (t) => {
  const { relay, policy } = await startTestRelay(t, world);
  const box = makeBox(world, policy);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now());
  await command(box, sign(open));
  const seen: number[] = [];
  relay.subscribe(
    open.sessionId,
    'cam-01',
    { id: 'v1', name: 'J' },
    { init: () => undefined, fragment: (_c, seq) => seen.push(seq), end: () => undefined },
  );
  box.feeds.push(open.sessionId, 'cam-01', 0, true);
  // 20 fragments of 64 KiB in one tick (1.25 MiB, under MAX_QUEUED_BYTES): every write
  // "fills" the 16 KiB socket mark, none may be dropped.
  for (let seq = 1; seq <= 20; seq++)
    box.feeds.push(open.sessionId, 'cam-01', seq, seq === 1, 64 * 1024);
  t.equal(box.transmitter.drops(open.sessionId)['cam-01'] ?? 0, 0, 'nothing dropped');
  await until(() => seen.length === 20, 'the whole burst at the relay');
  t.same(
    seen,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
});

t.test(
  'kill -9 of the relay: the box closes within its grace and journals tunnel-lost',
  async (t) => {
    const port = await freePort();
    const cfg = await childRelayConfig(t, world, port);
    const { child } = await spawnRelay(t, cfg.file);
    const box = makeBox(world, cfg.policy, 1_500);
    t.teardown(() => box.manager.stop());
    const open = openCommand(Date.now());
    t.ok((await command(box, sign(open))).ok);
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await once(child, 'exit');
    await until(() => box.journal.ofType('session.closed').length === 1, 'closed', 10_000);
    const tookMs = performance.now() - killedAt;
    t.match(box.journal.ofType('session.closed')[0]?.data, { reason: 'tunnel-lost' });
    t.ok(tookMs < 1_500 + 1_000, `closed ${tookMs.toFixed(0)} ms after the kill (grace 1500 ms)`);
    t.same(box.transmitter.sessionIds, []);
  },
);

t.test('a relay back within the grace takes the redial with the same session id', async (t) => {
  const port = await freePort();
  const cfg = await childRelayConfig(t, world, port);
  const first = await spawnRelay(t, cfg.file);
  const box = makeBox(world, cfg.policy, 8_000);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now());
  t.ok((await command(box, sign(open))).ok);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  await spawnRelay(t, cfg.file);
  await until(() => box.journal.ofType('session.tunnel-redialed').length === 1, 'redialed', 8_000);
  t.equal(box.journal.ofType('session.closed').length, 0, 'still open');
  t.ok(box.transmitter.connected(open.sessionId));
});
