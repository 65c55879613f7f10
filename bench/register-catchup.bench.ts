/**
 * Issue 6's catch-up figure: 1,000 boxes, each with a backlog of 1,000
 * journal entries after an outage, reconnect (jittered over a second, as
 * their backoff spreads them) to ONE register process (`vigie register serve`,
 * SQLite, mTLS) and send everything. Each box is a distinct source with its
 * own box certificate (the register takes the source from the certificate);
 * this process holds all the client streams, one TLS connection each, and
 * plays the outbox's protocol: Hello, Resume, batches closed by a signed head,
 * Ack then Checkpoint.
 *
 * Prints: time to catch up, entries/s (durable: each Ack follows the store's
 * commit), the register's peak RSS (VmHWM) and RSS at the end. Bounded in
 * time (VIGIE_BENCH_CATCHUP_SEC, default 600): past it, partial figures.
 * Sizes: VIGIE_BENCH_BOXES (1000), VIGIE_BENCH_ENTRIES (1000), batch 500;
 * VIGIE_BENCH_REGISTER_FLAGS: node flags of the register process.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { initPki } from '../certs/src/pki-init.js';
import { issueCertificate } from '../certs/src/pki-issue.js';
import { pkiPaths } from '../certs/src/pki-layout.js';
import { loadTlsMaterial, type TlsMaterial } from '../certs/src/tls-profile.js';
import { openIngest } from '../agent/src/register/register-client.js';
import { appendEntry, type JournalEntry } from '../protocol/src/journal-entry.js';
import { signHead } from '../protocol/src/journal-head.js';
import { entryToWire, headToWire } from '../protocol/src/register-proto.js';

const BOXES = Number(process.env.VIGIE_BENCH_BOXES ?? 1000);
const ENTRIES = Number(process.env.VIGIE_BENCH_ENTRIES ?? 1000);
const BATCH = 500;
const BUDGET_MS = Number(process.env.VIGIE_BENCH_CATCHUP_SEC ?? 600) * 1000;
const ANSWER_MS = 120_000;
const ROOT = path.resolve(import.meta.dirname, '..');
/** Node flags of the register process, e.g. `--max-old-space-size=256` to see what is garbage. */
const REGISTER_FLAGS = (process.env.VIGIE_BENCH_REGISTER_FLAGS ?? '').split(' ').filter(Boolean);

const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-catchup-bench-'));

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
}

async function makePki(): Promise<{ paths: ReturnType<typeof pkiPaths>; boxes: string[] }> {
  const paths = pkiPaths(path.join(dir, 'pki'));
  await initPki({ dir: paths.dir });
  const issue = (request: Parameters<typeof issueCertificate>[0]['request'], name: string) =>
    issueCertificate({ dir: paths.dir, request, outDir: path.join(dir, name) });
  await issue({ kind: 'service', name: 'register', dns: [], ips: ['127.0.0.1'] }, 'register');
  const boxes: string[] = [];
  for (let i = 0; i < BOXES; i++) {
    const boxId = `box-${String(i).padStart(4, '0')}`;
    await issue({ kind: 'box', siteId: 'site-bench', boxId }, boxId);
    boxes.push(boxId);
  }
  return { paths, boxes };
}

