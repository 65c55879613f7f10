/**
 * The building's lifecycle contract: start and stop are idempotent, stop
 * before or during start is safe, ports are released on stop, and invalid
 * options are refused with the values in the message.
 */
import net from 'node:net';
import t from 'tap';
import { isVigieError } from '../../lib/src/errors.js';
import { Logger } from '../../lib/src/log.js';
import { SimulatedBuilding, type SimulatedBuildingOptions } from '../../sim/src/building.js';

const log = new Logger('sim', { sink: { write: () => undefined } });

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

t.test('start and stop twice are safe, and stop releases every port', async (t) => {
  const b = new SimulatedBuilding({ cameras: 3, discovery: { port: 0 }, log });
  await Promise.all([b.start(), b.start()]);
  t.equal(b.cameras.length, 3, 'a second start does not add cameras');
  const ports = b.cameras.map((c) => c.httpPort);
  for (const p of ports) t.notOk(await refused(p), `port ${p} listens`);
  await Promise.all([b.stop('one'), b.stop('two')]);
  await b.stop('three');
  for (const p of ports) t.ok(await refused(p), `port ${p} released`);
});

t.test('stop before start, and stop during start, leave nothing listening', async (t) => {
  const never = new SimulatedBuilding({ cameras: 1, log });
  await never.stop('before-start');
  await t.rejects(never.start(), /start after stop/);
  const b = new SimulatedBuilding({ cameras: 4, discovery: { port: 0 }, log });
  const starting = b.start();
  await b.stop('during-start');
  await starting;
  for (const c of b.cameras) t.ok(await refused(c.httpPort), `${c.identity.id} not left listening`);
});

t.test('invalid options are refused with the values', async (t) => {
  const cases: [SimulatedBuildingOptions, RegExp][] = [
    [{ cameras: 0 }, /cameras: 0 is not a whole number from 1 to 256/],
    [
      { cameras: 2, h265Only: [3] },
      /h265Only: camera 3 does not exist \(cameras are numbered 1 to 2\)/,
    ],
    [{ cameras: 4, httpPortBase: 65534 }, /httpPortBase: 65534 \+ 4 cameras/],
  ];
  for (const [options, message] of cases) {
    const b = new SimulatedBuilding({ ...options, discovery: false, log });
    t.teardown(() => b.stop());
    const err = await b.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(isVigieError(err, 'config-invalid'));
    t.match((err as Error).message, message);
  }
});
