/**
 * The strict XML reader under hostile input: arbitrary bytes never crash it
 * (only XmlRejected with a stable reason, or a tree), its work stays bounded by
 * the size limit, entity expansion cannot start, and limits are enforced.
 */
import fc from 'fast-check';
import t from 'tap';
import { readSoap, SoapRejected } from '../../sim/src/soap.js';
import { readXml, XmlRejected, type XmlElement } from '../../lib/src/xml-reader.js';

const REASONS = new Set([
  'xml-too-large',
  'xml-too-deep',
  'xml-too-many-elements',
  'xml-too-many-attributes',
  'xml-doctype',
  'xml-processing-instruction',
  'xml-bad-entity',
  'xml-unbound-prefix',
  'xml-not-utf8',
  'xml-malformed',
]);

function reasonOf(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return err instanceof XmlRejected ? err.reason : `other: ${String(err)}`;
  }
}

function depth(el: XmlElement): number {
  let max = 0;
  const stack: [XmlElement, number][] = [[el, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop() as [XmlElement, number];
    max = Math.max(max, d);
    for (const c of e.children) stack.push([c, d + 1]);
  }
  return max;
}

/** Fragments that make random input look like XML often enough to reach deep paths. */
const xmlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '<a>',
        '</a>',
        '<s:E xmlns:s="u">',
        '</s:E>',
        '<b x="1"/>',
        '&amp;',
        '&lol;',
        '&#0;',
        '&#x41;',
        '<!--c-->',
        '<![CDATA[x]]>',
        '<?pi?>',
        '<!DOCTYPE a>',
        '<!ENTITY e "x">',
        ' ',
        '"',
        "'",
        '=',
        '<',
        '>',
        '/',
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 200 },
  )
  .map((parts) => parts.join(''));

t.test('arbitrary bytes never crash the reader and results respect the limits', async (t) => {
  const limits = { maxBytes: 4096, maxDepth: 8, maxElements: 64, maxAttributes: 4 };
  const check = (input: string | Uint8Array): boolean => {
    try {
      const tree = readXml(input, limits);
      return depth(tree) <= limits.maxDepth;
    } catch (err) {
      return err instanceof XmlRejected && REASONS.has(err.reason);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 6000 }), check), { numRuns: 2000 });
  fc.assert(fc.property(xmlish, check), { numRuns: 5000 });
  fc.assert(
    fc.property(xmlish, (s) => {
      try {
        readSoap(s);
        return true;
      } catch (err) {
        return err instanceof XmlRejected || err instanceof SoapRejected;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass('no crash, every refusal has a catalogued reason');
});

t.test('work stays bounded: a maximal hostile document is refused or read quickly', async (t) => {
  const inputs = [
    '<a>'.repeat(20_000),
    `<a>${'&amp;'.repeat(12_000)}</a>`,
    `<a ${Array.from({ length: 5000 }, (_, i) => `x${i}="1"`).join(' ')}/>`,
    `<a>${'<b/>'.repeat(16_000)}</a>`,
  ];
  for (const input of inputs) {
    const started = performance.now();
    try {
      const tree = readXml(input.slice(0, 64 * 1024));
      t.ok(depth(tree) <= 32, 'read, within the depth limit');
    } catch (err) {
      t.ok(err instanceof XmlRejected, 'or refused with a reason');
    }
    t.ok(performance.now() - started < 500, 'within 500 ms');
  }
  t.equal(
    reasonOf(() => readXml('x'.repeat(64 * 1024 + 1))),
    'xml-too-large',
  );
});

t.test('a billion-laughs DOCTYPE is refused before any entity is expanded', async (t) => {
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from(
      { length: 9 },
      (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('\n') +
    ']>\n<lolz>&lol9;</lolz>';
  t.equal(
    reasonOf(() => readXml(laughs)),
    'xml-doctype',
  );
  t.equal(
    reasonOf(() => readXml('<a>&lol9;</a>')),
    'xml-bad-entity',
    'undeclared entities too',
  );
  t.equal(
    reasonOf(() => readXml('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>')),
    'xml-doctype',
  );
  t.equal(
    reasonOf(() => readXml('<a><!ENTITY x "y"></a>')),
    'xml-doctype',
  );
});

t.test('the reader resolves namespaces and the predefined entities', async (t) => {
  const el = readXml(
    '<?xml version="1.0"?><s:E xmlns:s="urn:s" xmlns="urn:d"><b t="&lt;&#x41;">x &amp; y<![CDATA[<z>]]></b></s:E>',
  );
  t.equal(el.name, 'E');
  t.equal(el.ns, 'urn:s');
  const b = el.children[0];
  t.equal(b?.ns, 'urn:d');
  t.equal(b?.attrs.get('t'), '<A');
  t.equal(b?.text, 'x & y<z>');
  t.equal(
    reasonOf(() => readXml('<p:a/>')),
    'xml-unbound-prefix',
  );
  t.equal(
    reasonOf(() => readXml('<a></b>')),
    'xml-malformed',
  );
  t.equal(
    reasonOf(() => readXml('<a/><b/>')),
    'xml-malformed',
  );
});
