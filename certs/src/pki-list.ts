/**
 * `vigie pki list`: the index as a table for a person, one certificate a line,
 * times in Europe/Paris with their offset.
 */
import { formatParis } from '../../protocol/src/paris-time.js';
import { readIndex, type IndexEntry } from './pki-index.js';
import { pkiPaths } from './pki-layout.js';

export async function listCertificates(dir: string): Promise<IndexEntry[]> {
  const index = await readIndex(pkiPaths(dir));
  return index.certificates;
}

/** Stored in UTC, shown in Europe/Paris time with the offset (DESIGN, What people see). */
export function formatParisTime(iso: string): string {
  // "2026-11-29 05:29 (UTC+01:00)" -> "2026-11-29 05:29 +01:00"
  return formatParis(new Date(iso)).replace(/\(UTC([+-]\d\d:\d\d)\)$/, '$1');
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
