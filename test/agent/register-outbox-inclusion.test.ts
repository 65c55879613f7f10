/**
 * A register that acknowledges a box's batch but signs checkpoints that never
 * hold it, on loopback: the real store takes the batch (the Ack is genuine),
 * while checkpoints and proofs come from a second store, same register key,
 * that never received it. The box's inclusion check catches it
 * (register-entry-missing), journals it and stops sending, as for a history
 * rewritten. Every wait ends on an event or a bounded timeout.
 */
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadTlsMaterial } from '../../certs/src/tls-profile.js';
import { RegisterIngestService } from '../../central/src/register/ingest-service.js';
import { RegisterAlarms } from '../../central/src/register/register-alarms.js';
import {
  loadRegisterConfig,
  openRegisterStore,
} from '../../central/src/register/register-config.js';
import type { RegisterStore } from '../../central/src/register/register-port.js';
import { Logger } from '../../lib/src/log.js';
import { signHead } from '../../protocol/src/journal-head.js';
import { makeRegisterWorld, type RegisterWorld } from '../central/register-ingest-fixtures.js';
import { identity } from '../central/register-store-fixtures.js';
import { append, eventWhere, startOutbox } from './register-outbox-fixtures.js';

const quiet = new Logger('register', { level: 'error', sink: { write: () => undefined } });
const clocks = { wallNowMs: () => Date.now(), monoNowMs: () => performance.now() };

async function openStore(t: Test, world: RegisterWorld, name: string): Promise<RegisterStore> {
  const config = await loadRegisterConfig(await world.configFile(path.join(world.dir, name)));
  const store = await openRegisterStore(config, clocks, quiet);
  t.teardown(() => store.close());
  return store;
}

t.test(
  'a register whose checkpoint omits the acknowledged batch is caught by the box, which stops sending',
  async (t) => {
    const world = await makeRegisterWorld(t);
    const box = await world.box('borny-hauts', 'box-borny-01');
    const other = await world.box('patrotte-barres', 'box-patrotte-01');
    const real = await openStore(t, world, 'real');
    // The second store: another box's entries only, a larger tree than the box's batch.
    const shadow = await openStore(t, world, 'shadow');
    const otherEntries = append(other, 25);
    const otherLast = otherEntries[24];
    if (!otherLast) throw new Error('no entries');
    await shadow.rememberSource(identity(other.boxId, createPublicKey(other.key)));
    const fed = await shadow.ingest({
      source: other.boxId,
      entries: otherEntries,
      head: signHead({ source: other.boxId, seq: 25, hash: otherLast.hash }, other.key),
      boxKey: createPublicKey(other.key),
    });
    t.same(fed.problems, [], 'the shadow register holds the other box');

    // Everything from the real store but what the box is shown of the tree.
    const forged = new Proxy(real, {
      get(target, prop) {
        if (prop === 'checkpoint') return () => shadow.checkpoint();
        if (prop === 'consistencyProof') {
          return (m: number, n: number) => shadow.consistencyProof(m, n);
        }
        if (prop === 'inclusionProof') {
          // A genuine proof, of another box's entry: the best such a register can send.
          return (_source: string, _seq: number, size: number) =>
            shadow.inclusionProof(other.boxId, 25, size);
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const config = await loadRegisterConfig(await world.configFile(path.join(world.dir, 'real')));
    const service = new RegisterIngestService({
      listen: { host: '127.0.0.1', port: 0 },
      tls: await loadTlsMaterial(config.tls),
      store: forged,
      alarms: new RegisterAlarms(quiet, null, clocks.wallNowMs),
      log: quiet,
      checkpointEveryMs: 10,
      monoNowMs: clocks.monoNowMs,
    });
    t.teardown(() => service.stop('test-teardown'));
    const port = await service.start();

    append(box, 10);
    const { outbox, alarms } = startOutbox(t, world, box, port);
    const stop = await eventWhere<{ code: string; detail: string }>(
      outbox.events,
      'halt',
      () => true,
    );
    t.equal(stop.code, 'register-entry-missing');
    t.match(stop.detail, /does not hold this box's acknowledged entry at seq 10/);
    t.ok(
      alarms.some((a) => a.code === 'register-entry-missing'),
      'alarm raised',
    );
    const journaled = [...box.journal().entriesOfTypes(['register.forwarding-stopped'])];
    t.equal(journaled.length, 1, 'and journaled');
    t.match(journaled[0]?.data, { code: 'register-entry-missing' });
    t.equal((await real.lastAcked(box.boxId))?.seq, 10, 'the batch was acknowledged');
    t.equal(box.kv().registerTreeHead(), null, 'its checkpoint was not kept');
    await outbox.stop();

    // Kept across restarts: nothing more goes to that register until an operator acts.
    append(box, 3);
    const again = startOutbox(t, world, box, port);
    t.equal(again.outbox.halted?.code, 'register-entry-missing');
    await again.outbox.stop();
    t.equal((await real.lastAcked(box.boxId))?.seq, 10, 'nothing more sent');
  },
);
