/**
 * What `vigie register list|show|annotate|export|verify|sources|access-log|
 * purge-access-log` do, against any RegisterStore. Every reading is recorded
 * in the access log (who, why, which cameras) before anything is shown; an
 * extraction needs a reason and a recipient. Output is French by default.
 */
import { writeFile } from 'node:fs/promises';
import { VigieError } from '../../../../lib/src/errors.js';
import { ACCESS_LOG_RETENTION_MS, type RegisterStore } from '../register-port.js';
import { exportRegister, periodText, type ExportFormat, type ExportKind } from './exports.js';
import { findSession, findTransmissions, parsePeriod, type TransmissionFilter } from './queries.js';
import {
  accessLogTable,
  closeReasonLabel,
  parisTime,
  purposeLabel,
  statusLabel,
  triggerLabel,
  viewerLabel,
  type Lang,
} from './register-text.js';
import { camerasOf, type Transmission } from './transmissions.js';
import { describeProblem, integrityOf } from './integrity.js';

export interface ReadContext {
  readonly store: RegisterStore;
  /** The OS user (CLI) or the login (web page). */
  readonly who: string;
  readonly now: () => Date;
  readonly out: (text: string) => void;
}

export interface FilterOptions {
  from?: string;
  to?: string;
  site?: string;
  camera?: string;
  recipient?: string;
  operator?: string;
}

export function filterFrom(o: FilterOptions): TransmissionFilter {
  return {
    period: parsePeriod(o.from, o.to),
    ...(o.site ? { site: o.site } : {}),
    ...(o.camera ? { camera: o.camera } : {}),
    ...(o.recipient ? { recipient: o.recipient } : {}),
    ...(o.operator ? { operator: o.operator } : {}),
  };
}

/** Records one reading in the access log: always before anything is shown. */
function consulted(
  ctx: ReadContext,
  detail: string,
  cameras: readonly string[] = [],
  why = '',
  action: 'consult' | 'verify' | 'annotate' = 'consult',
): Promise<unknown> {
  return ctx.store.recordAccess({ who: ctx.who, action, why, toWhom: '', cameras, detail });
}

function detailOf(command: string, o: object): string {
  const parts = Object.entries(o)
    .filter(
      ([k, v]) =>
        typeof v === 'string' && !['config', 'db', 'key', 'kid', 'lang', 'why'].includes(k),
    )
    .map(([k, v]) => `${k}=${String(v)}`);
  return [command, ...parts].join(' ');
}

