/**
 * The tunnel's framing (protocol/src/tunnel-wire.ts): messages survive any
 * chunking, a frame over the bound ends the connection before it is buffered,
 * garbage ends it with a clean error, and the keepalive both sends and
 * notices silence.
 */
import { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import fc from 'fast-check';
import t from 'tap';
import type { TunnelDownIn, TunnelUp, TunnelUpIn } from '../../protocol/src/tunnel-proto.js';
import { mediaTunnelService } from '../../protocol/src/tunnel-proto.js';
import {
  boxCodec,
  fragmentParts,
  readFragment,
  relayCodec,
  TunnelStream,
} from '../../protocol/src/tunnel-wire.js';

class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  writable = true;
  destroyed = false;
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  getPeerX509Certificate(): undefined {
    return undefined;
  }
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    return true;
  }
  end(): void {
    this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writable = false;
    this.emit('close');
  }
}

const asTls = (s: FakeSocket): tls.TLSSocket => s as unknown as tls.TLSSocket;

/** What a box writes for these messages, as bytes on the wire. */
function wire(messages: TunnelUp[]): Buffer {
  const socket = new FakeSocket();
  const box = new TunnelStream<TunnelDownIn, TunnelUp>(asTls(socket), boxCodec(), undefined, {
    keepaliveMs: 0,
  });
  for (const m of messages) box.write(m);
  return Buffer.concat(socket.written);
}

function relayOver(socket: FakeSocket, maxFrameBytes?: number) {
  const got: TunnelUpIn[] = [];
  const errors: string[] = [];
  const relay = new TunnelStream(asTls(socket), relayCodec(), undefined, {
    keepaliveMs: 0,
    ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
  });
  relay.on('data', (m) => got.push(m));
  relay.on('error', (e) => errors.push(e.message));
  return { relay, got, errors };
}

const fragmentArb = fc.record({
  camera: fc.constantFrom('cam-01', 'cam-02'),
  seq: fc.integer({ min: 1, max: 1_000_000 }),
  keyframe: fc.boolean(),
  data: fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((a) => Buffer.from(a)),
});
const messageArb: fc.Arbitrary<TunnelUp> = fc.oneof(
  fragmentArb.map((fragment) => ({ fragment })),
  fc.constantFrom('close-command', 'ttl-expired').map((reason) => ({ bye: { reason } })),
  fc.constant({ keepalive: {} }),
);

t.test('any chunking of the wire gives back the same messages (property)', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        (messages, cuts) => {
          const bytes = wire(messages);
          const socket = new FakeSocket();
          const { got, errors } = relayOver(socket);
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            socket.emit('data', bytes.subarray(at, at + n));
            at += n;
          }
          if (errors.length > 0 || got.length !== messages.length) return false;
          return messages.every((m, i) => {
            const g = got[i];
            if (g === undefined) return false;
            if ('fragment' in m) {
              const f = 'fragment' in g ? g.fragment : undefined;
              return (
                f?.camera === m.fragment.camera &&
                Number(f.seq) === m.fragment.seq &&
                (f.keyframe ?? false) === m.fragment.keyframe &&
                Buffer.compare(f.data ?? Buffer.alloc(0), m.fragment.data) === 0
              );
            }
            if ('bye' in m) return 'bye' in g && g.bye?.reason === m.bye.reason;
            return 'keepalive' in g;
          });
        },
      ),
      { numRuns: 300 },
    ),
  );
});

t.test(
  "the hand-written fragment encoding is protobufjs's, byte for byte (property)",
  async (t) => {
    const serialize = mediaTunnelService().Session?.requestSerialize;
    if (!serialize) throw new Error('no Session method');
    const big = fc.record({
      camera: fc.string({ minLength: 1, maxLength: 80 }),
      seq: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat()),
      keyframe: fc.boolean(),
      data: fc.uint8Array({ minLength: 0, maxLength: 20_000 }).map((a) => Buffer.from(a)),
    });
    t.doesNotThrow(() =>
      fc.assert(
        fc.property(big, (fragment) => {
          const [head, data] = fragmentParts(fragment);
          const ours = Buffer.concat([head.subarray(4), data]);
          return (
            Buffer.compare(ours, serialize({ fragment })) === 0 &&
            head.readUInt32BE(0) === ours.length
          );
        }),
        { numRuns: 500 },
      ),
    );
  },
);

