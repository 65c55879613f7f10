import t from 'tap';
import fc from 'fast-check';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { canonicalJson } from '../../protocol/src/canonical-json.js';
import { verifyChain } from '../../protocol/src/journal-chain.js';
import {
  appendEntry,
  entryHashInput,
  GENESIS_HASH,
  hashEntry,
  JournalEntrySchema,
  type JournalEntry,
} from '../../protocol/src/journal-entry.js';
import {
  headSigningInput,
  isLowS,
  P256_ORDER,
  signHead,
  SignedHeadSchema,
  verifyHead,
} from '../../protocol/src/journal-head.js';
import { headFor, journalRun, makeKey } from './fixtures/messages.js';

const box = makeKey('box-01');
const attacker = makeKey('box-01');

/** Recomputes hashes from `from` on, as an attacker who edits the journal would. */
function rechain(entries: JournalEntry[], from: number): JournalEntry[] {
  const out = entries.slice(0, from);
  for (const e of entries.slice(from)) {
    const prev = out[out.length - 1] ?? null;
    out.push(
      appendEntry(prev, {
        source: e.source,
        time: e.time,
        bootId: e.bootId,
        type: e.type,
        data: e.data,
      }),
    );
  }
  return out;
}

void t.test('the hash covers a fixed length-prefixed encoding, independent of key order', (t) => {
  const entry = {
    source: 'box-01',
    seq: 1,
    time: '2025-03-01T10:00:00.000Z',
    bootId: '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10',
    type: 'session.opened',
    data: { b: [1, 'é'], a: null },
    prevHash: GENESIS_HASH,
  };
  const lp = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const p = Buffer.alloc(4);
    p.writeUInt32BE(b.length);
    return Buffer.concat([p, b]);
  };
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(1n);
  const expected = Buffer.concat([
    lp('vigie.journal.entry.v1'),
    lp('box-01'),
    seq,
    lp(entry.time),
    lp(entry.bootId),
    lp('session.opened'),
    lp('{"a":null,"b":[1,"é"]}'),
    Buffer.alloc(32),
  ]);
  t.ok(entryHashInput(entry).equals(expected), 'documented byte layout');
  t.equal(hashEntry(entry), createHash('sha256').update(expected).digest('hex'));
  t.equal(
    hashEntry({ ...entry, data: { a: null, b: [1, 'é'] } }),
    hashEntry(entry),
    'key order does not matter',
  );
  t.not(hashEntry({ ...entry, type: 'session.opene', source: 'box-01d' }), hashEntry(entry));
  // Golden value: changing the encoding breaks every journal ever written.
  t.equal(hashEntry(entry), '7b84772d7aa954997653fe4e636c4d7a9129057b20ca3d30943fc91103c2403d');
  t.equal(
    canonicalJson({ z: 1, a: { y: [2, { c: 3, b: 'x' }] }, A: 0 }),
    '{"A":0,"a":{"y":[2,{"b":"x","c":3}]},"z":1}',
  );
  t.end();
});

void t.test('a run with its head verifies, and entries parse with the schema', (t) => {
  const entries = journalRun(10);
  for (const e of entries) t.ok(JournalEntrySchema.safeParse(e).success);
  const last = entries[9];
  if (!last) throw new Error('fixture');
  const head = headFor(last, box);
  t.ok(verifyHead(head, box.publicKey));
  t.same(verifyChain(entries, [head], box.publicKey), {
    ok: true,
    vouchedThroughSeq: 10,
    lastSeq: 10,
    lastHash: last.hash,
  });
  const mid = entries[4];
  if (!mid) throw new Error('fixture');
  t.match(
    verifyChain(entries, [headFor(mid, box)], box.publicKey),
    { ok: true, vouchedThroughSeq: 5 },
    'tail not yet vouched',
  );
  t.match(verifyChain(entries.slice(5), [head], box.publicKey, { seq: 5, hash: mid.hash }), {
    ok: true,
  });
  t.match(verifyChain(entries.slice(5), [head], box.publicKey), {
    ok: false,
    problem: 'no-anchor',
    index: 0,
  });
  t.end();
});

