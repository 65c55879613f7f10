/**
 * `vigie sim --help` says what the command does, where the credentials go and
 * that multicast is off unless asked; bad values are refused with the value.
 */
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import t from 'tap';
import { registerSimCommands, toBuildingOptions } from '../../sim/src/cli.js';
import { runSim } from '../../sim/src/main-sim.js';

function program(out: string[]): Command {
  const p = new Command('vigie').exitOverride();
  p.configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  registerSimCommands(p);
  for (const c of p.commands)
    c.exitOverride().configureOutput({
      writeOut: (s) => out.push(s),
      writeErr: (s) => out.push(s),
    });
  return p;
}

t.test('vigie sim --help is clear', async (t) => {
  const out: string[] = [];
  await t.rejects(program(out).parseAsync(['node', 'vigie', 'sim', '--help']), CommanderError);
  const help = out.join('');
  for (const needle of [
    'Usage: vigie sim',
    '--cameras <n>',
    '--credentials <file>',
    'mode 0600',
    '--h265-only <list>',
    '--rtsp-port <port>',
    '--multicast',
    'network namespace only',
    'Without --multicast nothing is sent to or received from a multicast group',
    'docs/sim.md',
    'vigie sim --cameras 4',
  ])
    t.ok(help.includes(needle), `help mentions ${needle}`);
});

t.test('bad values are refused with the value in the message', async (t) => {
  const out: string[] = [];
  await t.rejects(
    program(out).parseAsync(['node', 'vigie', 'sim', '--cameras', '0']),
    CommanderError,
  );
  t.match(out.join(''), /0 is not a whole number from 1 to 256/);
  const out2: string[] = [];
  await t.rejects(
    program(out2).parseAsync(['node', 'vigie', 'sim', '--cameras', '2', '--h265-only', 'x']),
    CommanderError,
  );
  t.match(out2.join(''), /x is not a comma-separated list/);
});

t.test('by default the last camera is the H.265-only one and multicast is off', async (t) => {
  const base = {
    cameras: 4,
    seed: 'vigie',
    host: '127.0.0.1',
    httpPortBase: 0,
    rtspPort: 8554,
    credentials: 'c.json',
    discovery: true,
    discoveryPort: 3702,
    multicast: false,
  };
  const o = toBuildingOptions(base);
  t.same(o.h265Only, [4]);
  t.same(o.discovery, { port: 3702, multicast: false, announceTo: undefined });
  t.same(toBuildingOptions({ ...base, h265Only: 'none' }).h265Only, []);
  t.equal(toBuildingOptions({ ...base, discovery: false }).discovery, false);
});

t.test('vigie sim runs until SIGTERM, prints the cameras but never a password', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vigie-sim-cli-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const credentials = path.join(dir, 'cams.json');
  const signals = new EventEmitter();
  const out: string[] = [];
  const logLines: string[] = [];
  let passwords: string[] = [];
  const base = toBuildingOptions({
    cameras: 3,
    seed: 'cli-test',
    host: '127.0.0.1',
    httpPortBase: 0,
    rtspPort: 0, // the stream server binds an ephemeral port; GetStreamUri names it
    credentials,
    discovery: true,
    discoveryPort: 3702,
    multicast: false,
  });
  const done = runSim(
    { ...base, discovery: { port: 0 } },
    {
      signals,
      out: { write: (s: string) => out.push(s) },
      logSink: { write: (l) => logLines.push(l) },
      onReady: (b) => {
        passwords = b.cameras.map((c) => c.credentials.password);
        signals.emit('SIGTERM', 'SIGTERM');
      },
    },
  );
  await done;
  const printed = out.join('');
  t.match(printed, /vigie sim: 3 cameras, WS-Discovery on 127\.0\.0\.1:\d+ \(unicast only\)/);
  t.match(printed, /cam-03 +http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service +h265-only/);
  t.equal(passwords.length, 3);
  for (const p of passwords) {
    t.notOk(printed.includes(p), 'password not printed');
    t.notOk(logLines.join('').includes(p), 'password not logged');
  }
  t.equal((await fs.stat(credentials)).mode & 0o777, 0o600);
  t.equal(signals.listenerCount('SIGTERM'), 0, 'signal handlers removed after stop');
});
