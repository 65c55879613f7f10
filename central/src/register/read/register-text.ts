/**
 * What the register's readers show people, in French by default and English
 * on request (DESIGN.md, "What people see"): column headers, statuses, the
 * convention's labels for purposes and close reasons, and times in
 * Europe/Paris with their offset (stored in UTC).
 */
import { CLOSE_REASON_LABELS, CLOSE_REASONS } from '../../../../protocol/src/close-reasons.js';
import { formatParis } from '../../../../protocol/src/paris-time.js';
import { PURPOSE_LABELS, PURPOSES } from '../../../../protocol/src/purposes.js';
import type { Lang } from '../../../../protocol/src/reason-text.js';
import type { AccessRecord } from '../register-port.js';
import type { Transmission, TransmissionStatus, ViewerSpan } from './transmissions.js';

export type { Lang };

/** A table for people: what CSV and PDF exports and the web page render. */
export interface Table {
  readonly columns: readonly { readonly header: string; readonly weight: number }[];
  readonly rows: readonly (readonly string[])[];
}

const STATUS: Record<Lang, Record<TransmissionStatus, string>> = {
  fr: { open: 'en cours', closed: 'fermée', refused: 'refusée', failed: 'échec d’ouverture' },
  en: { open: 'open', closed: 'closed', refused: 'refused', failed: 'failed to open' },
};

const ACTIONS: Record<Lang, Record<AccessRecord['action'], string>> = {
  fr: {
    consult: 'consultation',
    export: 'extraction',
    verify: 'vérification',
    annotate: 'annotation',
  },
  en: {
    consult: 'consultation',
    export: 'extraction',
    verify: 'verification',
    annotate: 'annotation',
  },
};

export const WORDS = {
  fr: {
    none: '—',
    untilClose: 'jusqu’à la fermeture',
    urgence: 'urgence',
    occupation: 'occupation',
    decidedBy: 'décidée par',
    outsideWindow: 'hors plage horaire',
    registerTitle: 'Registre de consignation des transmissions et des interventions consécutives',
    accessTitle: 'Journal des consultations et extractions du registre',
    period: 'Période',
    allTime: 'depuis l’origine',
    generatedAt: 'Édité le',
    checkpoint: 'Point de contrôle du registre',
    entries: 'entrées',
    rootHash: 'empreinte',
    page: 'Page',
    of: 'sur',
    rows: 'lignes',
  },
  en: {
    none: '—',
    untilClose: 'until the close',
    urgence: 'emergency',
    occupation: 'occupation',
    decidedBy: 'decided by',
    outsideWindow: 'outside the time windows',
    registerTitle: 'Register of transmissions and subsequent interventions',
    accessTitle: 'Log of consultations and extractions of the register',
    period: 'Period',
    allTime: 'since the beginning',
    generatedAt: 'Generated',
    checkpoint: 'Register checkpoint',
    entries: 'entries',
    rootHash: 'root hash',
    page: 'Page',
    of: 'of',
    rows: 'rows',
  },
} as const;

const TRANSMISSION_COLUMNS: Record<Lang, readonly [string, number][]> = {
  fr: [
    ['Session', 6],
    ['Site', 5],
    ['Caméras', 5],
    ['Destinataire', 5],
    ['Finalité', 8],
    ['Déclenchement', 7],
    ['Réf. appel', 6],
    ['Opérateur', 5],
    ['Ouverture', 6],
    ['Fermeture', 6],
    ['Motif de fermeture', 8],
    ['Visionneurs', 10],
    ['Suite de l’intervention', 9],
    ['Statut', 4],
  ],
  en: [
    ['Session', 6],
    ['Site', 5],
    ['Cameras', 5],
    ['Recipient', 5],
    ['Purpose', 8],
    ['Trigger', 7],
    ['Call ref.', 6],
    ['Operator', 5],
    ['Opened', 6],
    ['Closed', 6],
    ['Close reason', 8],
    ['Viewers', 10],
    ['Intervention outcome', 9],
    ['Status', 4],
  ],
};

const ACCESS_COLUMNS: Record<Lang, readonly [string, number][]> = {
  fr: [
    ['Date', 7],
    ['Qui', 5],
    ['Action', 4],
    ['Motif', 8],
    ['Destinataire', 6],
    ['Caméras', 5],
    ['Détail', 10],
  ],
  en: [
    ['Date', 7],
    ['Who', 5],
    ['Action', 4],
    ['Why', 8],
    ['To whom', 6],
    ['Cameras', 5],
    ['Detail', 10],
  ],
};

