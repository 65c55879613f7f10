/**
 * The agent's whole verification pipeline (DESIGN rule 1: envelope, signature,
 * schema, policy checks, freshness, replay, convention, time window) on one
 * core, side by side with a bare `crypto.verify` loop over the same messages.
 * Target (issue 3): at least 50% of bare. The replay store here is the
 * in-memory fake: this measures the decision logic, not SQLite (the journal
 * engineer's bench measures durable writes).
 */
import { createPublicKey, verify } from 'node:crypto';
import { CommandVerifier } from '../agent/src/pipeline/command-verifier.js';
import { FakeClocks, FakeClockTrust, FakeReplayStore } from '../test/agent/fakes.js';
import {
  BOX,
  KEYS,
  NOW_MS,
  openCommand,
  sign,
  SITE,
  testPolicy,
} from '../test/agent/pipeline-fixtures.js';

const MESSAGES = 500;
const ROUNDS = 8; // alternate the two loops so drift hits both alike
const policy = testPolicy();
const envelopes = Array.from({ length: MESSAGES }, () => sign(openCommand(NOW_MS)));
const decoded = envelopes.map((bytes) => {
  const env = JSON.parse(bytes.toString('utf8')) as { payload: string; sig: string };
  return { payload: Buffer.from(env.payload, 'base64url'), sig: Buffer.from(env.sig, 'base64url') };
});
const publicKey = createPublicKey(KEYS.dupont.publicKeyPem);

function freshVerifier(): CommandVerifier {
  // A new replay store each round: every envelope is a first delivery.
  const verifier = new CommandVerifier({
    siteId: SITE,
    boxId: BOX,
    clocks: new FakeClocks(NOW_MS, () => performance.now()),
    clockTrust: new FakeClockTrust(),
    replay: new FakeReplayStore(),
  });
  verifier.setPolicy(policy, policy.version);
  return verifier;
}

function timeLoop(body: () => void): number {
  const start = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

let oursSec = 0;
let bareSec = 0;
for (let round = 0; round < ROUNDS; round++) {
  const verifier = freshVerifier();
  oursSec += timeLoop(() => {
    for (const bytes of envelopes) {
      if (!verifier.verify(bytes, { retained: false }).ok) throw new Error('pipeline refused');
    }
  });
  bareSec += timeLoop(() => {
    for (const { payload, sig } of decoded) {
      if (!verify(null, payload, publicKey, sig)) throw new Error('bare verify failed');
    }
  });
}
const n = MESSAGES * ROUNDS;
const ours = n / oursSec;
const bare = n / bareSec;
console.log(`session.open commands through the agent pipeline: ${ours.toFixed(0)}/s (one core)`);
console.log(`bare crypto.verify, same messages: ${bare.toFixed(0)}/s`);
console.log(`ratio ours/bare: ${(ours / bare).toFixed(2)} (target >= 0.50)`);