/** Plain-text columns, padded; the last column is not. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function listTransmissions(
  ctx: ReadContext,
  o: FilterOptions & { json?: boolean; lang: Lang; why?: string },
): Promise<void> {
  const rows = await findTransmissions(ctx.store, filterFrom(o));
  await consulted(ctx, detailOf('list', o), camerasOf(rows), o.why ?? '', 'consult');
  if (o.json) return ctx.out(JSON.stringify(rows.map(withoutTimeline), null, 2));
  const fr = o.lang === 'fr';
  const header = fr
    ? ['Ouverture', 'Site', 'Caméras', 'Destinataire', 'Opérateur', 'Statut', 'Session']
    : ['Opened', 'Site', 'Cameras', 'Recipient', 'Operator', 'Status', 'Session'];
  const lines = rows.map((r) => [
    parisTime(r.openedAt ?? r.requestedAt, o.lang),
    r.site ?? r.source ?? '—',
    r.cameras.join(',') || '—',
    r.recipient ?? '—',
    r.operator ?? '—',
    statusLabel(r.status, o.lang),
    r.key,
  ]);
  const count = fr ? `${rows.length} transmission(s)` : `${rows.length} transmission(s)`;
  ctx.out(rows.length === 0 ? count : `${columns([header, ...lines])}\n${count}`);
}

function withoutTimeline(r: Transmission): Omit<Transmission, 'timeline'> {
  const { timeline, ...rest } = r;
  void timeline;
  return rest;
}

function sessionLines(r: Transmission, lang: Lang): string[] {
  const fr = lang === 'fr';
  const field = (fr_: string, en: string, value: string): string =>
    `${(fr ? fr_ : en).padEnd(24)}${value}`;
  return [
    field('Session', 'Session', r.key),
    field('Statut', 'Status', statusLabel(r.status, lang)),
    field('Site (boîtier)', 'Site (box)', `${r.site ?? '—'} (${r.source ?? '—'})`),
    field('Caméras', 'Cameras', r.cameras.join(', ') || '—'),
    field('Destinataire', 'Recipient', r.recipient ?? '—'),
    field('Finalité', 'Purpose', purposeLabel(r.purpose, lang)),
    field('Déclenchement', 'Trigger', triggerLabel(r, lang)),
    field('Réf. appel', 'Call ref.', r.callRef ?? '—'),
    field('Opérateur', 'Operator', r.operator ?? '—'),
    field('Demandée', 'Requested', parisTime(r.requestedAt, lang)),
    field('Ouverte', 'Opened', parisTime(r.openedAt, lang)),
    field('Fermée', 'Closed', parisTime(r.closedAt, lang)),
    field('Motif de fermeture', 'Close reason', closeReasonLabel(r.closeReason, lang)),
    ...r.viewers.map((v) => field('Visionneur', 'Viewer', viewerLabel(v, lang))),
    ...r.outcomes.map((a) =>
      field(
        'Suite de l’intervention',
        'Outcome',
        `${a.outcome} (${a.author}, ${parisTime(a.timeMs, lang)})`,
      ),
    ),
  ];
}

export async function showSession(
  ctx: ReadContext,
  sessionId: string,
  o: { json?: boolean; lang: Lang; why?: string },
): Promise<void> {
  const row = await findSession(ctx.store, sessionId);
  if (row === null) {
    throw new VigieError(
      'session-not-found',
      `the register holds no transmission ${sessionId}: check the id with \`vigie register list\``,
    );
  }
  await consulted(ctx, `show ${sessionId}`, [...row.cameras], o.why ?? '', 'consult');
  if (o.json) return ctx.out(JSON.stringify(row, null, 2));
  const timeline = row.timeline.map(
    (e) =>
      `  ${parisTime(e.time, o.lang)}  ${e.type.padEnd(24)} ${e.source}#${e.seq}  ${JSON.stringify(e.data)}`,
  );
  ctx.out(
    [
      ...sessionLines(row, o.lang),
      '',
      o.lang === 'fr' ? 'Chronologie :' : 'Timeline:',
      ...timeline,
    ].join('\n'),
  );
}

export async function annotateSession(
  ctx: ReadContext,
  sessionId: string,
  o: { outcome: string; author?: string },
): Promise<void> {
  const outcome = o.outcome.trim();
  if (outcome === '' || outcome.length > 2000) {
    throw new VigieError('config-invalid', '--outcome must be 1 to 2,000 characters');
  }
  const row = await findSession(ctx.store, sessionId);
  if (row === null || row.sessionId === null) {
    throw new VigieError(
      'session-not-found',
      `the register holds no session ${sessionId}: check the id with \`vigie register list\``,
    );
  }
  const author = (o.author ?? ctx.who).trim() || ctx.who;
  await consulted(
    ctx,
    `annotate ${sessionId}`,
    [...row.cameras],
    'suite de l’intervention',
    'annotate',
  );
  const a = await ctx.store.annotate({ sessionId, outcome, author });
  ctx.out(`annotation ${a.id} enregistrée pour ${sessionId} (${author}, ${parisTime(a.timeMs)})`);
}

export async function exportToFile(
  ctx: ReadContext,
  o: FilterOptions & {
    format: ExportFormat;
    kind: ExportKind;
    why?: string;
    toWhom?: string;
    out: string;
    lang: Lang;
  },
): Promise<void> {
  const filter = { ...filterFrom(o), period: parsePeriod(o.from, o.to) };
  const result = await exportRegister(
    ctx.store,
    {
      kind: o.kind,
      format: o.format,
      filter,
      lang: o.lang,
      who: ctx.who,
      why: o.why ?? '',
      toWhom: o.toWhom ?? '',
    },
    ctx.now,
  );
  try {
    await writeFile(o.out, result.bytes, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST')
      throw new VigieError('file-exists', `${o.out} exists: choose another --out file`);
    throw new VigieError('file-unreadable', `cannot write ${o.out}: ${e.message}`, { cause: err });
  }
  ctx.out(
    `${o.out} : ${result.rows} ligne(s), ${periodText(filter.period, o.lang)} (extraction ${result.access.id} consignée)`,
  );
}

export async function verifyRegisterCommand(
  ctx: ReadContext,
  o: { json?: boolean },
): Promise<void> {
  await consulted(ctx, 'verify', [], '', 'verify');
  const report = await ctx.store.verifyAll();
  if (o.json) ctx.out(JSON.stringify(report, null, 2));
  else {
    const lines = [
      `${report.sources.length} source(s), ${report.checkpoints} checkpoint(s)`,
      ...report.sources.map(
        (s) =>
          `  ${s.source}: ${s.entries} entries, last seq ${s.lastSeq ?? '-'}, signed through ${s.vouchedThroughSeq ?? '-'}`,
      ),
      ...report.problems.map((p) => `  PROBLEM ${describeProblem(p)}`),
      report.ok ? 'register verified: every chain and checkpoint is intact' : '',
    ];
    ctx.out(lines.filter(Boolean).join('\n'));
  }
  if (!report.ok) {
    throw new VigieError(
      'register-broken',
      `the register does not verify: ${report.problems.length} problem(s), first: ${describeProblem(report.problems[0])}`,
    );
  }
}

export async function listSources(
  ctx: ReadContext,
  o: { json?: boolean; lang: Lang },
): Promise<void> {
  await consulted(ctx, 'sources', [], '', 'consult');
  const rows = integrityOf(await ctx.store.sources(), null);
  if (o.json) return ctx.out(JSON.stringify(rows, null, 2));
  const fr = o.lang === 'fr';
  const header = fr
    ? ['Boîtier', 'Site', 'Entrées', 'Dernière', 'Signé jusqu’à', 'Preuves', 'État']
    : ['Box', 'Site', 'Entries', 'Last', 'Signed through', 'Evidence', 'State'];
  ctx.out(
    columns([
      header,
      ...rows.map((r) => [
        r.source,
        r.site ?? '—',
        String(r.entries),
        parisTime(r.lastTime, o.lang),
        r.vouchedThroughSeq === null ? '—' : String(r.vouchedThroughSeq),
        String(r.evidence),
        r.state[o.lang],
      ]),
    ]),
  );
}

export async function showAccessLog(
  ctx: ReadContext,
  o: { from?: string; to?: string; json?: boolean; lang: Lang },
): Promise<void> {
  const period = parsePeriod(o.from, o.to);
  await consulted(ctx, detailOf('access-log', o), [], '', 'consult');
  const records = await ctx.store.accessLog({
    fromMs: period.from?.getTime(),
    toMs: period.to?.getTime(),
  });
  if (o.json) return ctx.out(JSON.stringify(records, null, 2));
  const table = accessLogTable(records, o.lang);
  ctx.out(columns([table.columns.map((c) => c.header), ...table.rows]));
}

/** Removes access-log entries past the three-year retention, with a purge record. */
export async function purgeAccessLog(ctx: ReadContext): Promise<void> {
  const before = ctx.now().getTime() - ACCESS_LOG_RETENTION_MS;
  const purge = await ctx.store.purgeAccessLog(before, ctx.who);
  ctx.out(
    `${purge.removed} entrée(s) du journal des accès antérieures au ${parisTime(before)} supprimée(s) ; purge ${purge.id} consignée (sha256 ${purge.removedSha256})`,
  );
}
