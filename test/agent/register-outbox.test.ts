/**
 * The box's outbox against a real register on loopback (mTLS, SQLite store):
 * resends change nothing, order and duplicates do not matter, an outage loses
 * nothing, a register that rewrites history is caught by the box, and a
 * journal tampered on the box is refused by the register at the right seq and
 * detected by `vigie journal verify` too. Every wait ends on an event or a
 * bounded timeout.
 */
import type Database from 'better-sqlite3';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import t from 'tap';
import { verifyJournalFile } from '../../agent/src/journal/index.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import { signHead } from '../../protocol/src/journal-head.js';
import { entryToWire, headToWire } from '../../protocol/src/register-proto.js';
import { freePort } from '../certs/helpers.js';
import {
  makeRegisterWorld,
  rawIngest,
  REGISTER_KID,
  startRegister,
  TEST_BOOT_ID,
  type BoxFixture,
  type RegisterWorld,
} from '../central/register-ingest-fixtures.js';
import { rechain, resignHeads, swapEntries, tamper } from './journal-fixtures.js';
import { append, eventWhere, lastSeq, startOutbox, WAIT_MS } from './register-outbox-fixtures.js';
import { promises as fs } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { registerResume } from '../../agent/src/register/register-resume-command.js';
import { closeSession, openSession } from '../../central/src/console/op-actions.js';
import { BORNY, makeWorld, readJournal, startAgent, startEmbeddedCentral } from '../e2e/harness.js';

/** An agent.yaml for this box as `vigie agent register-resume` reads it. */
function agentConfigFor(world: RegisterWorld, box: BoxFixture, port: number): object {
  const tls = {
    caFile: world.pki.paths.caBundle,
    certFile: path.join(box.leafDir, 'chain.pem'),
    keyFile: path.join(box.leafDir, 'key.pem'),
    crlFile: world.pki.paths.crlBundle,
  };
  return {
    siteId: 'borny-hauts',
    boxId: box.boxId,
    dataDir: box.dataDir,
    broker: { url: 'mqtts://127.0.0.1:8883', servername: '127.0.0.1' },
    tls,
    admin: { kid: 'admin-emh', publicKeyFile: world.registerPubFile },
    register: {
      address: `127.0.0.1:${port}`,
      serverName: '127.0.0.1',
      publicKeyFile: world.registerPubFile,
      kid: REGISTER_KID,
    },
  };
}

t.test(
  'the outbox sends the backlog in batches and new entries promptly; a whole resend changes nothing',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const reg = await startRegister(t, await world.configFile());
    const box = await world.box('borny-hauts', 'box-borny-01');
    const backlog = append(box, 130);
    const { outbox } = startOutbox(t, world, box, reg.port);
    await eventWhere<number>(outbox.events, 'ack', (seq) => seq === 130);
    append(box, 3);
    await eventWhere<number>(outbox.events, 'ack', (seq) => seq === lastSeq(box));
    const before = await reg.server.store.counts();
    t.equal(before.entries, 133);
    t.equal(box.kv().registerCheckpoint()?.seq, 133, 'the last Ack is kept on the box');
    t.equal(box.kv().registerTreeHead()?.kid, REGISTER_KID, 'and the last checkpoint');

    // The whole outbox again, as one more stream would send it: counts unchanged.
    const all = [...box.journal().entries(1)];
    const conn = rawIngest(t, box.material, reg.port);
    await conn.send({
      hello: { source: box.boxId, boot_id: TEST_BOOT_ID, last_local_seq: 133, known_tree_size: 0 },
    });
    await conn.next(WAIT_MS);
    for (let i = 0; i < all.length; i += 50) {
      const batch = all.slice(i, i + 50);
      for (const e of batch) await conn.send({ entry: entryToWire(e) });
      const last = batch[batch.length - 1] as JournalEntry;
      await conn.send({
        head: headToWire(signHead({ source: box.boxId, seq: last.seq, hash: last.hash }, box.key)),
      });
      t.equal((await conn.next(WAIT_MS)).ack?.seq, 133, 'acknowledged where it stood');
      await conn.next(WAIT_MS);
    }
    const after = await reg.server.store.counts();
    t.equal(after.entries, before.entries, 'no entry added');
    t.equal(after.evidence, 0, 'nothing refused');
    t.equal(backlog.length, 130);
  },
);

