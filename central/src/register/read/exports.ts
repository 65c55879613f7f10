/**
 * Extractions of the register (the convention's register of transmissions,
 * and the access log), as CSV or PDF. The law asks for a trace of every
 * extraction, who, when, why, to whom and which cameras: the access is
 * recorded in the store before any byte of the export exists, and an
 * extraction without a reason and a recipient is refused.
 */
import { VigieError } from '../../../../lib/src/errors.js';
import type { AccessRecord, RegisterStore } from '../register-port.js';
import { toCsv } from './csv-export.js';
import { tableToPdf } from './pdf-export.js';
import { findTransmissions, type Period, type TransmissionFilter } from './queries.js';
import {
  accessLogTable,
  parisTime,
  transmissionTable,
  WORDS,
  type Lang,
  type Table,
} from './register-text.js';
import { camerasOf } from './transmissions.js';

export type ExportKind = 'transmissions' | 'access-log';
export type ExportFormat = 'csv' | 'pdf';

export interface ExportRequest {
  readonly kind: ExportKind;
  readonly format: ExportFormat;
  readonly filter: TransmissionFilter & { readonly period: Period };
  readonly lang: Lang;
  /** Who extracts: the login or the OS user. */
  readonly who: string;
  readonly why: string;
  readonly toWhom: string;
}

export interface ExportResult {
  readonly bytes: Buffer;
  readonly rows: number;
  readonly access: AccessRecord;
}

export function periodText(period: Period, lang: Lang): string {
  const w = WORDS[lang];
  if (period.from === null && period.to === null) return w.allTime;
  const from = period.from ? parisTime(period.from.getTime(), lang) : w.allTime;
  if (period.to === null) return lang === 'fr' ? `depuis le ${from}` : `since ${from}`;
  const to = parisTime(period.to.getTime(), lang);
  if (period.from === null)
    return lang === 'fr' ? `jusqu’au ${to} (exclu)` : `until ${to} (excluded)`;
  return lang === 'fr' ? `du ${from} au ${to} (exclu)` : `from ${from} to ${to} (excluded)`;
}

/** Refuses an extraction without its legal trace (why, to whom). */
export function requireReason(why: string | undefined, toWhom: string | undefined): void {
  const missing = [
    (why ?? '').trim() === '' ? '--why (the reason for the extraction)' : null,
    (toWhom ?? '').trim() === '' ? '--to-whom (who receives it)' : null,
  ].filter((m): m is string => m !== null);
  if (missing.length > 0) {
    throw new VigieError(
      'config-invalid',
      `an extraction of the register is recorded with its reason and its recipient: give ${missing.join(' and ')}`,
    );
  }
}

function filterText(req: ExportRequest): string {
  const f = req.filter;
  const parts = [
    `kind=${req.kind}`,
    `format=${req.format}`,
    `from=${f.period.from?.toISOString() ?? '-'}`,
    `to=${f.period.to?.toISOString() ?? '-'}`,
    f.site ? `site=${f.site}` : '',
    f.camera ? `camera=${f.camera}` : '',
    f.recipient ? `recipient=${f.recipient}` : '',
    f.operator ? `operator=${f.operator}` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/** Queries, records the extraction, then renders it. */
export async function exportRegister(
  store: RegisterStore,
  req: ExportRequest,
  now: () => Date,
): Promise<ExportResult> {
  requireReason(req.why, req.toWhom);
  let table: Table;
  let cameras: string[];
  let title: string;
  if (req.kind === 'transmissions') {
    const rows = await findTransmissions(store, req.filter);
    table = transmissionTable(rows, req.lang);
    cameras = camerasOf(rows);
    title = WORDS[req.lang].registerTitle;
  } else {
    const { from, to } = req.filter.period;
    const records = await store.accessLog({ fromMs: from?.getTime(), toMs: to?.getTime() });
    table = accessLogTable(records, req.lang);
    cameras = [];
    title = WORDS[req.lang].accessTitle;
  }
  const access = await store.recordAccess({
    who: req.who,
    action: 'export',
    why: req.why.trim(),
    toWhom: req.toWhom.trim(),
    cameras,
    detail: `${filterText(req)} rows=${table.rows.length}`,
  });
  const checkpoint = await store.checkpoint();
  const period = periodText(req.filter.period, req.lang);
  const notes =
    req.lang === 'fr'
      ? [
          `Extraction par ${req.who}, motif : ${req.why.trim()}, destinataire : ${req.toWhom.trim()}`,
        ]
      : [`Extracted by ${req.who}, why: ${req.why.trim()}, to: ${req.toWhom.trim()}`];
  const bytes =
    req.format === 'csv'
      ? toCsv(table)
      : tableToPdf(table, {
          title,
          period,
          generated: now(),
          checkpoint,
          lang: req.lang,
          notes,
        });
  return { bytes, rows: table.rows.length, access };
}
