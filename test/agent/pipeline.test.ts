/**
 * DESIGN rule 1, as a table: one case per refusal reason, each failing if
 * its check is removed, and the accept path. Real Ed25519 keys and signed
 * envelopes; the pipeline, the SessionManager and the processor are the real
 * ones, on in-memory fakes of the journal, replay store and relay.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { CommandAckSchema, CommandRejectSchema } from '../../protocol/src/events.js';
import { signJson } from '../../protocol/src/envelope.js';
import type { RefusalCode } from '../../protocol/src/refusal-reasons.js';
import type { CommandResultEvent } from '../../agent/src/sessions/agent-events.js';
import {
  closeAllCommand,
  closeCommand,
  extendCommand,
  KEYS,
  NIGHT_MS,
  NOW_MS,
  openCommand,
  sign,
  startedHarness,
  testPolicy,
  type Harness,
  type HarnessOptions,
} from './pipeline-fixtures.js';

function reasonOf(event: CommandResultEvent): RefusalCode | 'accepted' {
  if (event.type === 'command.ack') {
    CommandAckSchema.parse(event);
    return 'accepted';
  }
  CommandRejectSchema.parse(event);
  return event.reason;
}

interface Case {
  readonly name: string;
  readonly expect: RefusalCode | 'accepted';
  readonly options?: HarnessOptions;
  readonly setup?: (h: Harness) => void | Promise<void>;
  readonly bytes: (h: Harness) => Buffer;
  readonly retained?: boolean;
}

const at = NOW_MS;
const open = (overrides = {}) => sign(openCommand(at, overrides));

const CASES: Case[] = [
  {
    name: 'accepts a broadcast close-all from an admin',
    expect: 'accepted',
    bytes: () => sign({ ...closeAllCommand(at), scope: { all: true } }, KEYS.chef),
  },
  {
    name: 'refuses a close-all for another site',
    expect: 'site',
    bytes: () => sign({ ...closeAllCommand(at), scope: { siteId: 'patrotte-barres' } }, KEYS.chef),
  },
  {
    name: 'refuses a close-all from an operator without the admin role',
    expect: 'role',
    bytes: () => sign(closeAllCommand(at)),
  },
  { name: 'accepts a valid open', expect: 'accepted', bytes: () => open() },
  { name: 'refuses a retained command', expect: 'retained', retained: true, bytes: () => open() },
  {
    name: 'refuses a command over the size limit',
    expect: 'size',
    bytes: () => Buffer.alloc(16 * 1024 + 1, 0x20),
  },
  {
    name: 'refuses bytes that are not an envelope',
    expect: 'malformed',
    bytes: () => Buffer.from('{"v":1'),
  },
  {
    name: 'refuses a signed payload that is not a valid command',
    expect: 'schema',
    bytes: () => sign({ ...openCommand(at), cameras: [] }),
  },
  {
    name: 'refuses a signature by another key under a policy kid',
    expect: 'signature',
    bytes: () =>
      signJson(openCommand(at), { kid: 'op-dupont', privateKey: KEYS.intrus.privateKey }),
  },
  {
    name: 'refuses a key absent from the policy',
    expect: 'unknown-key',
    bytes: () => sign(openCommand(at), KEYS.intrus),
  },
  {
    name: 'refuses a key past its validity',
    expect: 'key-not-valid',
    bytes: () => sign(openCommand(at), KEYS.ancien),
  },
  {
    name: 'refuses an open signed by an admin-only key',
    expect: 'role',
    bytes: () => sign(openCommand(at), KEYS.chef),
  },
  {
    name: 'refuses a recipient the operator may not use',
    expect: 'recipient',
    bytes: () => sign(openCommand(at, { recipient: 'dipn-57' }), KEYS.nuit),
  },
  {
    name: 'refuses a purpose the policy does not allow',
    expect: 'purpose',
    bytes: () => open({ purpose: 'trafics' }),
  },
  {
    name: 'refuses a command for another site',
    expect: 'site',
    bytes: () => open({ siteId: 'patrotte-barres' }),
  },
  {
    name: 'refuses when the policy gives this site to another box',
    expect: 'site',
    options: {
      policy: testPolicy((p) => {
        p.sites[0]!.boxIds = ['box-autre'];
      }),
    },
    bytes: () => open(),
  },
  {
    name: 'refuses a camera not in the annex',
    expect: 'camera-not-annexed',
    bytes: () => open({ cameras: ['cam-01', 'cam-07'] }),
  },
  {
    name: 'refuses a camera that is not transmissible',
    expect: 'camera-not-transmissible',
    bytes: () => open({ cameras: ['cam-03'] }),
  },
  {
    name: 'refuses an expired command (past expiresAt + skew)',
    expect: 'stale',
    bytes: () =>
      open({
        issuedAt: new Date(at - 120_000).toISOString(),
        expiresAt: new Date(at - 31_000).toISOString(),
      }),
  },
  {
    name: 'refuses a command issued beyond the skew in the future',
    expect: 'stale',
    bytes: () =>
      open({
        issuedAt: new Date(at + 31_000).toISOString(),
        expiresAt: new Date(at + 90_000).toISOString(),
      }),
  },
  {
    name: 'refuses an open when the convention is not in force',
    expect: 'convention',
    options: {
      policy: testPolicy((p) => {
        p.convention.renewal = { mode: 'express' };
      }),
    },
    bytes: () => open(),
  },
  {
    name: 'refuses an occupation open outside every time window',
    expect: 'time-window',
    options: { wallMs: NIGHT_MS },
    bytes: () => sign(openCommand(NIGHT_MS)),
  },
  {
    name: 'accepts an urgence open outside every time window',
    expect: 'accepted',
    options: { wallMs: NIGHT_MS },
    bytes: () =>
      sign(openCommand(NIGHT_MS, { trigger: { kind: 'urgence', officer: 'Cne Leroy' } })),
  },
  {
    name: 'refuses an open on an untrusted clock',
    expect: 'clock-untrusted',
    setup: (h) => {
      h.trust.trusted = false;
    },
    bytes: () => open(),
  },
  {
    name: 'refuses an open when the journal cannot be written',
    expect: 'journal-unwritable',
    setup: (h) => {
      h.journal.failing = true;
    },
    bytes: () => open(),
  },
  {
    name: 'refuses when the replay store cannot record the id',
    expect: 'journal-unwritable',
    setup: (h) => {
      h.replay.failing = true;
    },
    bytes: () => open(),
  },
  {
    name: 'refuses every command before a policy',
    expect: 'policy-missing',
    options: { policy: null },
    bytes: () => open(),
  },
  {
    name: 'refuses an open whose certificates expire within the minimum session',
    expect: 'certificate-expiring',
    options: { boxNotAfterMs: at + 10_000 },
    bytes: () => open(),
  },
  {
    name: 'refuses a close of an unknown session',
    expect: 'session-unknown',
    bytes: () => sign(closeCommand(at, randomUUID())),
  },
  {
    name: 'refuses an extend of an unknown session',
    expect: 'session-unknown',
    bytes: () => sign(extendCommand(at, randomUUID(), 600)),
  },
  {
    name: 'refuses a relay that rejects the session',
    expect: 'relay-rejected',
    setup: (h) => {
      h.transmitter.mode = 'reject';
    },
    bytes: () => open(),
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const h = await startedHarness(c.options);
    await c.setup?.(h);
    const event = await h.processor.process(c.bytes(h), { retained: c.retained ?? false });
    t.equal(reasonOf(event), c.expect);
    const opened = h.journal.ofType('session.opened').length;
    const opens = c.expect === 'accepted' && c.name.includes('open') ? 1 : 0;
    t.equal(opened, opens, 'session.opened journaled only for an accepted open');
    if (c.expect !== 'accepted' && c.expect !== 'journal-unwritable') {
      t.equal(
        h.journal.ofType('command.refused').at(-1)?.data.reason,
        c.expect,
        'refusal journaled',
      );
    }
    await h.manager.stop();
  });
}

t.test('replay: the same bytes twice act once', async (t) => {
  const h = await startedHarness();
  const bytes = open();
  t.equal(reasonOf(await h.processor.process(bytes, { retained: false })), 'accepted');
  t.equal(reasonOf(await h.processor.process(bytes, { retained: false })), 'replay');
  t.equal(h.transmitter.opens.length, 1);
  await h.manager.stop();
});

t.test('session-exists: a new command reusing a session id is refused', async (t) => {
  const h = await startedHarness();
  const first = openCommand(at);
  t.equal(reasonOf(await h.processor.process(sign(first), { retained: false })), 'accepted');
  const again = { ...openCommand(at), sessionId: first.sessionId };
  t.equal(reasonOf(await h.processor.process(sign(again), { retained: false })), 'session-exists');
  t.equal(h.transmitter.opens.length, 1);
  await h.manager.stop();
});

t.test('ttl: an extend that does not lengthen the session is refused', async (t) => {
  const h = await startedHarness();
  const o = openCommand(at);
  await h.processor.process(sign(o), { retained: false });
  const shorter = await h.processor.process(sign(extendCommand(at, o.sessionId, 600)), {
    retained: false,
  });
  t.equal(reasonOf(shorter), 'ttl');
  const longer = await h.processor.process(sign(extendCommand(at, o.sessionId, 3000)), {
    retained: false,
  });
  t.equal(reasonOf(longer), 'accepted');
  t.equal(longer.type === 'command.ack' && longer.grantedTtlSec, 3000);
  await h.manager.stop();
});

t.test('session-limit: no more than the maximum of simultaneous sessions', async (t) => {
  const h = await startedHarness();
  for (let i = 0; i < 8; i++) await h.processor.process(open(), { retained: false });
  t.equal(reasonOf(await h.processor.process(open(), { retained: false })), 'session-limit');
  await h.manager.stop();
});

t.test('relay-unreachable: no acceptance within the open timeout', async (t) => {
  const h = await startedHarness();
  h.transmitter.mode = 'hang';
  const pending = h.processor.process(open(), { retained: false });
  await h.clock.tickAsync(15_000);
  t.equal(reasonOf(await pending), 'relay-unreachable');
  t.same(
    h.journal.ofType('session.closed').map((e) => e.data.reason),
    ['tunnel-lost'],
  );
  t.equal(h.journal.ofType('session.opened').length, 0);
  await h.manager.stop();
});
