/**
 * A small, strict XML reader for the limited SOAP the simulator must read
 * (ONVIF requests and WS-Discovery probes). It is deliberately not a general
 * parser: no DOCTYPE (so no entity expansion, "billion laughs" cannot start),
 * no processing instructions after the declaration, only the five predefined
 * entities and character references. Input size, nesting depth, element and
 * attribute counts are bounded, and the reader is iterative (an explicit stack),
 * so hostile input costs at most O(maxBytes) and never recursion depth.
 */

export interface XmlElement {
  /** Local name, without prefix. */
  readonly name: string;
  readonly prefix: string;
  /** Namespace URI the prefix resolves to ('' when none is in scope). */
  readonly ns: string;
  /** Attributes by qualified name, as written (xmlns declarations excluded). */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  /** Character data directly inside this element, concatenated. */
  text: string;
  /** Prefix -> namespace URI in scope at this element ('' is the default namespace). */
  readonly scope: ReadonlyMap<string, string>;
}

export interface XmlLimits {
  maxBytes: number; // default 64 KiB: an ONVIF request is a few KiB
  maxDepth: number; // default 32
  maxElements: number; // default 2000
  maxAttributes: number; // default 32 per element
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 64 * 1024,
  maxDepth: 32,
  maxElements: 2000,
  maxAttributes: 32,
};

/** Stable reasons, counted by the servers that read untrusted XML. */
export type XmlRejectReason =
  | 'xml-too-large'
  | 'xml-too-deep'
  | 'xml-too-many-elements'
  | 'xml-too-many-attributes'
  | 'xml-doctype'
  | 'xml-processing-instruction'
  | 'xml-bad-entity'
  | 'xml-unbound-prefix'
  | 'xml-not-utf8'
  | 'xml-malformed';

export class XmlRejected extends Error {
  override readonly name = 'XmlRejected';
  constructor(
    readonly reason: XmlRejectReason,
    message: string,
  ) {
    super(message);
  }
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const NAME = /^[A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?$/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one XML document; throws XmlRejected with a stable reason on anything else. */
export function readXml(input: string | Uint8Array, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  let text: string;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > lim.maxBytes) throw tooLarge(lim);
    text = input;
  } else {
    if (input.byteLength > lim.maxBytes) throw tooLarge(lim);
    try {
      text = utf8.decode(input);
    } catch {
      throw new XmlRejected('xml-not-utf8', 'the document is not valid UTF-8');
    }
  }
  return new Reader(text, lim).document();
}

function tooLarge(lim: XmlLimits): XmlRejected {
  return new XmlRejected('xml-too-large', `the document is larger than ${lim.maxBytes} bytes`);
}

function malformed(message: string): XmlRejected {
  return new XmlRejected('xml-malformed', message);
}

class Reader {
  #pos = 0;
  #elements = 0;

  constructor(
    readonly src: string,
    readonly lim: XmlLimits,
  ) {}

