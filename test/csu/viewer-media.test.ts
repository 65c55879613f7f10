import t from 'tap';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { Logger } from '../../lib/src/log.js';
import { MediaBridge, closeReasonLabel } from '../../csu/src/viewer/media-bridge.js';
import { FakeLiveSessions, sessionInfo } from './viewer-helpers/fake-live-sessions.js';
import { splitFmp4, testMedia } from './viewer-helpers/fmp4.js';

/** A socket that never drains: bufferedAmount is whatever the test says. */
class StuckSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: (string | Buffer)[] = [];
  closedWith: number | null = null;
  send(data: string | Buffer): void {
    this.sent.push(data);
    if (Buffer.isBuffer(data)) this.bufferedAmount += data.length;
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = 3;
    this.emit('close');
  }
}

function bridge(live: FakeLiveSessions, socket: StuckSocket, maxBufferedBytes = 1000) {
  return new MediaBridge({
    socket: socket as unknown as WebSocket,
    live,
    sessionId: 'sess-0001',
    camera: 'cam-hall',
    viewer: { id: 'agent-dupont', name: 'Brigadier Dupont' },
    maxBufferedBytes,
    log: new Logger('test', { sink: { write: () => undefined } }),
  });
}

t.test('sends the init segment with its mime first, then fragments', async (t) => {
  const media = await testMedia();
  const live = new FakeLiveSessions(media);
  live.open(sessionInfo());
  const socket = new StuckSocket();
  t.ok(bridge(live, socket, 64 * 1024 * 1024).start());
  live.push('sess-0001', 'cam-hall', media.fragments[0]!);
  t.same(JSON.parse(socket.sent[0] as string), { type: 'init', mime: media.mime });
  t.equal(socket.sent[1], media.init);
  t.equal(socket.sent[2], media.fragments[0]);
});

t.test('drops fragments past the buffer limit until the next keyframe', async (t) => {
  const live = new FakeLiveSessions(null);
  live.open(sessionInfo());
  const socket = new StuckSocket();
  const b = bridge(live, socket, 1000);
  b.start();
  const frag = (n: number) => Buffer.alloc(600, n);
  live.push('sess-0001', 'cam-hall', frag(1), true); // 600 buffered
  live.push('sess-0001', 'cam-hall', frag(2), false); // 1200 buffered
  live.push('sess-0001', 'cam-hall', frag(3), false); // over: dropped
  live.push('sess-0001', 'cam-hall', frag(4), true); // still over: dropped
  socket.bufferedAmount = 0; // the viewer caught up
  live.push('sess-0001', 'cam-hall', frag(5), false); // not a keyframe: still dropped
  live.push('sess-0001', 'cam-hall', frag(6), true); // keyframe: resumes
  live.push('sess-0001', 'cam-hall', frag(7), false);
  t.same(
    socket.sent.map((d) => (d as Buffer)[0]),
    [1, 2, 6, 7],
  );
  t.equal(b.droppedFragments, 3);
});

t.test('tells the page why the session ended, in French, and unsubscribes', async (t) => {
  const live = new FakeLiveSessions(null);
  live.open(sessionInfo());
  const socket = new StuckSocket();
  bridge(live, socket).start();
  t.equal(live.subscriptions.size, 1);
  live.close('sess-0001', 'ttl-expired');
  t.same(JSON.parse(socket.sent.at(-1) as string), {
    type: 'end',
    reason: 'ttl-expired',
    label: 'durée autorisée écoulée',
  });
  t.equal(socket.closedWith, 1000);
  t.equal(live.subscriptions.size, 0);
  t.equal(live.listenerCount, 0, 'no onChange listener left behind');
});

t.test('the viewer leaving unsubscribes (the leave reaches LiveSessions)', async (t) => {
  const live = new FakeLiveSessions(null);
  live.open(sessionInfo());
  const socket = new StuckSocket();
  bridge(live, socket).start();
  socket.close(1001);
  t.equal(live.leaves.length, 1);
  t.equal(live.listenerCount, 0);
});

t.test('refuses a camera that is not live', async (t) => {
  const live = new FakeLiveSessions(null);
  live.open(sessionInfo());
  const socket = new StuckSocket();
  const b = new MediaBridge({ ...bridge(live, socket).options, camera: 'cam-elsewhere' });
  t.notOk(b.start());
  t.match(JSON.parse(socket.sent[0] as string), { type: 'end', reason: 'not-live' });
  t.equal(live.listenerCount, 0);
});

t.test('close reasons have French labels; unknown ones pass through', async (t) => {
  t.equal(
    closeReasonLabel('intervention-ended'),
    "fin de l'intervention des forces de sécurité intérieure",
  );
  t.equal(closeReasonLabel('toString'), 'toString');
  t.equal(closeReasonLabel('something-new'), 'something-new');
});

t.test('the box splitter refuses a truncated box', async (t) => {
  t.throws(() => splitFmp4(Buffer.from([0, 0, 0, 64, 0x6d, 0x6f, 0x6f, 0x66])));
});
