/**
 * The process register-crash.test.ts kills: a register store ingesting one
 * box's chain as the ingest service would (remember the source, then batches
 * from lastAcked + 1, each closed by its head, a checkpoint after each),
 * printing "acked <seq>" after each durable batch and "done" at the end.
 * argv[2]: JSON { backend, chainFile, boxKeyPem, registerKeyPem }.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createRegisterStore,
  type RegisterBackendOptions,
} from '../../central/src/register/register-factory.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../protocol/src/journal-head.js';
import { identity } from './register-store-fixtures.js';

const BATCH = 5;

interface Args {
  readonly backend: RegisterBackendOptions;
  readonly chainFile: string;
  readonly boxKeyPem: string;
  readonly registerKeyPem: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const chain = JSON.parse(readFileSync(args.chainFile, 'utf8')) as {
  entries: JournalEntry[];
  heads: SignedHead[];
};
const boxKey = createPublicKey(args.boxKeyPem);
const store = createRegisterStore(args.backend, {
  registerKey: createPrivateKey(args.registerKeyPem),
  kid: 'register-1',
  clocks: { wallNowMs: () => Date.now() },
});
await store.open();
await store.rememberSource(identity('box-01', boxKey));
let from = (await store.lastAcked('box-01'))?.seq ?? 0;
while (from < chain.entries.length) {
  const entries = chain.entries.slice(from, from + BATCH);
  const head = chain.heads[from + entries.length - 1];
  const result = await store.ingest({ source: 'box-01', entries, head, boxKey });
  if (result.problems.length > 0) throw new Error(JSON.stringify(result.problems));
  await store.checkpoint();
  from = result.lastAcked?.seq ?? 0;
  process.stdout.write(`acked ${from}\n`);
}
await store.close();
process.stdout.write('done\n');
