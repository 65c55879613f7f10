/**
 * The register's gRPC ingest on loopback, with real certificates: who may
 * feed it (the peer certificate alone decides), the stream's order (Hello,
 * Resume, batches closed by heads, Ack then Checkpoint), and each refusal
 * (Nack with the problem and its position, then the end of the stream).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { makePki } from '../certs/helpers.js';
import {
  checkpointFromWire,
  entryToWire,
  headToWire,
  type IngestResponseIn,
} from '../../protocol/src/register-proto.js';
import { signHead } from '../../protocol/src/journal-head.js';
import { verifyCheckpoint, type Checkpoint } from '../../protocol/src/checkpoint.js';
import { verifyConsistency, verifyInclusion } from '../../protocol/src/merkle-consistency.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import type { IngestConnection } from '../../agent/src/register/register-client.js';
import {
  makeRegisterWorld,
  rawIngest,
  REGISTER_KID,
  startRegister,
  type BoxFixture,
} from './register-ingest-fixtures.js';
import https from 'node:https';
import path from 'node:path';
import { CentralApp } from '../../central/src/app.js';
import { hashPassword } from '../../lib/src/web/password-hash.js';
import { RegisterIngestService } from '../../central/src/register/ingest-service.js';
import { loadRegisterConfig } from '../../central/src/register/register-config.js';
import { SqliteRegisterStore } from '../../central/src/register/register-store.js';
import type { RegisterStore } from '../../central/src/register/register-port.js';
import { loadTlsMaterial } from '../../certs/src/tls-profile.js';
import { parseCentralConfig } from '../../central/src/config.js';
import { REGISTER_ALARMS_TOPIC } from '../../protocol/src/topics.js';
import { BORNY, centralConfigFor, makeWorld } from '../e2e/harness.js';
import { captureLog, connect, connected } from './helpers.js';

const ANSWER_MS = 5000;

async function hello(conn: IngestConnection, source: string, known = 0): Promise<IngestResponseIn> {
  await conn.send({
    hello: {
      source,
      boot_id: '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10',
      last_local_seq: 0,
      known_tree_size: known,
    },
  });
  return conn.next(ANSWER_MS);
}

async function sendBatch(
  conn: IngestConnection,
  box: BoxFixture,
  entries: readonly JournalEntry[],
): Promise<void> {
  for (const e of entries) await conn.send({ entry: entryToWire(e) });
  const last = entries[entries.length - 1];
  if (!last) throw new Error('empty batch');
  await conn.send({
    head: headToWire(signHead({ source: last.source, seq: last.seq, hash: last.hash }, box.key)),
  });
}

function append(box: BoxFixture, count: number): JournalEntry[] {
  const journal = box.journal();
  return Array.from({ length: count }, (_, i) =>
    journal.append('session.opened', { sessionId: `s-${i}` }),
  );
}

/** Resolves when the stream is over; rejects if it stays open past the bound. */
async function streamEnds(conn: IngestConnection): Promise<void> {
  await Promise.race([
    conn.ended,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('stream still open')), ANSWER_MS).unref(),
    ),
  ]);
}

t.test(
  'a box streams its journal: Resume, Ack only for what is stored, then a signed checkpoint',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const reg = await startRegister(t, await world.configFile());
    const box = await world.box('borny-hauts', 'box-borny-01');
    const entries = append(box, 25);
    const conn = rawIngest(t, box.material, reg.port);
    const resume = await hello(conn, box.boxId);
    t.same(resume.resume?.acked_seq, 0, 'nothing stored yet');
    await sendBatch(conn, box, entries.slice(0, 10));
    const ack = await conn.next(ANSWER_MS);
    t.equal(ack.ack?.seq, 10);
    t.equal(ack.ack?.hash?.toString('hex'), entries[9]?.hash);
    t.equal(ack.ack?.head_seq, 10);
    // Durable before the Ack: the store already answers it.
    t.same(await reg.server.store.lastAcked(box.boxId), { seq: 10, hash: entries[9]?.hash });
    const first = checkpointFromWire((await conn.next(ANSWER_MS)).checkpoint ?? {});
    const registerPub = createPublicKey(world.registerKey);
    t.ok(
      verifyCheckpoint(first.checkpoint as Checkpoint, registerPub),
      'signed by the register key',
    );
    t.equal(first.checkpoint.treeSize, 10);
    await sendBatch(conn, box, entries.slice(10));
    t.equal((await conn.next(ANSWER_MS)).ack?.seq, 25);
    const second = checkpointFromWire((await conn.next(ANSWER_MS)).checkpoint ?? {});
    t.equal(second.proofFromSize, 10, 'the proof starts where the box stands');
    const c1 = first.checkpoint as Checkpoint;
    const c2 = second.checkpoint as Checkpoint;
    t.ok(
      verifyConsistency(
        10,
        25,
        Buffer.from(c1.rootHash, 'hex'),
        Buffer.from(c2.rootHash, 'hex'),
        second.proof,
      ),
      'the new tree extends the first',
    );
    conn.close();
    // A new stream resumes after the last Ack.
    const again = rawIngest(t, box.material, reg.port);
    t.equal((await hello(again, box.boxId, 25)).resume?.acked_seq, 25);
  },
);

