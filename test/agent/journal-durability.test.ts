import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { verifyJournalFile } from '../../agent/src/journal/index.js';
import { journalFileIn } from '../../agent/src/journal/journal-database.js';
import { openJournal, p256Key, tempDir } from './journal-fixtures.js';

const key = p256Key();
const KILL_AFTER_SEQ = 40;

/**
 * Runs the appending child and SIGKILLs it right after seq `killAfterSeq` was
 * reported, calling `whileRunning` on each reported seq before that; returns
 * the last seq seen.
 */
async function appendThenKill(
  file: string,
  killAfterSeq = KILL_AFTER_SEQ,
  whileRunning: (seq: number) => void = () => undefined,
): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(import.meta.dirname, 'journal-append-child.ts'), file],
    {
      env: {
        ...process.env,
        VIGIE_TEST_KEY: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let reported = 0;
  let buffered = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) reported = Math.max(reported, Number(line));
    if (reported >= killAfterSeq) child.kill('SIGKILL');
    else whileRunning(reported);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(timer);
  if (signal !== 'SIGKILL') {
    throw new Error(`child ended with ${signal ?? `exit code ${code}`}: ${stderr.slice(-2000)}`);
  }
  return reported;
}

void t.test('every append reported before a SIGKILL is there after restart', async (t) => {
  const dir = tempDir(t);
  const file = journalFileIn(dir);
  const reported = await appendThenKill(file);
  t.ok(reported >= KILL_AFTER_SEQ, `child reported seq ${reported}`);

  const journal = openJournal(t, key, { dir });
  const last = journal.lastEntry();
  t.ok(last && last.seq >= reported, `journal holds seq ${last?.seq} >= reported ${reported}`);
  t.match(journal.lastHead(), { seq: last?.seq, hash: last?.hash }, 'head committed with it');
  const next = journal.append('agent.started', {});
  t.equal(next.seq, (last?.seq ?? 0) + 1, 'the chain continues after the crash');
  t.equal(next.prevHash, last?.hash);
  journal.close();
  t.match(verifyJournalFile(file, key.publicKey), { ok: true, lastSeq: next.seq });
});

void t.test(
  'verify of a journal the agent is appending to sees one consistent snapshot',
  async (t) => {
    const file = journalFileIn(tempDir(t));
    const reports: ReturnType<typeof verifyJournalFile>[] = [];
    let nextCheck = 5000; // past one verify page (4096 rows): the walk spans several queries
    await appendThenKill(file, 9000, (seq) => {
      if (seq < nextCheck) return;
      nextCheck = seq + 1000;
      reports.push(verifyJournalFile(file, key.publicKey));
    });
    t.ok(reports.length >= 2, `${reports.length} verifications while appending`);
    for (const report of reports) {
      t.match(report, { ok: true, break: null }, `verified through seq ${report.lastSeq}`);
    }
  },
);
