/**
 * The register's PDF exports: A4 landscape pages, each with the title, the
 * period, the generation time (Paris), the register checkpoint the export was
 * taken at (tree size and root hash: what an auditor checks it against), the
 * table with its header row repeated, and "Page x sur y". Cells wrap on words
 * (a word longer than its column is cut); a row is kept whole on one page, and
 * only a row taller than a page continues on the next one.
 */
import { PdfPage, textWidth, writePdf } from './pdf-writer.js';
import { parisTime, WORDS, type Lang, type Table } from './register-text.js';

export interface ExportHeader {
  readonly title: string;
  /** Already formatted for people (Paris dates). */
  readonly period: string;
  readonly generated: Date;
  readonly checkpoint: { readonly treeSize: number; readonly rootHash: string } | null;
  readonly lang: Lang;
  /** Free lines under the header (why, to whom). */
  readonly notes?: readonly string[];
}

const PAGE = { width: 842, height: 595 }; // A4 landscape, points
const MARGIN = 30;
const SIZE = 6.5; // cell text
const LEADING = 8;
const PAD = 2;
const FOOTER_Y = 16;

/** Word-wraps `text` into lines no wider than `width` points. */
export function wrap(
  text: string,
  width: number,
  font: 'regular' | 'bold',
  size: number,
): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      const candidate = line === '' ? word : `${line} ${word}`;
      if (textWidth(candidate, font, size) <= width) {
        line = candidate;
        continue;
      }
      if (line !== '') lines.push(line);
      line = word;
      while (textWidth(line, font, size) > width && line.length > 1) {
        let cut = line.length - 1;
        while (cut > 1 && textWidth(line.slice(0, cut), font, size) > width) cut--;
        lines.push(line.slice(0, cut));
        line = line.slice(cut);
      }
    }
    lines.push(line);
  }
  return lines;
}

interface Layout {
  readonly x: number[];
  readonly widths: number[];
}

function layout(table: Table): Layout {
  const usable = PAGE.width - 2 * MARGIN;
  const total = table.columns.reduce((s, c) => s + c.weight, 0) || 1;
  const widths = table.columns.map((c) => (usable * c.weight) / total);
  const x: number[] = [];
  let at = MARGIN;
  for (const w of widths) {
    x.push(at);
    at += w;
  }
  return { x, widths };
}

function headerLines(h: ExportHeader): string[] {
  const w = WORDS[h.lang];
  const checkpoint = h.checkpoint
    ? `${w.checkpoint} : ${h.checkpoint.treeSize} ${w.entries}, ${w.rootHash} ${h.checkpoint.rootHash}`
    : `${w.checkpoint} : —`;
  return [
    `${w.period} : ${h.period}`,
    `${w.generatedAt} ${parisTime(h.generated.getTime(), h.lang)}`,
    checkpoint,
    ...(h.notes ?? []),
  ];
}

class PageFlow {
  readonly pages: PdfPage[] = [];
  #page: PdfPage | null = null;
  #y = 0;
  #rowsOnPage = 0;

  constructor(
    readonly header: ExportHeader,
    readonly table: Table,
    readonly cols: Layout,
  ) {}

  get room(): number {
    return this.#y - (FOOTER_Y + 12);
  }

  /** A new page with the document header and the table's header row. */
  newPage(): void {
    const page = new PdfPage(PAGE.width, PAGE.height);
    this.pages.push(page);
    this.#page = page;
    let y = PAGE.height - MARGIN;
    page.text(MARGIN, y - 12, this.header.title, 'bold', 12);
    y -= 26;
    for (const line of headerLines(this.header)) {
      page.text(MARGIN, y, line, 'regular', 8);
      y -= 10;
    }
    this.#y = y - 4;
    this.#rowsOnPage = 0;
    this.#row(
      this.table.columns.map((c) => c.header),
      'bold',
      true,
    );
  }

  /** Draws one row, continuing on new pages when it is taller than what is left. */
  row(cells: readonly string[]): void {
    if (this.#page === null) this.newPage();
    this.#row(cells, 'regular', false);
    this.#rowsOnPage++;
  }

  #row(cells: readonly string[], font: 'regular' | 'bold', shaded: boolean): void {
    let lines = cells.map((c, i) => wrap(c, (this.cols.widths[i] ?? 10) - 2 * PAD, font, SIZE));
    for (;;) {
      const tallest = Math.max(1, ...lines.map((l) => l.length));
      const fits = Math.floor((this.room - 2 * PAD) / LEADING);
      if (tallest > fits && !shaded && this.#rowsOnPage > 0) {
        this.newPage(); // a row is kept whole on one page unless it is taller than a page
        continue;
      }
      const take = Math.min(tallest, Math.max(1, fits));
      this.#draw(
        lines.map((l) => l.slice(0, take)),
        take,
        font,
        shaded,
      );
      lines = lines.map((l) => l.slice(take));
      if (lines.every((l) => l.length === 0)) return;
      this.newPage();
    }
  }

  #draw(lines: string[][], count: number, font: 'regular' | 'bold', shaded: boolean): void {
    const page = this.#page;
    if (page === null) return;
    const height = count * LEADING + 2 * PAD;
    const top = this.#y;
    const right = PAGE.width - MARGIN;
    if (shaded) page.fill(MARGIN, top - height, right - MARGIN, height);
    lines.forEach((cell, i) => {
      cell.forEach((text, j) => {
        page.text(
          (this.cols.x[i] ?? MARGIN) + PAD,
          top - PAD - (j + 1) * LEADING + 2,
          text,
          font,
          SIZE,
        );
      });
    });
    page.line(MARGIN, top, right, top);
    page.line(MARGIN, top - height, right, top - height);
    for (const x of [...this.cols.x, right]) page.line(x, top, x, top - height, 0.3);
    this.#y = top - height;
  }
}

/** The table as a PDF document (see the file comment). */
export function tableToPdf(table: Table, header: ExportHeader): Buffer {
  const flow = new PageFlow(header, table, layout(table));
  flow.newPage();
  for (const row of table.rows) flow.row(row);
  const w = WORDS[header.lang];
  const total = flow.pages.length;
  flow.pages.forEach((page, i) => {
    const label = `${w.page} ${i + 1} ${w.of} ${total}`;
    page.text(PAGE.width - MARGIN - textWidth(label, 'regular', 7), FOOTER_Y, label, 'regular', 7);
    page.text(MARGIN, FOOTER_Y, header.title, 'regular', 7);
  });
  return writePdf(flow.pages, { title: header.title, created: header.generated });
}