void t.test('tampering is detected at the right position', (t) => {
  const entries = journalRun(10);
  const last = entries[9];
  if (!last) throw new Error('fixture');
  const head = headFor(last, box);
  const edited = entries.map((e, i) =>
    i === 4 ? { ...e, data: { ...e.data, cameras: ['cam-09'] } } : e,
  );
  t.match(
    verifyChain(edited, [head], box.publicKey),
    { ok: false, index: 4, seq: 5, problem: 'hash-mismatch' },
    'edit',
  );

  const rehashedOne = entries.map((e, i) =>
    i === 4 ? appendEntry(entries[3] ?? null, { ...e, data: { x: 1 } }) : e,
  );
  t.match(
    verifyChain(rehashedOne, [head], box.publicKey),
    { ok: false, index: 5, seq: 6, problem: 'prev-hash-mismatch' },
    'edit + rehash: next link breaks',
  );

  const rechained = rechain(edited, 4);
  t.match(
    verifyChain(rechained, [head], box.publicKey),
    { ok: false, index: 9, seq: 10, problem: 'head-hash-mismatch' },
    'edit + rechain: the genuine head disagrees',
  );

  const resigned = headFor(rechained[9] ?? last, attacker);
  t.match(
    verifyChain(rechained, [resigned], box.publicKey),
    { ok: false, index: 9, problem: 'head-bad-signature' },
    're-signed with another key',
  );

  const removed = entries.filter((_, i) => i !== 6);
  t.match(
    verifyChain(removed, [head], box.publicKey),
    { ok: false, index: 6, seq: 8, problem: 'seq-gap' },
    'remove',
  );

  const reordered = [...entries];
  [reordered[3], reordered[4]] = [entries[4] as JournalEntry, entries[3] as JournalEntry];
  t.match(
    verifyChain(reordered, [head], box.publicKey),
    { ok: false, index: 3, seq: 5, problem: 'seq-gap' },
    'reorder',
  );

  const truncatedHead = headFor(last, box);
  t.match(
    verifyChain(entries.slice(0, 8), [truncatedHead], box.publicKey),
    { ok: false, index: 8, problem: 'head-out-of-range' },
    'truncated run',
  );

  const foreign = entries.map((e, i) => (i === 2 ? { ...e, source: 'box-02' } : e));
  t.match(verifyChain(foreign, [head], box.publicKey), {
    ok: false,
    index: 2,
    problem: 'source-mismatch',
  });
  t.end();
});

void t.test('an early bad head is reported before a later entry break', (t) => {
  const entries = journalRun(6);
  const badHead = headFor(entries[1] as JournalEntry, attacker);
  const edited = entries.map((e, i) => (i === 4 ? { ...e, time: '2025-03-01T11:00:00.000Z' } : e));
  t.match(verifyChain(edited, [badHead], box.publicKey), {
    ok: false,
    index: 1,
    problem: 'head-bad-signature',
  });
  t.end();
});

void t.test('any single edited entry is caught at its own position (property)', (t) => {
  const entries = journalRun(12);
  const head = headFor(entries[11] as JournalEntry, box);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.nat(11), fc.string({ minLength: 1, maxLength: 8 }), (i, value) => {
        const e = entries[i] as JournalEntry;
        const tampered = entries.map((x, j) =>
          j === i ? { ...e, data: { ...e.data, note: value } } : x,
        );
        const result = verifyChain(tampered, [head], box.publicKey);
        return !result.ok && result.index === i && result.problem === 'hash-mismatch';
      }),
      { numRuns: 200 },
    ),
  );
  t.end();
});