t.test('reordered and duplicated delivery gives the same register', async (t) => {
  const world = await makeRegisterWorld(t);
  const inOrder = await startRegister(t, await world.configFile(path.join(world.dir, 'a')));
  const shuffled = await startRegister(t, await world.configFile(path.join(world.dir, 'b')));
  const box = await world.box('borny-hauts', 'box-borny-01');
  const entries = append(box, 30);
  const last = entries[29] as JournalEntry;
  const head = headToWire(signHead({ source: box.boxId, seq: 30, hash: last.hash }, box.key));
  const deliveries: [number, JournalEntry[]][] = [
    [inOrder.port, entries],
    [shuffled.port, [...entries.slice(15), ...entries.slice(3, 20).reverse(), ...entries]],
  ];
  for (const [port, batch] of deliveries) {
    const conn = rawIngest(t, box.material, port);
    await conn.send({
      hello: { source: box.boxId, boot_id: TEST_BOOT_ID, last_local_seq: 30, known_tree_size: 0 },
    });
    await conn.next(WAIT_MS);
    for (const e of batch) await conn.send({ entry: entryToWire(e) });
    await conn.send({ head });
    t.equal((await conn.next(WAIT_MS)).ack?.seq, 30);
  }
  const a = await inOrder.server.store.checkpoint();
  const b = await shuffled.server.store.checkpoint();
  t.equal(b.treeSize, 30);
  t.equal(b.rootHash, a.rootHash, 'the same tree');
  t.same(
    await shuffled.server.store.lastAcked(box.boxId),
    await inOrder.server.store.lastAcked(box.boxId),
  );
  t.equal((await shuffled.server.store.counts()).evidence, 0, 'duplicates are not problems');
});

t.test(
  'a register down for a while: appends do not wait, and it catches up afterwards',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const box = await world.box('borny-hauts', 'box-borny-01');
    const port = await freePort();
    const { outbox } = startOutbox(t, world, box, port);
    const started = performance.now();
    append(box, 200);
    t.ok(performance.now() - started < 5000, 'appends are not held back by the outbox');
    t.equal(outbox.ackedSeq, 0);
    const reg = await startRegister(t, await world.configFile(), port);
    await eventWhere<number>(outbox.events, 'ack', (seq) => seq === 200);
    t.equal((await reg.server.store.counts()).entries, 200, 'everything arrived');
  },
);

t.test('the backlog past its high-water mark is an alarm', async (t) => {
  const world = await makeRegisterWorld(t);
  const box = await world.box('borny-hauts', 'box-borny-01');
  const { alarms } = startOutbox(t, world, box, await freePort(), { backlogHighWater: 5 });
  const raised = new Promise<void>((resolve) => {
    const check = (): void => {
      if (alarms.some((a) => a.code === 'register-backlog-high')) resolve();
      else setImmediate(check);
    };
    check();
  });
  append(box, 6);
  await Promise.race([
    raised,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no alarm')), WAIT_MS).unref()),
  ]);
  t.match(alarms.find((a) => a.code === 'register-backlog-high')?.detail, /6 journal entries/);
});

