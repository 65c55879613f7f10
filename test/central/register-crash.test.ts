/**
 * kill -9 at many points of an ingest: a child process (register-crash-child.ts
 * under tsx) ingests a box's chain batch by batch and is killed with SIGKILL
 * (by its pid) after a random number of acknowledged batches, so that the
 * kill lands anywhere in the next transaction. After each kill the register
 * is reopened: exactly one entry per (source, seq), no gap, verifyAll ok; the
 * next child resumes from lastAcked and the last one completes the chain.
 * SQLite, and PostgreSQL when it is there (required under CI).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import {
  createRegisterStore,
  type RegisterBackendOptions,
} from '../../central/src/register/register-factory.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import { p256Key, tempDir } from '../agent/journal-fixtures.js';
import {
  boxChain,
  postgresRequired,
  postgresUnavailable,
  registerKey,
  TestClock,
  testPgUrl,
} from './register-store-fixtures.js';

const KILLS = 20;
const ENTRIES = 600;
const CHILD_MS = 15_000;
const child = path.join(import.meta.dirname, 'register-crash-child.ts');

const boxKey = p256Key();
const chain = boxChain(t, ENTRIES, { key: boxKey });
const chainFile = path.join(tempDir(t, 'vigie-crash-'), 'chain.json');
writeFileSync(chainFile, JSON.stringify(chain));

/** Runs the child until its `killAfter`-th ack (then SIGKILL by pid) or its end; bounded. */
function runChild(backend: RegisterBackendOptions, killAfter: number | null): Promise<string> {
  const arg = JSON.stringify({
    backend,
    chainFile,
    boxKeyPem: boxKey.publicKey.export({ type: 'spki', format: 'pem' }),
    registerKeyPem: registerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
  });
  const proc = spawn(process.execPath, ['--import=tsx', child, arg], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let acks = 0;
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      if (proc.pid) process.kill(proc.pid, 'SIGKILL');
      reject(new Error(`child still running after ${CHILD_MS} ms: ${err}`));
    }, CHILD_MS);
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      acks = (out.match(/^acked /gm) ?? []).length;
      if (killAfter !== null && acks >= killAfter && proc.pid && proc.exitCode === null) {
        process.kill(proc.pid, 'SIGKILL');
      }
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' || code === 0) resolve(out);
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

async function checkAfterCrash(
  t: Test,
  backend: RegisterBackendOptions,
  round: string,
): Promise<number> {
  const store = createRegisterStore(backend, {
    registerKey: registerKey.privateKey,
    kid: 'register-1',
    clocks: new TestClock(),
  });
  await store.open();
  try {
    const stored: JournalEntry[] = [];
    for await (const e of store.entries({ sources: ['box-01'] })) stored.push(e);
    const genuine = stored.every((e, i) => e.seq === i + 1 && e.hash === chain.entries[i]?.hash);
    const report = await store.verifyAll();
    if (!genuine || !report.ok) {
      t.fail(`${round}: ${stored.length} entries, genuine ${genuine}`, {
        problems: report.problems,
      });
    }
    t.same(
      await store.lastAcked('box-01'),
      stored.length ? { seq: stored.length, hash: stored[stored.length - 1]?.hash } : null,
    );
    return stored.length;
  } finally {
    await store.close();
  }
}

async function crashSuite(t: Test, backend: RegisterBackendOptions): Promise<void> {
  let kills = 0;
  let stored = 0;
  for (let round = 0; round < KILLS; round++) {
    await runChild(backend, 1 + ((round * 7) % 4));
    kills++;
    const now = await checkAfterCrash(t, backend, `after kill ${round + 1}`);
    t.ok(now >= stored, 'nothing acknowledged is lost');
    stored = now;
  }
  const out = await runChild(backend, null);
  t.match(out, /done/, 'the box resumed from lastAcked and completed the chain');
  t.equal(await checkAfterCrash(t, backend, 'at the end'), ENTRIES);
  t.equal(kills, KILLS);
}

void t.test(
  'sqlite: kill -9 during ingest leaves one entry per seq, no gap, a valid register',
  async (t) => {
    const file = path.join(tempDir(t, 'vigie-crash-'), 'register.db');
    await crashSuite(t, { backend: 'sqlite', file });
  },
);

void t.test(
  'postgres: kill -9 during ingest leaves one entry per seq, no gap, a valid register',
  async (t) => {
    const url = testPgUrl();
    const unavailable = await postgresUnavailable(url);
    if (unavailable !== null) {
      if (postgresRequired()) t.fail(`PostgreSQL is required here and unreachable: ${unavailable}`);
      else t.plan(0, `PostgreSQL unreachable (${unavailable})`);
      return;
    }
    const schema = `vigie_t_crash_${process.pid}`;
    t.teardown(async () => {
      const admin = new pg.Client({ connectionString: url as string });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    await crashSuite(t, { backend: 'postgres', url: url as string, schema });
  },
);
