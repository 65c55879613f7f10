/**
 * requestUrl: whatever request target a client sends, our pages get a path on
 * their own origin, never an exception (a 500) nor another host.
 */
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import t from 'tap';
import { requestUrl } from '../../lib/src/web/http-util.js';

const req = (url: string | undefined): IncomingMessage => ({ url }) as IncomingMessage;

void t.test('ordinary targets keep their path and query', (t) => {
  const url = requestUrl(req('/sessions/abc?from=2026-11-01&site=borny'));
  t.equal(url.pathname, '/sessions/abc');
  t.equal(url.searchParams.get('site'), 'borny');
  t.equal(requestUrl(req(undefined)).pathname, '/');
  t.end();
});

void t.test('protocol-relative and absolute targets stay on our origin', (t) => {
  for (const target of ['//', '//evil.example/x', 'http://evil.example/y', '*', '']) {
    const url = requestUrl(req(target));
    t.equal(url.host, 'vigie.invalid', target);
  }
  t.equal(requestUrl(req('//evil.example/x')).pathname, '//evil.example/x');
  t.end();
});

void t.test('never throws, always our origin', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (target) => {
      return requestUrl(req(target)).host === 'vigie.invalid';
    }),
    { numRuns: 2000 },
  );
  t.pass('2,000 targets');
  t.end();
});