t.test(
  'a register that rewrote its history is caught by the box, which stops sending',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const port = await freePort();
    const box = await world.box('borny-hauts', 'box-borny-01');
    append(box, 20);
    {
      const first = await startRegister(t, await world.configFile(path.join(world.dir, 'a')), port);
      const { outbox } = startOutbox(t, world, box, port);
      await eventWhere<number>(outbox.events, 'ack', (seq) => seq === 20);
      await outbox.stop();
      await first.server.stop('replaced');
    }
    // Same key, same port, another history: another box's entries first, then this box's.
    const forged = await startRegister(t, await world.configFile(path.join(world.dir, 'b')), port);
    const other = await world.box('patrotte-barres', 'box-patrotte-01');
    const feed = async (who: BoxFixture, entries: JournalEntry[]): Promise<void> => {
      const conn = rawIngest(t, who.material, port);
      await conn.send({
        hello: { source: who.boxId, boot_id: TEST_BOOT_ID, last_local_seq: 0, known_tree_size: 0 },
      });
      await conn.next(WAIT_MS);
      for (const e of entries) await conn.send({ entry: entryToWire(e) });
      const last = entries[entries.length - 1] as JournalEntry;
      await conn.send({
        head: headToWire(signHead({ source: who.boxId, seq: last.seq, hash: last.hash }, who.key)),
      });
      await conn.next(WAIT_MS);
      conn.close();
    };
    await feed(other, append(other, 3));
    await feed(box, [...box.journal().entries(1)]);
    append(box, 2);
    const { outbox, alarms } = startOutbox(t, world, box, port);
    const stop = await eventWhere<{ code: string }>(outbox.events, 'halt', () => true);
    t.equal(stop.code, 'register-history-rewritten');
    t.ok(
      alarms.some((a) => a.code === 'register-history-rewritten'),
      'alarm raised',
    );
    const journaled = [...box.journal().entriesOfTypes(['register.forwarding-stopped'])];
    t.equal(journaled.length, 1, 'and journaled');
    t.equal(
      (await forged.server.store.lastAcked(box.boxId))?.seq,
      22,
      'the batch went, its checkpoint was refused',
    );
    await outbox.stop();
    // Kept across restarts: a new outbox does not send to that register until an operator acts.
    append(box, 1);
    const again = startOutbox(t, world, box, port);
    t.equal(again.outbox.halted?.code, 'register-history-rewritten');
    await again.outbox.stop();
    t.equal((await forged.server.store.lastAcked(box.boxId))?.seq, 22, 'nothing more sent');

    // The operator acts (a register rebuilt on purpose): forwarding starts again.
    const agentFile = path.join(world.dir, 'agent.yaml');
    await fs.writeFile(agentFile, toYaml(agentConfigFor(world, box, port)));
    t.match(
      await registerResume({ config: agentFile, forgetCheckpoint: true }),
      /stopped on .*register-history-rewritten[\s\S]*cleared/,
    );
    const resumed = startOutbox(t, world, box, port);
    await eventWhere<number>(resumed.outbox.events, 'ack', (seq) => seq === lastSeq(box));
    t.equal(resumed.outbox.halted, null);
  },
);

t.test('a register resuming before its last Ack is caught at once', async (t) => {
  const world = await makeRegisterWorld(t);
  const port = await freePort();
  const box = await world.box('borny-hauts', 'box-borny-01');
  append(box, 5);
  const first = await startRegister(t, await world.configFile(path.join(world.dir, 'a')), port);
  const one = startOutbox(t, world, box, port);
  await eventWhere<number>(one.outbox.events, 'ack', (seq) => seq === 5);
  await one.outbox.stop();
  await first.server.stop('replaced');
  await startRegister(t, await world.configFile(path.join(world.dir, 'empty')), port);
  const two = startOutbox(t, world, box, port);
  const stop = await eventWhere<{ code: string; detail: string }>(
    two.outbox.events,
    'halt',
    () => true,
  );
  t.equal(stop.code, 'register-history-rewritten');
  t.match(stop.detail, /resumes this box at seq 0, after acknowledging seq 5/);
});

const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const tampering: [
  string,
  (db: Database.Database) => void,
  { problem: string; seq: number },
  string,
][] = [
  [
    'an entry edited',
    (db) => db.prepare(`UPDATE entries SET data = '{"sessionId":"forged"}' WHERE seq = 5`).run(),
    { problem: 'hash-mismatch', seq: 5 },
    'hash-mismatch',
  ],
  [
    'an entry removed',
    (db) => db.prepare('DELETE FROM entries WHERE seq = 5').run(),
    { problem: 'seq-gap', seq: 6 },
    'seq-gap',
  ],
  [
    'two entries reordered',
    (db) => swapEntries(db, 4, 5),
    { problem: 'hash-mismatch', seq: 4 },
    'prev-hash-mismatch',
  ],
  [
    'the chain re-signed with another key',
    (db) => {
      db.prepare(`UPDATE entries SET data = '{"sessionId":"forged"}' WHERE seq = 2`).run();
      rechain(db, 1);
      resignHeads(db, attacker.privateKey);
    },
    { problem: 'head-bad-signature', seq: 10 },
    'head-bad-signature',
  ],
];