t.test(
  'each checkpoint after an Ack holds the acknowledged entry, with its inclusion proof, whatever the cadence',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const config = await world.configFile(undefined, { checkpointEveryMs: 3_600_000 });
    const reg = await startRegister(t, config);
    const a = await world.box('borny-hauts', 'box-borny-01');
    const b = await world.box('patrotte-barres', 'box-patrotte-01');
    const entries = { a: append(a, 25), b: append(b, 5) };
    const registerPub = createPublicKey(world.registerKey);
    const batchProven = async (
      conn: IngestConnection,
      box: BoxFixture,
      batch: readonly JournalEntry[],
      leaf: number,
    ): Promise<Checkpoint> => {
      await sendBatch(conn, box, batch);
      const last = batch[batch.length - 1] as JournalEntry;
      t.equal((await conn.next(ANSWER_MS)).ack?.seq, last.seq);
      const { checkpoint, inclusion } = checkpointFromWire(
        (await conn.next(ANSWER_MS)).checkpoint ?? {},
      );
      const c = checkpoint as Checkpoint;
      t.ok(verifyCheckpoint(c, registerPub));
      t.same(
        [inclusion.seq, inclusion.leafIndex],
        [last.seq, leaf],
        `seq ${last.seq} at leaf ${leaf}`,
      );
      t.ok(
        verifyInclusion(
          leaf,
          c.treeSize,
          Buffer.from(last.hash, 'hex'),
          Buffer.from(c.rootHash, 'hex'),
          inclusion.proof,
        ),
        'proven in the checkpoint sent with the Ack',
      );
      return c;
    };
    const ca = rawIngest(t, a.material, reg.port);
    await hello(ca, a.boxId);
    const cb = rawIngest(t, b.material, reg.port);
    await hello(cb, b.boxId);
    t.equal((await batchProven(ca, a, entries.a.slice(0, 10), 9)).treeSize, 10);
    // One signature an hour, yet the next checkpoints hold each new batch.
    t.equal((await batchProven(ca, a, entries.a.slice(10), 24)).treeSize, 25);
    t.equal((await batchProven(cb, b, entries.b, 29)).treeSize, 30);
    t.equal((await reg.server.store.counts()).checkpoints, 3, 'signed only when an Ack needed it');
    // A resend: the Ack is already in the latest checkpoint, nothing new is signed.
    t.equal((await batchProven(ca, a, entries.a.slice(20), 24)).treeSize, 30);
    t.equal((await reg.server.store.counts()).checkpoints, 3);
  },
);

t.test('a certificate from a foreign CA never reaches the service', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile());
  const foreign = await makePki(t);
  const leaf = await foreign.issue({ kind: 'box', siteId: 'borny-hauts', boxId: 'box-borny-01' });
  const material = await foreign.material(leaf);
  const conn = rawIngest(t, material, reg.port);
  await conn
    .send({ hello: { source: 'box-borny-01', boot_id: '', last_local_seq: 0, known_tree_size: 0 } })
    .catch(() => undefined);
  await t.rejects(conn.next(ANSWER_MS), 'no answer: the handshake fails');
  t.same(await reg.server.store.counts().then((c) => c.sources), 0);
});

