import t from 'tap';
import fc from 'fast-check';
import { REDACTED, Redactor, redact } from '../../lib/src/redact.js';

t.test('removes credentials from RTSP and HTTP URLs', async (t) => {
  const out = redact('opening rtsp://admin:S3cr3t!@192.0.2.10:554/stream1 now');
  t.notMatch(out, /S3cr3t/);
  t.notMatch(out, /admin/);
  t.match(out, `rtsp://${REDACTED}@192.0.2.10:554/stream1`);
  t.equal(redact('http://user@host/x'), `http://${REDACTED}@host/x`);
});

t.test('removes PEM private keys but keeps certificates', async (t) => {
  const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+abc\n-----END PRIVATE KEY-----';
  const ec = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIabc\n-----END EC PRIVATE KEY-----';
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  const out = redact(`${key}\n${ec}\n${cert}`);
  t.notMatch(out, /MC4CAQAw/);
  t.notMatch(out, /MHcCAQEE/);
  t.match(out, /MIIB/);
});

t.test('removes password=, token: and bearer values', async (t) => {
  const out = redact(
    'password=hunter22 token: "abc.def.ghi" Authorization: Bearer eyJhbGciOiJFZERTQSJ9',
  );
  t.notMatch(out, /hunter22/);
  t.notMatch(out, /abc\.def\.ghi/);
  t.notMatch(out, /eyJhbGciOiJFZERTQSJ9/);
});

t.test('masks registered exact secrets wherever they appear', async (t) => {
  const r = new Redactor();
  r.addSecret('camera-pass-07');
  t.equal(
    r.redact('auth failed with camera-pass-07 on cam-07'),
    `auth failed with ${REDACTED} on cam-07`,
  );
  t.same(r.redactValue({ a: ['x camera-pass-07'], password: 'anything', n: 3 }), {
    a: [`x ${REDACTED}`],
    password: REDACTED,
    n: 3,
  });
});

t.test('a registered secret never survives redaction, whatever surrounds it', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.string({ minLength: 4, maxLength: 40 }).filter((s) => !s.includes(REDACTED)),
        fc.string(),
        fc.string(),
        (secret, before, after) => {
          const r = new Redactor();
          r.addSecret(secret);
          return !r.redact(before + secret + after).includes(secret);
        },
      ),
    ),
  );
});