for (const [name, edit, atRegister, atVerify] of tampering) {
  t.test(`${name} on the box: refused by the register and by journal verify`, async (t) => {
    const world = await makeRegisterWorld(t);
    const reg = await startRegister(t, await world.configFile());
    const box = await world.box('borny-hauts', 'box-borny-01');
    append(box, 10);
    const file = box.journal().file;
    tamper(file, edit);
    // Verified before the box appends again: its next genuine head would vouch for the
    // rewritten chain (the journal signs its current head over what the file holds).
    const report = verifyJournalFile(file, createPublicKey(box.key));
    t.equal(report.ok, false);
    t.equal(report.break?.problem, atVerify, 'journal verify finds it too');
    const { outbox, alarms, journalRefused } = startOutbox(t, world, box, reg.port);
    const nack = await eventWhere<string>(outbox.events, 'nack', () => true);
    await outbox.stop();
    if (atVerify === 'head-bad-signature') {
      // The journal will not sign a head over a chain another key signed (sqlite-journal.ts).
      t.same(journalRefused, ['register.refused'], 'the box appends nothing over the forgery');
    }
    t.match(nack, `seq ${atRegister.seq}: ${atRegister.problem}`, 'the Nack names the position');
    const evidence = await reg.server.store.evidence(box.boxId);
    t.ok(
      evidence.some((e) => e.seq === atRegister.seq && e.reason === atRegister.problem),
      'kept as evidence with its position',
    );
    t.ok(
      alarms.some((a) => a.code === 'register-refused'),
      'the box raises an alarm',
    );
  });
}

t.test(
  'a register down for the whole of a session: the session works, the register catches up afterwards',
  async (t) => {
    const world = await makeWorld(t);
    const registerFiles = await makeRegisterWorld(t, world.pki);
    const brokerPort = await startEmbeddedCentral(t, world);
    const registerPort = await freePort();
    const dataDir = path.join(world.dir, 'agent-data');
    const agentFile = await world.agentConfigFile(brokerPort, dataDir, {
      register: {
        address: `127.0.0.1:${registerPort}`,
        serverName: '127.0.0.1',
        publicKeyFile: registerFiles.registerPubFile,
        kid: REGISTER_KID,
        reconnectMinMs: 100,
        reconnectMaxMs: 1000,
      },
    });
    const agent = await startAgent(t, agentFile);
    const outbox = agent.app.outbox;
    if (!outbox) throw new Error('the agent did not start its outbox');
    const opFile = await world.opConfigFile(brokerPort);
    const opened = await openSession(opFile, {
      siteId: BORNY.siteId,
      cameras: ['cam-01'],
      recipient: 'csu-metz',
      purpose: 'occupation-parties-communes',
      trigger: { kind: 'occupation' },
      callRef: 'CSU-2026-0042',
      requestedTtlSec: 600,
    });
    const sessionId = /transmission ouverte : ([0-9a-f-]{36})/.exec(opened)?.[1] ?? '';
    t.match(opened, /transmission ouverte/, 'the session opens with no register');
    t.match(await closeSession(opFile, sessionId, undefined, undefined), /transmission fermée/);
    t.equal(outbox.ackedSeq, 0, 'nothing reached the register meanwhile');
    const reg = await startRegister(t, await registerFiles.configFile(), registerPort);
    const journalFile = path.join(dataDir, 'journal.db');
    const lastLocal = (): number => readJournal(journalFile).at(-1)?.seq ?? 0;
    await eventWhere<number>(outbox.events, 'ack', (seq) => seq >= lastLocal());
    const types: string[] = [];
    for await (const e of reg.server.store.entries({ sources: [BORNY.boxId] })) types.push(e.type);
    t.ok(types.includes('session.opened'), 'the opening reached the register');
    t.ok(types.includes('session.closed'), 'and the closing');
    t.equal((await reg.server.store.lastAcked(BORNY.boxId))?.seq, lastLocal(), 'no gap');
  },
);
