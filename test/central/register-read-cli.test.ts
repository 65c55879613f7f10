import Database from 'better-sqlite3';
import { Command } from 'commander';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { registerReadCommands } from '../../central/src/register/read/cli.js';
import {
  purgeAccessLog,
  listTransmissions,
  type ReadContext,
} from '../../central/src/register/read/read-actions.js';
import { findTransmissions, parsePeriod } from '../../central/src/register/read/queries.js';
import { ACCESS_LOG_RETENTION_MS } from '../../central/src/register/register-port.js';
import { SqliteRegisterStore } from '../../central/src/register/register-store.js';
import { tempDir } from '../agent/journal-fixtures.js';
import { FakeBox, MemoryRegisterStore } from './register-read-fixture.js';

const registerKey = generateKeyPairSync('ed25519');

/** A SQLite register in a temp dir fed with genuine chains, and its key file (mode 0600). */
async function sqliteRegister(t: Test): Promise<{ file: string; keyFile: string; ids: string[] }> {
  const dir = tempDir(t, 'vigie-register-read-');
  const file = path.join(dir, 'register.sqlite');
  const keyFile = path.join(dir, 'register-1.key');
  writeFileSync(keyFile, registerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const ids = [
    box.session({ start: '2026-11-29T10:00:00.000Z', cameras: ['cam-01', 'cam-02'] }),
    box.session({ start: '2026-11-29T15:00:00.000Z', cameras: ['cam-03'], recipient: 'dipn-57' }),
  ];
  const store = new SqliteRegisterStore({
    file,
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: { wallNowMs: () => Date.now() },
  });
  await store.open();
  await box.feed(store, 'ab'.repeat(32));
  await store.checkpoint();
  await store.close();
  return { file, keyFile, ids };
}

/** Runs `vigie register ...args` in-process; returns what it printed (or throws its error). */
async function run(args: string[]): Promise<string> {
  const program = new Command('vigie').exitOverride();
  const register = program.command('register').exitOverride();
  registerReadCommands(register);
  for (const c of register.commands) c.exitOverride();
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  };
  try {
    await program.parseAsync(['node', 'vigie', 'register', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return printed.join('');
}

async function accessLogOf(file: string): Promise<{ action: string; detail: string }[]> {
  const store = new SqliteRegisterStore({
    file,
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: { wallNowMs: () => Date.now() },
  });
  await store.open();
  try {
    return await store.accessLog({});
  } finally {
    await store.close();
  }
}

void t.test('list, show and sources read a SQLite register and are recorded', async (t) => {
  const { file, keyFile, ids } = await sqliteRegister(t);
  const db = ['--db', file, '--key', keyFile];
  const list = await run(['list', ...db, '--from', '2026-11-29', '--to', '2026-11-29']);
  t.match(list, /Ouverture\s+Site\s+Caméras\s+Destinataire/);
  t.match(list, /2026-11-29 11:00 \(UTC\+01:00\)\s+borny-hauts\s+cam-01,cam-02\s+csu-metz/);
  t.match(list, '2 transmission(s)');
  const json = JSON.parse(await run(['list', ...db, '--camera', 'cam-03', '--json'])) as {
    key: string;
  }[];
  t.same(
    json.map((r) => r.key),
    [ids[1]],
  );
  const show = await run(['show', ids[0] ?? '', ...db, '--lang', 'en']);
  t.match(show, /Status\s+closed/);
  t.match(show, /Timeline:/);
  t.match(show, 'session.open-accepted');
  const sources = await run(['sources', ...db]);
  t.match(sources, /box-borny-01\s+borny-hauts\s+6/);
  const log = await accessLogOf(file);
  t.same(
    log.map((r) => r.action),
    ['consult', 'consult', 'consult', 'consult'],
  );
  t.match(log[0]?.detail, /^list from=2026-11-29 to=2026-11-29/);
  t.match(log[2]?.detail, `show ${ids[0]}`);
  await t.rejects(run(['show', 'nope', ...db]), { code: 'session-not-found' });
  t.end();
});

void t.test('export needs why and to whom, writes once, and is recorded', async (t) => {
  const { file, keyFile } = await sqliteRegister(t);
  const out = path.join(path.dirname(file), 'registre.csv');
  const args = ['export', '--db', file, '--key', keyFile, '--format', 'csv', '--out', out];
  await t.rejects(run([...args, '--to-whom', 'CNIL']), {
    code: 'config-invalid',
    message: /give --why/,
  });
  t.notOk(existsSync(out), 'no file');
  t.same(await accessLogOf(file), [], 'nothing recorded for a refused export');
  const printed = await run([...args, '--why', 'contrôle', '--to-whom', 'CNIL']);
  t.match(printed, /2 ligne\(s\)/);
  t.match(readFileSync(out, 'utf8'), /^\uFEFFSession,Site,Caméras/);
  await t.rejects(run([...args, '--why', 'contrôle', '--to-whom', 'CNIL']), {
    code: 'file-exists',
  });
  const log = await accessLogOf(file);
  t.match(log[0], {
    action: 'export',
    why: 'contrôle',
    toWhom: 'CNIL',
    cameras: ['cam-01', 'cam-02', 'cam-03'],
  });
  t.end();
});

void t.test('verify says where the register was altered and fails', async (t) => {
  const { file, keyFile } = await sqliteRegister(t);
  const db = ['--db', file, '--key', keyFile];
  t.match(await run(['verify', ...db]), /register verified/);
  const raw = new Database(file);
  const triggers = raw
    .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    .pluck()
    .all();
  for (const name of triggers) raw.exec(`DROP TRIGGER ${name}`);
  raw
    .prepare("UPDATE entries SET data = ? WHERE source = 'box-borny-01' AND seq = 2")
    .run('{"sessionId":"forged"}');
  raw.close();
  await t.rejects(run(['verify', ...db]), {
    code: 'register-broken',
    message: /box-borny-01 seq 2: hash-mismatch/,
  });
  t.end();
});

void t.test('one of --config or --db, and --db needs the key', async (t) => {
  await t.rejects(run(['list']), { code: 'config-invalid', message: /exactly one of --config/ });
  await t.rejects(run(['list', '--db', '/nonexistent.sqlite']), { message: /--db needs --key/ });
  t.end();
});

function context(store: MemoryRegisterStore, now: Date, out: string[]): ReadContext {
  return { store, who: 'dpo@emh', now: () => now, out: (text) => void out.push(text) };
}

void t.test('the access is recorded before anything is shown', async (t) => {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  box.session({ start: '2026-11-29T10:00:00.000Z' });
  const store = new MemoryRegisterStore();
  store.load(box);
  let recordedFirst = false;
  const ctx: ReadContext = {
    store,
    who: 'dpo@emh',
    now: () => new Date(),
    out: () => void store.accessLog({}).then((log) => (recordedFirst = log.length === 1)),
  };
  await listTransmissions(ctx, { lang: 'fr' });
  await Promise.resolve();
  t.ok(recordedFirst);
  t.end();
});

void t.test(
  'purge-access-log removes only what is older than three years, with a record',
  async (t) => {
    let nowMs = Date.parse('2023-01-01T00:00:00Z');
    const store = new MemoryRegisterStore({ wallNowMs: () => nowMs });
    await store.recordAccess({
      who: 'a',
      action: 'consult',
      why: '',
      toWhom: '',
      cameras: [],
      detail: 'old',
    });
    nowMs = Date.parse('2025-06-01T00:00:00Z');
    await store.recordAccess({
      who: 'b',
      action: 'consult',
      why: '',
      toWhom: '',
      cameras: [],
      detail: 'recent',
    });
    nowMs = Date.parse('2026-11-29T12:00:00Z');
    const out: string[] = [];
    await purgeAccessLog(context(store, new Date(nowMs), out));
    t.same(
      (await store.accessLog({})).map((r) => r.detail),
      ['recent'],
    );
    const [purge] = await store.purges();
    t.match(purge, { removed: 1, who: 'dpo@emh', beforeMs: nowMs - ACCESS_LOG_RETENTION_MS });
    t.match(out[0], /^1 entrée\(s\) du journal des accès antérieures au 2023-11-29/);
    t.end();
  },
);

void t.test('the SQLite store answers the period queries as the port says', async (t) => {
  const dir = tempDir(t, 'vigie-register-read-');
  const a = new FakeBox('box-borny-01', 'borny-hauts');
  const b = new FakeBox('box-patrotte-01', 'patrotte-barres');
  a.session({ start: '2026-11-28T22:50:00.000Z', closeAfterSec: 1200 });
  b.session({ start: '2026-11-28T21:00:00.000Z', closeAfterSec: 3 * 3600 + 3000 });
  a.session({ start: '2026-11-28T20:00:00.000Z', closeAfterSec: 600 });
  b.session({ start: '2026-11-29T10:00:00.000Z', failed: true });
  a.session({ start: '2026-11-29T22:50:00.000Z', closeAfterSec: 1800 });
  b.session({ start: '2026-11-30T10:00:00.000Z', closeAfterSec: null });
  const memory = new MemoryRegisterStore();
  const sqlite = new SqliteRegisterStore({
    file: path.join(dir, 'register.sqlite'),
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: { wallNowMs: () => Date.now() },
  });
  await sqlite.open();
  t.teardown(() => sqlite.close());
  for (const box of [a, b]) {
    memory.load(box);
    await box.feed(sqlite, 'cd'.repeat(32));
  }
  for (const [from, to] of [
    ['2026-11-29', '2026-11-29'],
    ['2026-11-29T00:10', '2026-11-29T00:20'],
    ['2026-11-30', undefined],
  ] as const) {
    const period = parsePeriod(from, to);
    t.same(
      await findTransmissions(sqlite, { period }),
      await findTransmissions(memory, { period }),
      `${from} → ${to ?? '…'}`,
    );
  }
  t.same(await findTransmissions(sqlite), await findTransmissions(memory), 'no period');
  t.end();
});
