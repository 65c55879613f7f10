/**
 * `vigie pki list`: the index as a table for a person, one certificate a line,
 * times in Europe/Paris with their offset.
 */
import { readIndex, type IndexEntry } from './pki-index.js';
import { pkiPaths } from './pki-layout.js';

export async function listCertificates(dir: string): Promise<IndexEntry[]> {
  const index = await readIndex(pkiPaths(dir));
  return index.certificates;
}

const PARIS = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'longOffset',
});

/** Stored in UTC, shown in Europe/Paris time with the offset (DESIGN, What people see). */
export function formatParisTime(iso: string): string {
  return PARIS.format(new Date(iso)).replace('GMT', '');
}

function status(entry: IndexEntry, now: Date): string {
  if (entry.revokedAt !== null)
    return `revoked ${formatParisTime(entry.revokedAt)} (${entry.reason})`;
  if (new Date(entry.notAfter).getTime() <= now.getTime()) return 'expired';
  if (new Date(entry.notBefore).getTime() > now.getTime()) return 'not yet valid';
  return 'valid';
}

export function formatCertificateTable(entries: readonly IndexEntry[], now = new Date()): string {
  const header = ['SERIAL', 'KIND', 'ISSUER', 'NAME', 'IDENTITY', 'NOT AFTER', 'STATUS'];
  const rows = entries.map((e) => [
    e.serial,
    e.kind,
    e.issuer,
    e.commonName,
    e.identity ?? '-',
    formatParisTime(e.notAfter),
    status(e, now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