t.test(
  'only boxes and relay services may feed the register; a relay feeds under its own name',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const reg = await startRegister(t, await world.configFile());
    const brokerLeaf = await world.pki.issue({
      kind: 'service',
      name: 'broker',
      dns: [],
      ips: ['127.0.0.1'],
    });
    const broker = rawIngest(t, await world.pki.material(brokerLeaf), reg.port);
    await broker
      .send({ hello: { source: 'broker', boot_id: '', last_local_seq: 0, known_tree_size: 0 } })
      .catch(() => undefined);
    await t.rejects(broker.next(ANSWER_MS), /may not feed the register/);
    const viewerLeaf = await world.pki.issue({
      kind: 'person',
      displayName: 'Jeanne Dupont',
      role: 'viewer',
    });
    const viewer = rawIngest(t, await world.pki.material(viewerLeaf), reg.port);
    await viewer
      .send({
        hello: { source: 'jeanne-dupont', boot_id: '', last_local_seq: 0, known_tree_size: 0 },
      })
      .catch(() => undefined);
    await t.rejects(viewer.next(ANSWER_MS), /may not connect here|may not feed/);
    const relayLeaf = await world.pki.issue({
      kind: 'service',
      name: 'relay-csu-metz',
      dns: [],
      ips: ['127.0.0.1'],
    });
    const relay = rawIngest(t, await world.pki.material(relayLeaf), reg.port);
    t.equal((await hello(relay, 'relay-csu-metz')).resume?.acked_seq, 0, 'a relay is resumed');
    const sources = await reg.server.store.sources();
    t.same(
      sources.map((s) => [s.source, s.kind]),
      [['relay-csu-metz', 'relay']],
    );
  },
);

t.test('a Hello naming another source than the certificate is refused', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile());
  const box = await world.box('borny-hauts', 'box-borny-01');
  const conn = rawIngest(t, box.material, reg.port);
  const answer = await hello(conn, 'box-patrotte-01');
  t.equal(answer.nack?.problem, 'hello-source-mismatch');
  t.match(answer.nack?.detail, /box-patrotte-01.*box-borny-01/);
  await streamEnds(conn);
  t.equal(reg.alarms[0]?.code, 'hello-source-mismatch');
});

t.test(
  'entries naming another source are refused with their position and kept as evidence',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const reg = await startRegister(t, await world.configFile());
    const box = await world.box('borny-hauts', 'box-borny-01');
    const other = await world.box('patrotte-barres', 'box-patrotte-01');
    const foreignEntries = append(other, 3);
    const conn = rawIngest(t, box.material, reg.port);
    await hello(conn, box.boxId);
    await sendBatch(conn, box, foreignEntries);
    const answer = await conn.next(ANSWER_MS);
    t.equal(answer.nack?.problem, 'source-mismatch');
    t.equal(answer.nack?.seq, 1);
    await streamEnds(conn);
    t.ok((await reg.server.store.evidence(box.boxId)).length > 0, 'kept as evidence');
    t.equal((await reg.server.store.counts()).entries, 0);
  },
);

t.test('a batch larger than the limit is refused before it is stored', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile(undefined, { maxBatchEntries: 5 }));
  const box = await world.box('borny-hauts', 'box-borny-01');
  const entries = append(box, 6);
  const conn = rawIngest(t, box.material, reg.port);
  await hello(conn, box.boxId);
  for (const e of entries) await conn.send({ entry: entryToWire(e) });
  const answer = await conn.next(ANSWER_MS);
  t.equal(answer.nack?.problem, 'batch-too-large');
  t.equal(answer.nack?.seq, 6);
  await streamEnds(conn);
  t.equal((await reg.server.store.counts()).entries, 0);
});

