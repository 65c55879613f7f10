/**
 * A minimal PDF 1.4 writer (ISO 32000-1 subset) for the register's exports:
 * pages of text and lines in the standard Helvetica fonts, which every reader
 * has (§9.6.2.2, no embedding), with WinAnsiEncoding (Annex D) so that French
 * accents, ’ « » — and € render. No dependency: an export must be reproducible
 * on an air-gapped machine, and what it holds must be plain to check.
 *
 * Text is encoded to WinAnsi (Windows-1252) and written as hex strings; a
 * character outside it becomes its base letter when it has one (NFD), a
 * listed replacement (→ as ->), or '?'. Widths come from Adobe's Helvetica
 * metrics (pdf-font-metrics.ts) for line wrapping.
 */
import { HELVETICA_BOLD_WIDTHS, HELVETICA_WIDTHS } from './pdf-font-metrics.js';

export type PdfFont = 'regular' | 'bold';

/** Windows-1252 bytes 0x80..0x9F (the rest of 0xA0..0xFF is Latin-1). */
const CP1252_HIGH: Readonly<Record<string, number>> = {
  '€': 0x80,
  '‚': 0x82,
  ƒ: 0x83,
  '„': 0x84,
  '…': 0x85,
  '†': 0x86,
  '‡': 0x87,
  ˆ: 0x88,
  '‰': 0x89,
  Š: 0x8a,
  '‹': 0x8b,
  Œ: 0x8c,
  Ž: 0x8e,
  '‘': 0x91,
  '’': 0x92,
  '“': 0x93,
  '”': 0x94,
  '•': 0x95,
  '–': 0x96,
  '—': 0x97,
  '˜': 0x98,
  '™': 0x99,
  š: 0x9a,
  '›': 0x9b,
  œ: 0x9c,
  ž: 0x9e,
  Ÿ: 0x9f,
};

const REPLACEMENTS: Readonly<Record<string, string>> = {
  '→': '->',
  '←': '<-',
  '\u202f': ' ', // narrow no-break space (French typography)
  '\u2009': ' ',
  '\u2011': '-',
  '≤': '<=',
  '≥': '>=',
};

function byteOf(ch: string): number | null {
  const code = ch.codePointAt(0) ?? 0;
  if (code === 0x09) return 0x20;
  if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff)) return code;
  return CP1252_HIGH[ch] ?? null;
}

/** The text as WinAnsi bytes (see the file comment for what is replaced). */
export function winAnsi(text: string): Buffer {
  const bytes: number[] = [];
  for (const ch of text.normalize('NFC')) {
    const direct = byteOf(ch);
    const replacement = REPLACEMENTS[ch];
    if (direct !== null) bytes.push(direct);
    else if (replacement !== undefined) bytes.push(...Buffer.from(replacement, 'latin1'));
    else bytes.push(byteOf(ch.normalize('NFD').charAt(0)) ?? 0x3f);
  }
  return Buffer.from(bytes);
}

/** Width of `text` in points at `size`. */
export function textWidth(text: string, font: PdfFont, size: number): number {
  const widths = font === 'bold' ? HELVETICA_BOLD_WIDTHS : HELVETICA_WIDTHS;
  let units = 0;
  for (const byte of winAnsi(text)) units += widths[byte - 32] ?? 556;
  return (units * size) / 1000;
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** One page's content stream, built with a few drawing operations. */
export class PdfPage {
  readonly #ops: string[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  text(x: number, y: number, text: string, font: PdfFont, size: number): void {
    const hex = winAnsi(text).toString('hex').toUpperCase();
    const f = font === 'bold' ? 'F2' : 'F1';
    this.#ops.push(`BT /${f} ${num(size)} Tf ${num(x)} ${num(y)} Td <${hex}> Tj ET`);
  }

  line(x1: number, y1: number, x2: number, y2: number, widthPt = 0.4): void {
    this.#ops.push(`${num(widthPt)} w ${num(x1)} ${num(y1)} m ${num(x2)} ${num(y2)} l S`);
  }

  /** A filled grey rectangle (table header background). */
  fill(x: number, y: number, w: number, h: number, grey = 0.9): void {
    this.#ops.push(`q ${num(grey)} g ${num(x)} ${num(y)} ${num(w)} ${num(h)} re f Q`);
  }

  content(): Buffer {
    return Buffer.from(this.#ops.join('\n') + '\n', 'latin1');
  }
}

export interface PdfInfo {
  readonly title: string;
  /** Instant of generation (the document's CreationDate, in UTC). */
  readonly created: Date;
}

function pdfString(text: string): string {
  return `<FEFF${Buffer.from(text, 'utf16le').swap16().toString('hex').toUpperCase()}>`;
}

function pdfDate(d: Date): string {
  const iso = d.toISOString();
  return `D:${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** Serialises pages into a PDF file: objects, cross-reference table with exact offsets, trailer. */
export function writePdf(pages: readonly PdfPage[], info: PdfInfo): Buffer {
  const objects: Buffer[] = [];
  const add = (body: string | Buffer): number => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  const catalog = add(''); // filled below, once the pages' ids are known
  const pagesId = add('');
  const font = (name: string): number =>
    add(`<< /Type /Font /Subtype /Type1 /BaseFont /${name} /Encoding /WinAnsiEncoding >>`);
  const f1 = font('Helvetica');
  const f2 = font('Helvetica-Bold');
  const kids: number[] = [];
  for (const page of pages) {
    const content = page.content();
    const stream = add(
      Buffer.concat([
        Buffer.from(`<< /Length ${content.length} >>\nstream\n`, 'latin1'),
        content,
        Buffer.from('endstream', 'latin1'),
      ]),
    );
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 ${num(page.width)} ${num(page.height)}] ` +
          `/Resources << /Font << /F1 ${f1} 0 R /F2 ${f2} 0 R >> >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = Buffer.from(`<< /Type /Catalog /Pages ${pagesId} 0 R >>`, 'latin1');
  objects[pagesId - 1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`,
    'latin1',
  );
  const infoId = add(
    `<< /Title ${pdfString(info.title)} /Producer (Vigie) /CreationDate (${pdfDate(info.created)}) >>`,
  );
  // The binary comment line tells transfer tools the file is binary (§7.5.2).
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xE2\xE3\xCF\xD3\n', 'latin1')];
  let offset = parts[0]?.length ?? 0;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(offset);
    const obj = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`, 'latin1'),
      body,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    parts.push(obj);
    offset += obj.length;
  });
  const xref = [
    'xref',
    `0 ${objects.length + 1}`,
    '0000000000 65535 f\r',
    ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n\r`),
    'trailer',
    `<< /Size ${objects.length + 1} /Root ${catalog} 0 R /Info ${infoId} 0 R >>`,
    'startxref',
    String(offset),
    '%%EOF',
  ].join('\n');
  parts.push(Buffer.from(xref + '\n', 'latin1'));
  return Buffer.concat(parts);
}
