/**
 * kill -9 of the box and of the register (`vigie register serve`, a child
 * process) at each step of an append and of its ingest: appended but not
 * sent, head sent but not acknowledged, acknowledged; connected, mid-batch,
 * right after an Ack. After the restarts the register holds exactly one entry
 * per seq, no gap, and has caught up with the box. Every wait ends on a line
 * printed by a child (an event that happened) or a bounded timeout; only the
 * pids started here are killed.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../certs/helpers.js';
import {
  makeRegisterWorld,
  REGISTER_KID,
  type BoxFixture,
  type RegisterWorld,
} from '../central/register-ingest-fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LINE_WAIT_MS = 20_000;

interface Proc {
  readonly pid: number;
  /** The first line from now on that matches, or rejects on exit or after the bound. */
  line(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  kill9(): Promise<void>;
  terminate(): Promise<void>;
}

function start(t: Test, args: string[], env: Record<string, string> = {}): Proc {
  const child: ChildProcess = spawn(process.execPath, ['--import=tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  let err = '';
  let pending = '';
  const waiters = new Set<(line: string | null) => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) for (const w of [...waiters]) w(line);
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const w of [...waiters]) w(null);
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (alive()) process.kill(pid, signal);
    await exited;
  };
  t.teardown(() => kill('SIGKILL'));
  return {
    pid,
    line(match, timeoutMs = LINE_WAIT_MS) {
      return new Promise<string>((resolve, reject) => {
        const waiter = (line: string | null): void => {
          if (line !== null && !match(line)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          if (line === null) reject(new Error(`${args[0]} exited:\n${err}`));
          else resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no expected line from ${args[0]} within ${timeoutMs} ms:\n${err}`));
        }, timeoutMs);
        waiters.add(waiter);
        if (!alive()) waiter(null);
      });
    },
    kill9: () => kill('SIGKILL'),
    terminate: () => kill('SIGTERM'),
  };
}

async function startRegisterChild(t: Test, configFile: string): Promise<Proc> {
  const proc = start(t, ['cli/src/main.ts', 'register', 'serve', '--config', configFile]);
  await proc.line((l) => l.includes('ingest listening'));
  return proc;
}

function startBoxChild(
  t: Test,
  world: RegisterWorld,
  box: BoxFixture,
  port: number,
  appends: number,
): Proc {
  const settings = {
    boxId: box.boxId,
    dataDir: box.dataDir,
    tls: {
      caFile: world.pki.paths.caBundle,
      certFile: path.join(box.leafDir, 'chain.pem'),
      keyFile: path.join(box.leafDir, 'key.pem'),
      crlFile: world.pki.paths.crlBundle,
    },
    address: `127.0.0.1:${port}`,
    registerPubFile: world.registerPubFile,
    kid: REGISTER_KID,
  };
  return start(t, ['test/e2e/register-box-child.ts', String(appends)], {
    VIGIE_TEST_BOX: JSON.stringify(settings),
  });
}

const event =
  (name: string) =>
  (line: string): boolean =>
    line.startsWith(`{"event":"${name}"`);
const seqOf = (line: string): number => Number((JSON.parse(line) as { seq: unknown }).seq);

/** Who is killed, after which step of the box's outbox. */
const STEPS: ['box' | 'register', string][] = [
  ['box', 'appended'],
  ['box', 'sent'],
  ['box', 'ack'],
  ['register', 'connected'],
  ['register', 'sent'],
  ['register', 'ack'],
  ['box', 'sent'],
  ['register', 'sent'],
];

t.test(
  'kill -9 of the box and of the register at each step: one entry per seq, no gap, caught up',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const port = await freePort();
    const dataDir = path.join(world.dir, 'register-data');
    const configFile = await world.configFile(dataDir, { listen: { host: '127.0.0.1', port } });
    const box = await world.box('borny-hauts', 'box-borny-01');
    let register = await startRegisterChild(t, configFile);
    let boxProc = startBoxChild(t, world, box, port, 40);
    for (const [victim, step] of STEPS) {
      await boxProc.line(event(step));
      if (victim === 'box') {
        await boxProc.kill9();
        boxProc = startBoxChild(t, world, box, port, 40);
      } else {
        await register.kill9();
        register = await startRegisterChild(t, configFile);
      }
    }
    // A last append: once it is acknowledged, everything before it is in the register.
    await boxProc.kill9();
    boxProc = startBoxChild(t, world, box, port, 1);
    const last = seqOf(await boxProc.line(event('appended')));
    await boxProc.line((l) => event('ack')(l) && seqOf(l) >= last, 60_000);
    await boxProc.kill9();
    await register.terminate();

    const db = new Database(path.join(dataDir, 'register.sqlite'), { readonly: true });
    t.teardown(() => db.close());
    const seqs = db
      .prepare<[string], number>('SELECT seq FROM entries WHERE source = ? ORDER BY seq')
      .pluck()
      .all(box.boxId);
    t.ok(last > 40, `the box appended across its restarts (last seq ${last})`);
    t.same(
      seqs,
      Array.from({ length: last }, (_, i) => i + 1),
      'exactly one entry per seq, 1..last',
    );
    const conflicts = db
      .prepare("SELECT count(*) FROM evidence WHERE reason = 'seq-conflict'")
      .pluck()
      .get();
    t.equal(conflicts, 0, 'no resend ever conflicted');
  },
);