t.test('each chain problem is a Nack with its code and position', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile());
  const cases: [string, (e: JournalEntry[]) => JournalEntry[], string, number][] = [
    ['gap', (e) => [e[0], e[2]] as JournalEntry[], 'seq-gap', 3],
    [
      'edited',
      (e) => [e[0], { ...e[1], data: { sessionId: 'forged' } }] as JournalEntry[],
      'hash-mismatch',
      2,
    ],
    ['malformed', (e) => [{ ...e[0], time: 'yesterday' }] as JournalEntry[], 'entry-malformed', 1],
  ];
  let n = 0;
  for (const [name, mutate, problem, seq] of cases) {
    const box = await world.box('borny-hauts', `box-case-${++n}`);
    const conn = rawIngest(t, box.material, reg.port);
    await hello(conn, box.boxId);
    const entries = mutate(append(box, 3));
    for (const e of entries) await conn.send({ entry: entryToWire(e) });
    const last = append(box, 0)[0] ?? entries[entries.length - 1];
    if (!last) throw new Error('no entry');
    await conn.send({
      head: headToWire(
        signHead({ source: box.boxId, seq: 1, hash: entries[0]?.hash ?? '' }, box.key),
      ),
    });
    let answer = await conn.next(ANSWER_MS);
    if (answer.ack) answer = await conn.next(ANSWER_MS); // what was good before the break is acknowledged
    t.equal(answer.nack?.problem, problem, name);
    t.equal(answer.nack?.seq, seq, `${name}: position`);
    await streamEnds(conn);
  }
  // A head signed by another key than the certificate's.
  const box = await world.box('borny-hauts', 'box-resigned');
  const entries = append(box, 2);
  const conn = rawIngest(t, box.material, reg.port);
  await hello(conn, box.boxId);
  for (const e of entries) await conn.send({ entry: entryToWire(e) });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const last = entries[1];
  if (!last) throw new Error('no entry');
  await conn.send({
    head: headToWire(signHead({ source: box.boxId, seq: 2, hash: last.hash }, stranger)),
  });
  let answer = await conn.next(ANSWER_MS);
  if (answer.ack) answer = await conn.next(ANSWER_MS);
  t.equal(answer.nack?.problem, 'head-bad-signature');
  t.equal(answer.nack?.seq, 2);
  t.ok(
    reg.alarms.some((a) => a.code === 'head-bad-signature' && a.source === box.boxId),
    'an alarm names the box',
  );
});

t.test('a conflicting resend is refused; an identical resend changes nothing', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile());
  const box = await world.box('borny-hauts', 'box-borny-01');
  const entries = append(box, 4);
  const conn = rawIngest(t, box.material, reg.port);
  await hello(conn, box.boxId);
  await sendBatch(conn, box, entries);
  t.equal((await conn.next(ANSWER_MS)).ack?.seq, 4);
  await conn.next(ANSWER_MS);
  await sendBatch(conn, box, entries);
  t.equal((await conn.next(ANSWER_MS)).ack?.seq, 4, 'resend acknowledged again');
  await conn.next(ANSWER_MS);
  t.equal((await reg.server.store.counts()).entries, 4);
  const forged = { ...entries[2], data: { sessionId: 'other' } } as JournalEntry;
  await conn.send({ entry: entryToWire(forged) });
  await conn.send({
    head: headToWire(
      signHead({ source: box.boxId, seq: 4, hash: entries[3]?.hash ?? '' }, box.key),
    ),
  });
  let answer = await conn.next(ANSWER_MS);
  if (answer.ack) answer = await conn.next(ANSWER_MS);
  t.equal(answer.nack?.problem, 'hash-mismatch', 'edited content no longer hashes');
  t.equal(answer.nack?.seq, 3);
  t.equal((await reg.server.store.counts()).entries, 4, 'nothing merged');
});

t.test('the first message must be a Hello', async (t) => {
  const world = await makeRegisterWorld(t);
  const reg = await startRegister(t, await world.configFile());
  const box = await world.box('borny-hauts', 'box-borny-01');
  const [entry] = append(box, 1);
  if (!entry) throw new Error('no entry');
  const conn = rawIngest(t, box.material, reg.port);
  await conn.send({ entry: entryToWire(entry) });
  const answer = await conn.next(ANSWER_MS);
  t.equal(answer.nack?.problem, 'protocol-violation');
  await streamEnds(conn);
});

/** Status of a GET on the test's own loopback page (its throwaway certificate is not checked here). */
function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: ANSWER_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
  });
}

