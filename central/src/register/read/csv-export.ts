/**
 * CSV for the register's exports: RFC 4180 (comma, CRLF, fields quoted when
 * they hold a comma, a quote or a line break, quotes doubled), UTF-8 with a
 * byte-order mark so that a spreadsheet shows the French accents.
 *
 * A cell that a spreadsheet would run as a formula (starting with = + - @ or a
 * tab/CR: OWASP "CSV injection") gets a leading apostrophe: an export comes
 * from journal text that a box, a relay or a viewer wrote.
 */
import type { Table } from './register-text.js';

export const UTF8_BOM = '\uFEFF';
const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA = /^[=+\-@\t\r]/;

export function csvField(value: string): string {
  const safe = FORMULA.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The table as one CSV document (BOM, header line, one line per row, CRLF after each). */
export function toCsv(table: Table): Buffer {
  const lines = [
    table.columns.map((c) => csvField(c.header)).join(','),
    ...table.rows.map((row) => row.map(csvField).join(',')),
  ];
  return Buffer.from(UTF8_BOM + lines.map((l) => `${l}\r\n`).join(''), 'utf8');
}