async function startRegister(paths: ReturnType<typeof pkiPaths>): Promise<{
  pid: number;
  port: number;
  stop: () => Promise<void>;
}> {
  const key = generateKeyPairSync('ed25519').privateKey;
  const keyFile = path.join(dir, 'register.key');
  writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const configFile = path.join(dir, 'register.yaml');
  writeFileSync(
    configFile,
    toYaml({
      listen: { host: '127.0.0.1', port: 0 },
      tls: {
        caFile: paths.caBundle,
        certFile: path.join(dir, 'register', 'chain.pem'),
        keyFile: path.join(dir, 'register', 'key.pem'),
        crlFile: paths.crlBundle,
      },
      signing: { keyFile, kid: 'register-bench' },
      dataDir: path.join(dir, 'register-data'),
      logLevel: 'warn',
    }),
  );
  const child = spawn(
    process.execPath,
    [
      ...REGISTER_FLAGS,
      '--import=tsx',
      'cli/src/main.ts',
      'register',
      'serve',
      '--config',
      configFile,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('the register did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /ingest listening on [^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error('the register exited before listening')));
  });
  return {
    pid,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}

interface BoxState {
  readonly boxId: string;
  readonly material: TlsMaterial;
  readonly key: KeyObject;
}

/** One box's catch-up: its whole backlog in batches, each awaited (Ack, Checkpoint). */
async function catchUp(box: BoxState, port: number, deadline: number): Promise<number> {
  const conn = openIngest({
    address: `127.0.0.1:${port}`,
    serverName: '127.0.0.1',
    tls: box.material,
  });
  const bootId = randomUUID();
  let prev: JournalEntry | null = null;
  let sent = 0;
  try {
    await conn.send({
      hello: { source: box.boxId, boot_id: bootId, last_local_seq: ENTRIES, known_tree_size: 0 },
    });
    const resume = await conn.next(ANSWER_MS);
    if (!resume.resume) throw new Error(`${box.boxId}: no Resume`);
    while (sent < ENTRIES && Date.now() < deadline) {
      const n = Math.min(BATCH, ENTRIES - sent);
      for (let i = 0; i < n; i += 64) {
        const chunk: JournalEntry[] = [];
        for (let j = i; j < Math.min(n, i + 64); j++) {
          prev = appendEntry(prev, {
            source: box.boxId,
            time: new Date(Date.UTC(2026, 10, 1) + (prev?.seq ?? 0) * 1000).toISOString(),
            bootId,
            type: 'session.opened',
            data: {
              sessionId: `s-${sent + j}`,
              cameras: ['cam-01', 'cam-02'],
              recipient: 'csu-metz',
            },
          });
          chunk.push(prev);
        }
        // As the outbox does: 64 entries per message, and a turn of the event loop between.
        await conn.send({ entries: { entries: chunk.map(entryToWire) } });
        await new Promise(setImmediate);
      }
      const last = prev as JournalEntry;
      const head = signHead({ source: box.boxId, seq: last.seq, hash: last.hash }, box.key);
      await conn.send({ head: headToWire(head) });
      const ack = await conn.next(ANSWER_MS);
      if (!ack.ack) throw new Error(`${box.boxId}: ${JSON.stringify(ack.nack ?? ack)}`);
      await conn.next(ANSWER_MS); // the checkpoint
      sent += n;
    }
    return sent;
  } finally {
    conn.close();
  }
}

async function main(): Promise<void> {
  const setupStart = performance.now();
  const { paths, boxes } = await makePki();
  const states: BoxState[] = [];
  for (const boxId of boxes) {
    const material = await loadTlsMaterial({
      caFile: paths.caBundle,
      certFile: path.join(dir, boxId, 'chain.pem'),
      keyFile: path.join(dir, boxId, 'key.pem'),
      crlFile: paths.crlBundle,
    });
    states.push({ boxId, material, key: createPrivateKey(material.key) });
  }
  const register = await startRegister(paths);
  console.log(
    `setup: ${BOXES} box certificates and the register in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
  );
  const idleRssMb = procStatusKb(register.pid, 'VmRSS') / 1024;
  let rssPeakSampleMb = idleRssMb;
  const sampler = setInterval(() => {
    rssPeakSampleMb = Math.max(rssPeakSampleMb, procStatusKb(register.pid, 'VmRSS') / 1024);
  }, 250);
  const start = performance.now();
  const deadline = Date.now() + BUDGET_MS;
  let failures = 0;
  const results = await Promise.all(
    states.map(async (box) => {
      // The outage ends for everyone at once; their jittered backoff spreads them over ~1 s.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
      return catchUp(box, register.port, deadline).catch((err: unknown) => {
        failures++;
        if (failures <= 3) console.error(`box failed: ${String(err)}`);
        return 0;
      });
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const entries = results.reduce((a, b) => a + b, 0);
  const peakMb = procStatusKb(register.pid, 'VmHWM') / 1024;
  const endMb = procStatusKb(register.pid, 'VmRSS') / 1024;
  await register.stop();
  const complete = entries === BOXES * ENTRIES;
  console.log(
    [
      `register catch-up: ${BOXES} boxes x ${ENTRIES} entries, batches of ${BATCH}, one register (SQLite, mTLS)`,
      `  ${complete ? 'caught up' : `INCOMPLETE (${failures} boxes failed or budget over)`}: ${entries} entries in ${seconds.toFixed(1)} s`,
      `  ${Math.round(entries / seconds)} entries/s durable (each Ack after the store's commit)`,
      `  register RSS: ${idleRssMb.toFixed(0)} MB idle, peak ${peakMb.toFixed(0)} MB (VmHWM; sampled ${rssPeakSampleMb.toFixed(0)} MB), ${endMb.toFixed(0)} MB at the end`,
    ].join('\n'),
  );
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
