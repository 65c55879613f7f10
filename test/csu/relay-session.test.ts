import t from 'tap';
import type { MediaSubscriber } from '../../csu/src/live-sessions.js';
import { extendCommand } from '../agent/pipeline-fixtures.js';
import {
  ManualTime,
  RawBox,
  makeRelayWorld,
  sign,
  startTestRelay,
  ticket,
} from './relay-fixtures.js';

const world = await makeRelayWorld(t);

function recorder(buffered = () => 0) {
  const got: string[] = [];
  const sub: MediaSubscriber = {
    init: (camera) => got.push(`init:${camera}`),
    fragment: (camera, seq, keyframe) => got.push(`${camera}:${seq}${keyframe ? 'K' : ''}`),
    end: (reason) => got.push(`end:${reason}`),
    bufferedBytes: buffered,
  };
  return { got, sub };
}

const frag = (seq: number, keyframe: boolean, size = 100) => ({
  fragment: { camera: 'cam-01', seq, keyframe, data: Buffer.alloc(size, seq) },
});
const viewer = { id: 'v-1', name: 'Jeanne Dupont' };

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

t.test('cuts a misbehaving box at expiry, whatever it keeps sending', async (t) => {
  const time = new ManualTime(Date.now());
  const { relay, policy } = await startTestRelay(t, world, { time });
  const tk = ticket(time.wall, { requestedTtlSec: 60 });
  const box = new RawBox(world.boxTls, policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  await box.next('accepted');
  box.send({ init: { camera: 'cam-01', mime: 'video/mp4', data: Buffer.alloc(10) } });
  box.send(frag(1, true));
  const { got, sub } = recorder();
  await until(() => relay.subscribe(tk.sessionId, 'cam-01', viewer, sub) !== null || true, 'x');
  await until(() => got.includes('cam-01:1K'), 'late join gets the keyframe');
  time.advance(59_000);
  t.ok(relay.get(tk.sessionId), 'still live a second before');
  time.advance(1_000);
  const close = await box.next('close');
  t.equal('close' in close && close.close?.reason, 'ttl-expired');
  t.equal(await box.ended, 'closed', 'the relay ended the tunnel');
  box.send(frag(2, true));
  t.equal(relay.get(tk.sessionId), undefined);
  t.equal(got.at(-1), 'end:ttl-expired');
  t.notOk(got.includes('cam-01:2K'), 'nothing after expiry reaches a viewer');
  t.equal(relay.heldBytes, 0, 'every byte let go');
});

t.test('a verified extension moves the relay deadline', async (t) => {
  const time = new ManualTime(Date.now());
  const { relay, policy } = await startTestRelay(t, world, { time });
  const tk = ticket(time.wall, { requestedTtlSec: 60 });
  const box = new RawBox(world.boxTls, policy);
  t.teardown(() => box.close());
  box.hello(tk.bytes, tk.sessionId);
  await box.next('accepted');
  box.send({ extend: { command: sign(extendCommand(time.wall, tk.sessionId, 120)) } });
  await until(() => (relay.get(tk.sessionId)?.expiresAtMs ?? 0) > time.wall + 100_000, 'extend');
  time.advance(90_000);
  t.ok(relay.get(tk.sessionId), 'live past the first deadline');
  time.advance(30_000);
  const close = await box.next('close');
  t.equal('close' in close && close.close?.reason, 'ttl-expired');
});

t.test('a redial of the same ticket is accepted before the deadline, never after', async (t) => {
  const time = new ManualTime(Date.now());
  const { relay, policy } = await startTestRelay(t, world, { time });
  const tk = ticket(time.wall, { requestedTtlSec: 60 });
  const first = new RawBox(world.boxTls, policy);
  first.hello(tk.bytes, tk.sessionId);
  await first.next('accepted');
  first.close(); // the tunnel drops without Bye
  await until(() => time.pending >= 2, 'the relay arms its redial grace');
  const second = new RawBox(world.boxTls, policy);
  t.teardown(() => second.close());
  second.hello(tk.bytes, tk.sessionId);
  await second.next('accepted');
  t.ok(relay.get(tk.sessionId), 'same session');
  second.close();
  await until(() => time.pending >= 2, 'grace armed again');
  time.advance(60_000);
  t.equal(relay.get(tk.sessionId), undefined, 'closed at the deadline');
  const third = new RawBox(world.boxTls, policy);
  t.teardown(() => third.close());
  third.hello(tk.bytes, tk.sessionId);
  const m = await third.next('rejected');
  t.equal('rejected' in m && m.rejected?.reason, 'replay');
});

t.test(
  'late joiners get init and the current GOP; a slow viewer drops to the next keyframe',
  async (t) => {
    const { relay, policy } = await startTestRelay(t, world);
    const tk = ticket(Date.now());
    const box = new RawBox(world.boxTls, policy);
    t.teardown(() => box.close());
    box.hello(tk.bytes, tk.sessionId);
    await box.next('accepted');
    const watcher = recorder();
    const unsub = relay.subscribe(tk.sessionId, 'cam-01', viewer, watcher.sub);
    t.ok(unsub);
    await box.next('viewer_joined');
    box.send({ init: { camera: 'cam-01', mime: 'video/mp4', data: Buffer.alloc(10) } });
    for (const [seq, k] of [
      [1, true],
      [2, false],
      [3, true],
      [4, false],
    ] as const)
      box.send(frag(seq, k));
    await until(() => watcher.got.includes('cam-01:4'), 'live fragments');
    const late = recorder();
    relay.subscribe(tk.sessionId, 'cam-01', viewer, late.sub);
    t.same(
      late.got,
      ['init:cam-01', 'cam-01:3K', 'cam-01:4'],
      'init, then the GOP from the last keyframe',
    );
    let backlog = 10 * 1024 * 1024;
    const slow = recorder(() => backlog);
    relay.subscribe(tk.sessionId, 'cam-01', viewer, slow.sub);
    box.send(frag(5, false));
    box.send(frag(6, true));
    await until(() => watcher.got.includes('cam-01:6K'), 'fragment 6');
    backlog = 0;
    box.send(frag(7, false));
    box.send(frag(8, true));
    await until(() => watcher.got.includes('cam-01:8K'), 'fragment 8');
    t.notOk(slow.got.includes('cam-01:7'), 'no fragment before a keyframe after falling behind');
    t.ok(slow.got.includes('cam-01:8K'), 'resumes at the keyframe');
    unsub?.();
    await box.next('viewer_left');
    t.ok(relay.interventionOver(tk.sessionId, viewer, 'fin'));
    const over = await box.next('intervention_over');
    t.equal('intervention_over' in over && over.intervention_over?.note, 'fin');
    box.send({ bye: { reason: 'intervention-ended' } });
    await box.ended;
    t.equal(slow.got.at(-1), 'end:intervention-ended', 'a viewer still watching is ended');
  },
);