  document(): XmlElement {
    if (this.src.charCodeAt(0) === 0xfeff) this.#pos = 1;
    if (this.src.startsWith('<?xml', this.#pos) && /\s/.test(this.src[this.#pos + 5] ?? '')) {
      const end = this.src.indexOf('?>', this.#pos);
      if (end < 0) throw malformed('unterminated XML declaration');
      this.#pos = end + 2;
    }
    this.#misc();
    if (this.src[this.#pos] !== '<') throw malformed('no root element');
    const root = this.#elementTree();
    this.#misc();
    if (this.#pos !== this.src.length) throw malformed('content after the root element');
    return root;
  }

  /** Whitespace and comments outside the root; DOCTYPE and PIs are refused here. */
  #misc(): void {
    for (;;) {
      while (this.#pos < this.src.length && isSpace(this.src.charCodeAt(this.#pos))) this.#pos++;
      if (this.src.startsWith('<!--', this.#pos)) this.#comment();
      else if (this.src.startsWith('<!', this.#pos)) this.#refuseDeclaration();
      else if (this.src.startsWith('<?', this.#pos)) throw this.#pi();
      else return;
    }
  }

  #refuseDeclaration(): never {
    if (/^<!DOCTYPE/i.test(this.src.slice(this.#pos, this.#pos + 9)))
      throw new XmlRejected('xml-doctype', 'DOCTYPE is not accepted (no DTDs, no entities)');
    if (/^<!(ENTITY|ELEMENT|ATTLIST)/i.test(this.src.slice(this.#pos, this.#pos + 9)))
      throw new XmlRejected('xml-doctype', 'markup declarations are not accepted');
    throw malformed('unexpected <! construct');
  }

  #pi(): XmlRejected {
    return new XmlRejected(
      'xml-processing-instruction',
      'processing instructions are not accepted',
    );
  }

  #comment(): void {
    const end = this.src.indexOf('-->', this.#pos + 4);
    if (end < 0) throw malformed('unterminated comment');
    this.#pos = end + 3;
  }

  /** Reads the element at #pos and all its content, iteratively. */
  #elementTree(): XmlElement {
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    for (;;) {
      const parent = stack[stack.length - 1];
      if (this.src.startsWith('</', this.#pos)) {
        if (!parent) throw malformed('end tag without start tag');
        this.#endTag(parent);
        stack.pop();
        if (stack.length === 0) return parent;
      } else if (this.src.startsWith('<!--', this.#pos)) {
        this.#comment();
      } else if (this.src.startsWith('<![CDATA[', this.#pos)) {
        if (!parent) throw malformed('CDATA outside an element');
        const end = this.src.indexOf(']]>', this.#pos + 9);
        if (end < 0) throw malformed('unterminated CDATA section');
        parent.text += this.src.slice(this.#pos + 9, end);
        this.#pos = end + 3;
      } else if (this.src.startsWith('<!', this.#pos)) {
        this.#refuseDeclaration();
      } else if (this.src.startsWith('<?', this.#pos)) {
        throw this.#pi();
      } else if (this.src[this.#pos] === '<') {
        if (stack.length >= this.lim.maxDepth)
          throw new XmlRejected('xml-too-deep', `elements nest deeper than ${this.lim.maxDepth}`);
        if (++this.#elements > this.lim.maxElements)
          throw new XmlRejected(
            'xml-too-many-elements',
            `more than ${this.lim.maxElements} elements`,
          );
        const { element, selfClosing } = this.#startTag(parent?.scope);
        if (parent) parent.children.push(element);
        else root = element;
        if (selfClosing) {
          if (!parent) return element;
        } else {
          stack.push(element);
        }
      } else if (this.#pos >= this.src.length) {
        throw malformed('unexpected end of document');
      } else {
        if (!parent) throw malformed('text outside the root element');
        const end = this.src.indexOf('<', this.#pos);
        const stop = end < 0 ? this.src.length : end;
        parent.text += decodeEntities(this.src.slice(this.#pos, stop));
        this.#pos = stop;
      }
      if (root === undefined) throw malformed('no root element');
    }
  }

  #endTag(open: XmlElement): void {
    const end = this.src.indexOf('>', this.#pos);
    if (end < 0) throw malformed('unterminated end tag');
    const qname = this.src.slice(this.#pos + 2, end).trimEnd();
    const expected = open.prefix ? `${open.prefix}:${open.name}` : open.name;
    if (qname !== expected) throw malformed(`end tag </${qname}> does not close <${expected}>`);
    this.#pos = end + 1;
  }

  #startTag(parentScope: ReadonlyMap<string, string> | undefined): {
    element: XmlElement;
    selfClosing: boolean;
  } {
    this.#pos++; // '<'
    const qname = this.#name();
    const raw = new Map<string, string>();
    for (;;) {
      const hadSpace = this.#skipSpace();
      const c = this.src[this.#pos];
      if (c === '>' || (c === '/' && this.src[this.#pos + 1] === '>')) break;
      if (c === undefined) throw malformed('unterminated start tag');
      if (!hadSpace) throw malformed('attributes must be separated by whitespace');
      const attr = this.#name();
      this.#skipSpace();
      if (this.src[this.#pos] !== '=') throw malformed(`attribute ${attr} has no value`);
      this.#pos++;
      this.#skipSpace();
      const quote = this.src[this.#pos];
      if (quote !== '"' && quote !== "'") throw malformed(`attribute ${attr} is not quoted`);
      const end = this.src.indexOf(quote, this.#pos + 1);
      if (end < 0) throw malformed('unterminated attribute value');
      const value = this.src.slice(this.#pos + 1, end);
      if (value.includes('<')) throw malformed('< in an attribute value');
      if (raw.has(attr)) throw malformed(`duplicate attribute ${attr}`);
      if (raw.size >= this.lim.maxAttributes)
        throw new XmlRejected(
          'xml-too-many-attributes',
          `more than ${this.lim.maxAttributes} attributes`,
        );
      raw.set(attr, decodeEntities(value));
      this.#pos = end + 1;
    }
    const selfClosing = this.src[this.#pos] === '/';
    this.#pos += selfClosing ? 2 : 1;
    return { element: buildElement(qname, raw, parentScope), selfClosing };
  }

  #name(): string {
    const start = this.#pos;
    while (this.#pos < this.src.length && !/[\s/>=<"']/.test(this.src[this.#pos] ?? ''))
      this.#pos++;
    const name = this.src.slice(start, this.#pos);
    if (!NAME.test(name)) throw malformed(`invalid name "${name.slice(0, 40)}"`);
    return name;
  }

  #skipSpace(): boolean {
    const start = this.#pos;
    while (this.#pos < this.src.length && isSpace(this.src.charCodeAt(this.#pos))) this.#pos++;
    return this.#pos > start;
  }
}

function buildElement(
  qname: string,
  raw: Map<string, string>,
  parentScope: ReadonlyMap<string, string> | undefined,
): XmlElement {
  let scope = parentScope ?? new Map<string, string>([['xml', XML_NS]]);
  const attrs = new Map<string, string>();
  for (const [k, v] of raw) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (scope === parentScope || parentScope === undefined) scope = new Map(scope);
      (scope as Map<string, string>).set(k === 'xmlns' ? '' : k.slice(6), v);
    } else {
      attrs.set(k, v);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const name = colon < 0 ? qname : qname.slice(colon + 1);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '')
    throw new XmlRejected('xml-unbound-prefix', `prefix ${prefix} is not declared`);
  for (const k of attrs.keys()) {
    const p = k.includes(':') ? k.slice(0, k.indexOf(':')) : '';
    if (p && !scope.has(p))
      throw new XmlRejected('xml-unbound-prefix', `prefix ${p} is not declared`);
  }
  return { name, prefix, ns: ns ?? '', attrs, children: [], text: '', scope };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&]{0,12});?/g, (match, body: string) => {
    if (!match.endsWith(';'))
      throw new XmlRejected('xml-bad-entity', 'unterminated entity reference');
    const predefined = PREDEFINED[body];
    if (predefined !== undefined) return predefined;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
    if (!m)
      throw new XmlRejected('xml-bad-entity', `entity &${body.slice(0, 12)}; is not predefined`);
    const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2] ?? '', 10);
    const legal =
      cp === 0x9 ||
      cp === 0xa ||
      cp === 0xd ||
      (cp >= 0x20 && cp <= 0xd7ff) ||
      (cp >= 0xe000 && cp <= 0xfffd) ||
      (cp >= 0x10000 && cp <= 0x10ffff);
    if (!legal)
      throw new XmlRejected('xml-bad-entity', `character reference &${body}; is not legal`);
    return String.fromCodePoint(cp);
  });
}

/** Children of `el` with this local name and namespace. */
export function childrenNamed(el: XmlElement, ns: string, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name && c.ns === ns);
}

export function childNamed(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name && c.ns === ns);
}

/** Resolves a QName written in element content (e.g. "dn:NetworkVideoTransmitter"). */
export function resolveQName(
  el: XmlElement,
  qname: string,
): { ns: string; name: string } | undefined {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const ns = el.scope.get(prefix);
  if (ns === undefined && prefix !== '') return undefined;
  return { ns: ns ?? '', name: colon < 0 ? qname : qname.slice(colon + 1) };
}

/** Escapes text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
