import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { closeCommand, openCommand, sign } from '../agent/pipeline-fixtures.js';
import {
  childRelayConfig,
  command,
  freePort,
  killGroup,
  makeBox,
  spawnRelay,
  until,
} from '../agent/tunnel-fixtures.js';
import { makeRelayWorld } from './relay-fixtures.js';

t.test('the relay opens no file for writing while it carries a session (strace)', async (t) => {
  const world = await makeRelayWorld(t);
  const port = await freePort();
  const cfg = await childRelayConfig(t, world, port);
  const trace = path.join(cfg.dir, 'strace.txt');
  const { child } = await spawnRelay(t, cfg.file, [
    'strace',
    '-f',
    '-qq',
    '-e',
    'trace=openat,write',
    '-o',
    trace,
  ]);
  const box = makeBox(world, cfg.policy);
  t.teardown(() => box.manager.stop());
  const open = openCommand(Date.now());
  t.ok((await command(box, sign(open))).ok);
  const marker = Buffer.from('VIGIE-MEDIA-MARKER-');
  box.feeds.push(open.sessionId, 'cam-01', 0, true);
  for (let seq = 1; seq <= 50; seq++) {
    const sink = box.feeds.sinks.get(open.sessionId);
    sink?.fragment({
      camera: 'cam-01',
      seq,
      keyframe: seq === 1,
      data: Buffer.concat([marker, Buffer.alloc(20_000, seq)]),
    });
  }
  await command(box, sign(closeCommand(Date.now(), open.sessionId)));
  await until(() => box.transmitter.sessionIds.length === 0, 'closed');
  // strace is killed (its tracee dies with it): the trace holds everything up to now.
  const exited = once(child, 'exit');
  if (child.pid !== undefined) killGroup(child.pid);
  await exited;
  const text = await fs.readFile(trace, 'utf8');
  const writableOpens = text
    .split('\n')
    .filter((l) => /openat\(.*O_(WRONLY|RDWR|CREAT)/.test(l) && !/= -1 /.test(l))
    .filter((l) => !/"\/dev\//.test(l));
  t.same(writableOpens, [], 'no file opened for writing (only /dev entries allowed)');
  t.notOk(text.includes('VIGIE-MEDIA-MARKER'), 'no media byte in any write');
});
