/**
 * Child process for the durability test (not a test file): appends entries to
 * the journal in argv[2] and prints each seq once `append` has returned, until
 * it is killed. The private key comes as PKCS#8 PEM on VIGIE_TEST_KEY.
 */
import { createPrivateKey, randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import { SqliteJournal } from '../../agent/src/journal/index.js';

const file = process.argv[2];
const pem = process.env.VIGIE_TEST_KEY;
if (!file || !pem) throw new Error('usage: journal-append-child.ts FILE (key in VIGIE_TEST_KEY)');
const journal = new SqliteJournal({
  file,
  source: 'box-01',
  bootId: randomUUID(),
  signingKey: createPrivateKey(pem),
  clocks: { wallNowMs: () => Date.now() },
});
journal.open();
for (let i = 0; ; i++) {
  const entry = journal.append('tick', { i });
  // Synchronous write: the parent learns of the append only after it returned.
  writeSync(1, `${entry.seq}\n`);
}
