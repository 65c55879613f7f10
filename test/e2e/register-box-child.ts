/**
 * Child process for the register crash test (not a test file): a box that
 * appends an entry every few milliseconds (argv[3] of them, then idles) and
 * forwards its journal with the real outbox. Prints one JSON line per event
 * (appended, connected, sent, ack) so that the parent can kill it, or the
 * register, at a chosen step. Its settings come as JSON in VIGIE_TEST_BOX.
 */
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync, writeSync } from 'node:fs';
import { loadTlsMaterial } from '../../certs/src/tls-profile.js';
import { Logger } from '../../lib/src/log.js';
import { journalFileIn, SqliteJournal, SqliteKeyValues } from '../../agent/src/journal/index.js';
import { RegisterOutbox } from '../../agent/src/register/outbox.js';

interface BoxSettings {
  boxId: string;
  dataDir: string;
  tls: { caFile: string; certFile: string; keyFile: string; crlFile: string };
  address: string;
  registerPubFile: string;
  kid: string;
}

const settings = JSON.parse(process.env.VIGIE_TEST_BOX ?? '{}') as BoxSettings;
const appendCount = Number(process.argv[2] ?? '0');
const say = (event: string, seq: unknown): void => {
  // Synchronous: the parent learns of a step only once it happened.
  writeSync(1, `${JSON.stringify({ event, seq })}\n`);
};

const tls = await loadTlsMaterial(settings.tls);
const key = createPrivateKey(tls.key);
const file = journalFileIn(settings.dataDir);
const bootId = randomUUID();
const journal = new SqliteJournal({
  file,
  source: settings.boxId,
  bootId,
  signingKey: key,
  clocks: { wallNowMs: () => Date.now() },
});
journal.open();
const kv = new SqliteKeyValues({ file });
kv.open();
const outbox = new RegisterOutbox({
  config: {
    address: settings.address,
    serverName: '127.0.0.1',
    publicKeyFile: settings.registerPubFile,
    kid: settings.kid,
    batchEntries: 7,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    responseTimeoutMs: 5000,
    backlogHighWater: 1_000_000,
    minFreeDiskPercent: 0,
  },
  source: settings.boxId,
  bootId,
  journal,
  kv,
  tls,
  signingKey: key,
  registerKey: createPublicKey(readFileSync(settings.registerPubFile, 'utf8')),
  dataDir: settings.dataDir,
  wallNowMs: () => Date.now(),
  log: new Logger('box', { level: 'error' }),
  onAlarm: (code, _severity, detail) => say(`alarm ${code} ${detail}`, null),
  onJournal: (type, data) => void journal.append(type, data),
});
for (const event of ['connected', 'sent', 'ack', 'halt', 'nack']) {
  outbox.events.on(event, (value: unknown) => say(event, value));
}
outbox.start();
let appended = 0;
// Paced appends: the load a box produces, not a wait for an outcome.
const pace = setInterval(() => {
  if (appended >= appendCount) {
    clearInterval(pace);
    return;
  }
  appended++;
  say('appended', journal.append('test.tick', { appended }).seq);
}, 3);
