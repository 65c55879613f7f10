/**
 * The order of rule 1 matters: the signature is checked before any semantic
 * or costly work, and the replay store is written only for signed commands,
 * so that forged traffic can neither probe the policy nor fill the store.
 */
import t from 'tap';
import { signJson } from '../../protocol/src/envelope.js';
import {
  closeCommand,
  KEYS,
  NIGHT_MS,
  NOW_MS,
  openCommand,
  sign,
  startedHarness,
} from './pipeline-fixtures.js';

const forged = (value: unknown) =>
  signJson(value, { kid: 'op-dupont', privateKey: KEYS.intrus.privateKey });

t.test('a bad signature with an unknown camera is refused for the signature', async (t) => {
  const h = await startedHarness();
  const verdict = h.verifier.verify(forged(openCommand(NOW_MS, { cameras: ['cam-99'] })), {
    retained: false,
  });
  t.equal(verdict.ok, false);
  if (!verdict.ok) {
    t.equal(verdict.reason, 'signature');
    t.equal(verdict.commandId, null, 'the id of an unsigned command is not trusted');
  }
  await h.manager.stop();
});

t.test('a retained command is refused before its signature is looked at', async (t) => {
  const h = await startedHarness();
  const verdict = h.verifier.verify(forged(openCommand(NOW_MS)), { retained: true });
  t.equal(!verdict.ok && verdict.reason, 'retained');
  await h.manager.stop();
});

t.test('the replay store is not touched by unsigned or unknown-key commands', async (t) => {
  const h = await startedHarness();
  const inputs = [
    forged(openCommand(NOW_MS)),
    sign(openCommand(NOW_MS), KEYS.intrus),
    Buffer.from('not json'),
    Buffer.alloc(20_000, 0x7b),
  ];
  for (const bytes of inputs) {
    const verdict = h.verifier.verify(bytes, { retained: false });
    t.equal(verdict.ok, false);
  }
  t.equal(h.replay.calls, 0, 'no remember() call');
  t.equal(h.replay.ids.size, 0);
  await h.manager.stop();
});

t.test('a forged copy of a valid command does not burn its id', async (t) => {
  const h = await startedHarness();
  const command = openCommand(NOW_MS);
  t.equal(h.verifier.verify(forged(command), { retained: false }).ok, false);
  t.equal(
    h.verifier.verify(sign(command), { retained: false }).ok,
    true,
    'genuine one still passes',
  );
  await h.manager.stop();
});

t.test('a close goes through on an untrusted clock (closing is the safe direction)', async (t) => {
  const h = await startedHarness();
  const o = openCommand(NOW_MS);
  await h.processor.process(sign(o), { retained: false });
  h.trust.trusted = false;
  const event = await h.processor.process(sign(closeCommand(NOW_MS, o.sessionId)), {
    retained: false,
  });
  t.equal(event.type, 'command.ack');
  t.equal(h.manager.sessions.length, 0);
  await h.manager.stop();
});

t.test('an urgence open outside the windows is journaled as such', async (t) => {
  const h = await startedHarness({ wallMs: NIGHT_MS });
  const o = openCommand(NIGHT_MS, { trigger: { kind: 'urgence', officer: 'Cne Leroy' } });
  const event = await h.processor.process(sign(o), { retained: false });
  t.equal(event.type, 'command.ack');
  const accepted = h.journal.ofType('session.open-accepted')[0];
  t.equal(accepted?.data.urgenceOutsideWindow, true);
  t.same(accepted?.data.trigger, { kind: 'urgence', officer: 'Cne Leroy' });
  await h.manager.stop();
});

t.test('an occupation open inside a window is not flagged', async (t) => {
  const h = await startedHarness();
  await h.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  t.equal(h.journal.ofType('session.open-accepted')[0]?.data.urgenceOutsideWindow, false);
  await h.manager.stop();
});

t.test('the open-accepted entry is written before the relay is asked (rule 5)', async (t) => {
  const h = await startedHarness();
  let journaledFirst = false;
  const original = h.transmitter.open.bind(h.transmitter);
  h.transmitter.open = (ticket) => {
    journaledFirst = h.journal.ofType('session.open-accepted').length === 1;
    t.equal(h.journal.ofType('session.opened').length, 0, 'opened not yet journaled (rule 3)');
    return original(ticket);
  };
  await h.processor.process(sign(openCommand(NOW_MS)), { retained: false });
  t.ok(journaledFirst);
  t.equal(h.journal.ofType('session.opened').length, 1);
  await h.manager.stop();
});

t.test('the relay receives the exact signed payload bytes as the ticket', async (t) => {
  const h = await startedHarness();
  const command = openCommand(NOW_MS);
  let ticketBytes: Buffer | null = null;
  const original = h.transmitter.open.bind(h.transmitter);
  h.transmitter.open = (ticket) => {
    ticketBytes = ticket.payloadBytes;
    return original(ticket);
  };
  await h.processor.process(sign(command), { retained: false });
  t.equal(
    ticketBytes === null ? '' : (ticketBytes as Buffer).toString('utf8'),
    JSON.stringify(command),
  );
  await h.manager.stop();
});
