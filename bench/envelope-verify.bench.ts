/**
 * Signed command verification throughput on one core, side by side with its
 * baseline in the same run: a bare `crypto.verify` loop over the same messages
 * with the key already parsed (ANCHORS.md: ~9,000/s per core). Our pipeline
 * adds size, depth, shape, S < L and schema checks; target >= 50% of bare.
 */
import { verify } from 'node:crypto';
import { signJson, verifyEnvelope } from '../protocol/src/envelope.js';
import { CommandSchema } from '../protocol/src/commands.js';
import { keyringOf, makeKey, sessionOpen } from '../test/protocol/fixtures/messages.js';

const MESSAGES = 500;
const ROUNDS = 8; // alternate the two loops so drift hits both alike
const key = makeKey('op-bench');
const keyring = keyringOf(key);
const envelopes = Array.from({ length: MESSAGES }, () => signJson(sessionOpen(), key.signer));
const decoded = envelopes.map((bytes) => {
  const env = JSON.parse(bytes.toString('utf8')) as { payload: string; sig: string };
  return { payload: Buffer.from(env.payload, 'base64url'), sig: Buffer.from(env.sig, 'base64url') };
});

function timeLoop(body: () => void): number {
  const start = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

let oursSec = 0;
let bareSec = 0;
for (let round = 0; round < ROUNDS; round++) {
  oursSec += timeLoop(() => {
    for (const bytes of envelopes)
      verifyEnvelope(bytes, { kind: 'command', keyring, schema: CommandSchema });
  });
  bareSec += timeLoop(() => {
    for (const { payload, sig } of decoded) {
      if (!verify(null, payload, key.publicKey, sig)) throw new Error('bare verify failed');
    }
  });
}
const n = MESSAGES * ROUNDS;
const ours = n / oursSec;
const bare = n / bareSec;
console.log(`command envelopes verified: ${ours.toFixed(0)}/s (full pipeline, one core)`);
console.log(`bare crypto.verify, same messages: ${bare.toFixed(0)}/s`);
console.log(`ratio ours/bare: ${(ours / bare).toFixed(2)} (target >= 0.50)`);