t.test(
  'vigie central serves the register when configured, and publishes its alarms to operators',
  async (t) => {
    const world = await makeWorld(t);
    const registerFiles = await makeRegisterWorld(t, world.pki);
    const base = centralConfigFor(world);
    const config = parseCentralConfig(
      {
        listen: { host: '127.0.0.1' },
        tls: base.tls,
        policy: base.policy,
        dataDir: base.dataDir,
        register: {
          tls: {
            caFile: world.pki.paths.caBundle,
            certFile: path.join(registerFiles.registerDir, 'chain.pem'),
            keyFile: path.join(registerFiles.registerDir, 'key.pem'),
            crlFile: world.pki.paths.crlBundle,
          },
          signing: { keyFile: registerFiles.registerKeyFile, kid: REGISTER_KID },
          web: {
            listen: { port: 0 },
            tls: {
              certFile: path.join(registerFiles.registerDir, 'chain.pem'),
              keyFile: path.join(registerFiles.registerDir, 'key.pem'),
            },
            users: [{ login: 'dpo', name: 'DPO', scryptHash: await hashPassword('not-used') }],
          },
        },
      },
      path.join(world.dir, 'central.yaml'),
    );
    t.equal(config.register?.database.backend, 'sqlite');
    const log = captureLog();
    const app = new CentralApp({ config, log: log.logger, port: 0, registerPort: 0 });
    t.teardown(() => app.stop('test-teardown'));
    await app.start();
    const register = app.register;
    if (!register) throw new Error('no register served');
    // The read-only page is served with it, and asks for a login first.
    const webUrl = register.webUrl;
    if (webUrl === null) throw new Error('no register page served');
    t.equal(await httpsStatus(webUrl), 303, 'the page asks for a login first');
    t.equal(await httpsStatus(`${webUrl}/`), 303, 'an odd target (//) is a path, not a 500');
    const op = connect(
      t,
      app.broker.address.port,
      await world.pki.material(world.operatorDir),
      'op:alarms',
    );
    await connected(op);
    await op.subscribeAsync(REGISTER_ALARMS_TOPIC, { qos: 1 });
    const alarm = new Promise<Record<string, unknown>>((resolve) =>
      op.once('message', (_topic, payload: Buffer) =>
        resolve(JSON.parse(payload.toString('utf8')) as Record<string, unknown>),
      ),
    );
    const conn = rawIngest(t, await world.pki.material(world.boxDir), register.port);
    t.equal((await hello(conn, 'someone-else')).nack?.problem, 'hello-source-mismatch');
    const received = await Promise.race([
      alarm,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no alarm on the broker')), ANSWER_MS).unref(),
      ),
    ]);
    t.match(received, { code: 'hello-source-mismatch', source: BORNY.boxId, severity: 'warning' });
  },
);

t.test('the Ack is written only after the store has committed the batch', async (t) => {
  const world = await makeRegisterWorld(t);
  const config = await loadRegisterConfig(await world.configFile());
  const store = new SqliteRegisterStore({
    file: path.join(world.dir, 'gated.sqlite'),
    registerKey: world.registerKey,
    kid: REGISTER_KID,
    clocks: { wallNowMs: () => Date.now() },
  });
  await store.open();
  t.teardown(() => store.close());
  let committed = false;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The store as the service sees it, its ingest held until the test lets it commit.
  const gatedIngest: RegisterStore['ingest'] = async (batch) => {
    await gate;
    const result = await store.ingest(batch);
    committed = true;
    return result;
  };
  const gated = new Proxy(store, {
    get: (target, prop, receiver) => {
      if (prop === 'ingest') return gatedIngest;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  const service = new RegisterIngestService({
    listen: { host: '127.0.0.1', port: 0 },
    tls: await loadTlsMaterial(config.tls),
    store: gated,
    alarms: { raise: () => undefined },
    log: captureLog().logger,
  });
  t.teardown(() => service.stop('test-teardown'));
  const port = await service.start();
  const box = await world.box('borny-hauts', 'box-borny-01');
  await store.rememberSource({
    source: box.boxId,
    kind: 'box',
    site: 'borny-hauts',
    spkiDer: createPublicKey(box.key).export({ format: 'der', type: 'spki' }),
    certSha256: 'ab'.repeat(32),
  });
  const conn = rawIngest(t, box.material, port);
  await hello(conn, box.boxId);
  await sendBatch(conn, box, append(box, 3));
  const ack = conn.next(ANSWER_MS).then((m) => ({ m, committedWhenAcked: committed }));
  release();
  const { m, committedWhenAcked } = await ack;
  t.equal(m.ack?.seq, 3);
  t.ok(committedWhenAcked, 'the batch was committed before its Ack arrived');
});