void t.test('heads signed with a box certificate key (ECDSA P-256) verify, 64-byte sig', (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const entries = journalRun(5);
  const last = entries[4] as JournalEntry;
  const head = signHead({ source: last.source, seq: last.seq, hash: last.hash }, p256.privateKey);
  t.ok(SignedHeadSchema.safeParse(head).success, 'same SignedHead format as Ed25519');
  t.equal(Buffer.from(head.sig, 'base64url').length, 64, 'IEEE P1363 r||s, not DER');
  t.ok(verifyHead(head, p256.publicKey));
  t.notOk(verifyHead(head, other.publicKey), 'another P-256 key');
  t.notOk(verifyHead({ ...head, seq: 4 }, p256.publicKey), 'another seq');
  t.notOk(verifyHead(headFor(last, box), p256.publicKey), 'an Ed25519 signature');
  t.notOk(verifyHead(head, box.publicKey), 'a P-256 signature under an Ed25519 key');
  t.same(verifyChain(entries, [head], p256.publicKey), {
    ok: true,
    vouchedThroughSeq: 5,
    lastSeq: 5,
    lastHash: last.hash,
  });
  const resigned = signHead({ source: last.source, seq: 5, hash: last.hash }, other.privateKey);
  t.match(verifyChain(entries, [resigned], p256.publicKey), {
    ok: false,
    index: 4,
    problem: 'head-bad-signature',
  });
  t.end();
});

void t.test('a P-256 head signature with any flipped bit does not verify (property)', (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const last = journalRun(3)[2] as JournalEntry;
  const head = signHead({ source: last.source, seq: last.seq, hash: last.hash }, p256.privateKey);
  const sig = Buffer.from(head.sig, 'base64url');
  fc.assert(
    fc.property(fc.nat(sig.length * 8 - 1), (bit) => {
      const flipped = Buffer.from(sig);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      return !verifyHead({ ...head, sig: flipped.toString('base64url') }, p256.publicKey);
    }),
    { numRuns: 100 },
  );
  t.pass('no flipped signature verified');
  t.end();
});

void t.test('P-256 heads are low-S; the high-S twin of a valid signature is refused', (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const last = journalRun(1)[0] as JournalEntry;
  for (let i = 0; i < 40; i++) {
    const head = signHead({ source: last.source, seq: i + 1, hash: last.hash }, p256.privateKey);
    const sig = Buffer.from(head.sig, 'base64url');
    t.ok(isLowS(sig), 'signed low-S');
    t.ok(verifyHead(head, p256.publicKey));
    const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const twin = Buffer.concat([
      sig.subarray(0, 32),
      Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex'),
    ]);
    // OpenSSL accepts (r, n - s): the check is ours.
    t.ok(
      verify(
        'sha256',
        headSigningInput(head),
        { key: p256.publicKey, dsaEncoding: 'ieee-p1363' },
        twin,
      ),
    );
    t.notOk(
      verifyHead({ ...head, sig: twin.toString('base64url') }, p256.publicKey),
      'high-S twin refused',
    );
  }
  t.end();
});

void t.test('head keys other than Ed25519 and ECDSA P-256 are refused with a clear error', (t) => {
  const last = journalRun(1)[0] as JournalEntry;
  const unhashed = { source: last.source, seq: last.seq, hash: last.hash };
  const refused = {
    'RSA 2048': generateKeyPairSync('rsa', { modulusLength: 2048 }),
    'ECDSA P-384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    Ed448: generateKeyPairSync('ed448'),
  };
  for (const [name, pair] of Object.entries(refused)) {
    t.throws(
      () => signHead(unhashed, pair.privateKey),
      { code: 'journal-key-unsupported', message: /Ed25519 or ECDSA P-256/ },
      `sign with ${name}`,
    );
    t.throws(
      () => verifyHead(headFor(last, box), pair.publicKey),
      { code: 'journal-key-unsupported' },
      `verify with ${name}`,
    );
    t.throws(() => verifyChain([last], [], pair.publicKey), { code: 'journal-key-unsupported' });
  }
  t.end();
});