t.test("the relay's hand-written fragment reader agrees with protobufjs (property)", async (t) => {
  const method = mediaTunnelService().Session;
  if (!method) throw new Error('no Session method');
  const arb = fc.record({
    camera: fc.string({ maxLength: 40 }),
    seq: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat()),
    keyframe: fc.boolean(),
    data: fc.uint8Array({ maxLength: 5000 }).map((a) => Buffer.from(a)),
  });
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(arb, fc.boolean(), (fragment, viaProtobufjs) => {
        const bytes = viaProtobufjs
          ? method.requestSerialize({ fragment })
          : Buffer.concat(fragmentParts(fragment)).subarray(4);
        const ours = readFragment(bytes);
        const theirs = (method.requestDeserialize(bytes) as { fragment: typeof fragment }).fragment;
        return (
          (ours.camera ?? '') === (theirs.camera ?? '') &&
          (ours.seq ?? 0) === Number(theirs.seq ?? 0) &&
          (ours.keyframe ?? false) === (theirs.keyframe ?? false) &&
          Buffer.compare(ours.data ?? Buffer.alloc(0), theirs.data ?? Buffer.alloc(0)) === 0
        );
      }),
      { numRuns: 500 },
    ),
  );
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
          const bytes = Buffer.concat([Buffer.from([0x1a]), Buffer.from(raw)]);
          try {
            const f = readFragment(bytes);
            return f.data === undefined || f.data.length <= bytes.length;
          } catch (err) {
            return err instanceof Error;
          }
        }),
        { numRuns: 2000 },
      ),
    'garbage after the fragment tag: a clean Error or a bounded result',
  );
});

t.test('large fragments reach the relay as the pieces they came in, never joined', async (t) => {
  const sizes = [40_000, 65_536, 300_000];
  const fragments = sizes.map((n, i) => ({
    camera: 'cam-02',
    seq: i + 1,
    keyframe: i === 0,
    data: Buffer.alloc(n, i + 1),
  }));
  const bytes = wire(fragments.map((fragment) => ({ fragment })));
  for (const [cut, label] of [
    [16_384, '16 KiB reads'],
    [7, '7-byte reads: heads cut, joined and read as usual'],
  ] as const) {
    const socket = new FakeSocket();
    const { got, errors } = relayOver(socket);
    for (let at = 0; at < bytes.length; at += cut)
      socket.emit('data', bytes.subarray(at, at + cut));
    t.same(errors, [], label);
    t.equal(got.length, fragments.length, label);
    got.forEach((m, i) => {
      const f = 'fragment' in m ? m.fragment : undefined;
      const data = f?.data;
      const joined = Buffer.isBuffer(data) ? data : Buffer.concat(data ?? []);
      t.equal(
        Buffer.compare(joined, fragments[i]?.data ?? Buffer.alloc(0)),
        0,
        `${label}: data ${i}`,
      );
      t.equal(f?.seq, i + 1);
      if (cut === 16_384) t.ok(Array.isArray(data), `${label}: kept as pieces`);
    });
  }
});

t.test('a frame over the bound ends the connection before it is buffered', async (t) => {
  const socket = new FakeSocket();
  const { got, errors } = relayOver(socket, 1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(0xffff_fff0, 0); // 4 GiB announced
  socket.emit('data', header);
  t.same(got, []);
  t.match(errors, [/tunnel frame of 4294967280 bytes exceeds 1024/]);
  t.ok(socket.destroyed, 'the connection is dropped');
});

t.test('garbage ends the connection with a clean error, never a throw', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 400 }), (raw) => {
        const socket = new FakeSocket();
        const { errors } = relayOver(socket, 256);
        socket.emit('data', Buffer.from(raw));
        return errors.every((e) => /exceeds 256|malformed tunnel message/.test(e));
      }),
      { numRuns: 500 },
    ),
  );
  const socket = new FakeSocket();
  const { errors } = relayOver(socket);
  const bad = Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]);
  socket.emit('data', bad);
  t.same(errors, ['malformed tunnel message']);
  t.ok(socket.destroyed);
});

t.test('a message too large to send is refused at the sender', async (t) => {
  const socket = new FakeSocket();
  const box = new TunnelStream<TunnelDownIn, TunnelUp>(asTls(socket), boxCodec(), undefined, {
    keepaliveMs: 0,
    maxFrameBytes: 100,
  });
  t.throws(
    () => box.write({ fragment: { camera: 'c', seq: 1, keyframe: true, data: Buffer.alloc(200) } }),
    RangeError,
  );
  t.same(socket.written, [], 'nothing half-written');
});

t.test('keepalive: sent when idle, and silence drops the connection', async (t) => {
  const socket = new FakeSocket();
  const box = new TunnelStream<TunnelDownIn, TunnelUp>(
    asTls(socket),
    boxCodec(),
    {
      keepalive: {},
    },
    { keepaliveMs: 60 },
  );
  // The stream's own timer does not hold the process open (unref): this bound does.
  const guard = setTimeout(() => box.destroy(new Error('test bound')), 5_000);
  t.teardown(() => clearTimeout(guard));
  const failed = new Promise<string>((resolve) => box.on('error', (e) => resolve(e.message)));
  const closed = new Promise<void>((resolve) => box.on('close', resolve));
  // Within 3 x 60 ms of silence, it keeps alive, then gives up.
  t.match(await failed, /nothing received for \d+ ms/);
  await closed;
  t.ok(socket.written.length >= 2, 'keepalives were sent while waiting');
  const again = new FakeSocket();
  const { got } = relayOver(again);
  again.emit('data', Buffer.concat(socket.written));
  t.ok(got.length >= 1 && got.every((m) => 'keepalive' in m), 'they are keepalive messages');
});