/** An ISO UTC time (or epoch ms) in Paris time with its offset; '—' for nothing. */
export function parisTime(value: string | number | null, lang: Lang = 'fr'): string {
  if (value === null) return WORDS[lang].none;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isNaN(ms) ? String(value) : formatParis(new Date(ms));
}

export function statusLabel(status: TransmissionStatus, lang: Lang = 'fr'): string {
  return STATUS[lang][status];
}

export function actionLabel(action: AccessRecord['action'], lang: Lang = 'fr'): string {
  return ACTIONS[lang][action] ?? action;
}

export function purposeLabel(purpose: string | null, lang: Lang = 'fr'): string {
  if (purpose === null) return WORDS[lang].none;
  return (PURPOSES as readonly string[]).includes(purpose)
    ? PURPOSE_LABELS[purpose as (typeof PURPOSES)[number]][lang]
    : purpose;
}

export function closeReasonLabel(reason: string | null, lang: Lang = 'fr'): string {
  if (reason === null) return WORDS[lang].none;
  return (CLOSE_REASONS as readonly string[]).includes(reason)
    ? CLOSE_REASON_LABELS[lang][reason as (typeof CLOSE_REASONS)[number]]
    : reason;
}

export function triggerLabel(row: Transmission, lang: Lang = 'fr'): string {
  const w = WORDS[lang];
  if (row.trigger === null) return w.none;
  const kind =
    row.trigger.kind === 'urgence'
      ? w.urgence
      : row.trigger.kind === 'occupation'
        ? w.occupation
        : row.trigger.kind;
  const officer = row.trigger.officer ? ` (${w.decidedBy} ${row.trigger.officer})` : '';
  return `${kind}${officer}${row.urgenceOutsideWindow ? `, ${w.outsideWindow}` : ''}`;
}

export function viewerLabel(v: ViewerSpan, lang: Lang = 'fr'): string {
  const who = v.name ? `${v.name} (${v.viewerId})` : v.viewerId;
  const to = v.to === null ? WORDS[lang].untilClose : parisTime(v.to, lang);
  return `${who} : ${parisTime(v.from, lang)} → ${to}`;
}

function outcomeLabel(row: Transmission, lang: Lang): string {
  const parts: string[] = [];
  if (row.interventionOver) {
    const note = row.interventionOver.note ? ` : ${row.interventionOver.note}` : '';
    const end = lang === 'fr' ? 'fin signalée' : 'end reported';
    parts.push(`${end} ${parisTime(row.interventionOver.time, lang)}${note}`);
  }
  if (row.outcome) parts.push(`${row.outcome.outcome} (${row.outcome.author})`);
  if (row.refusal) parts.push([row.refusal.reason, row.refusal.detail].filter(Boolean).join(' : '));
  return parts.length > 0 ? parts.join(' ; ') : WORDS[lang].none;
}

/** The convention's register as a table. */
export function transmissionTable(rows: readonly Transmission[], lang: Lang = 'fr'): Table {
  const none = WORDS[lang].none;
  return {
    columns: TRANSMISSION_COLUMNS[lang].map(([header, weight]) => ({ header, weight })),
    rows: rows.map((r) => [
      r.sessionId ?? r.key,
      r.site ?? r.source ?? none,
      r.cameras.join(', ') || none,
      r.recipient ?? none,
      purposeLabel(r.purpose, lang),
      triggerLabel(r, lang),
      r.callRef ?? none,
      r.operator ?? none,
      parisTime(r.openedAt ?? r.requestedAt, lang),
      parisTime(r.closedAt, lang),
      closeReasonLabel(r.closeReason, lang),
      r.viewers.map((v) => viewerLabel(v, lang)).join(' ; ') || none,
      outcomeLabel(r, lang),
      statusLabel(r.status, lang),
    ]),
  };
}

/** The access log as a table. */
export function accessLogTable(records: readonly AccessRecord[], lang: Lang = 'fr'): Table {
  const none = WORDS[lang].none;
  return {
    columns: ACCESS_COLUMNS[lang].map(([header, weight]) => ({ header, weight })),
    rows: records.map((r) => [
      parisTime(r.timeMs, lang),
      r.who,
      actionLabel(r.action, lang),
      r.why || none,
      r.toWhom || none,
      r.cameras.join(', ') || none,
      r.detail || none,
    ]),
  };
}
