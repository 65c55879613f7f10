/**
 * The register page's HTML, in French. Every value from outside is escaped;
 * there is no script at all and no inline style (the CSP forbids both):
 * filters are a plain GET form, re-verification a POST with the CSRF token.
 */
import { escapeHtml as h } from '../../../../../lib/src/web/html.js';
import { loginFormHtml } from '../../../../../lib/src/web/login-flow.js';
import type { LastVerification } from './register-upkeep.js';
import { describeProblem, type SourceIntegrity } from '../integrity.js';
import {
  closeReasonLabel,
  parisTime,
  purposeLabel,
  statusLabel,
  transmissionTable,
  triggerLabel,
  viewerLabel,
} from '../register-text.js';
import type { Transmission } from '../transmissions.js';

export interface PageUser {
  readonly login: string;
  readonly name: string;
  readonly csrf: string;
}

function layout(title: string, body: string, user: PageUser | null): string {
  const header =
    user === null
      ? ''
      : `<header>
<a class="brand" href="/transmissions">Vigie · registre</a>
<nav><a href="/transmissions">Transmissions</a> <a href="/integrity">Intégrité</a></nav>
<span class="who">${h(user.name)} (${h(user.login)})</span>
<form method="post" action="/logout" class="logout">
<input type="hidden" name="csrf" value="${h(user.csrf)}">
<button type="submit">Se déconnecter</button>
</form>
</header>`;
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${h(title)} · Vigie</title>
<link rel="stylesheet" href="/static/register.css">
</head>
<body>
${header}
<main>
${body}
</main>
<footer>Chaque consultation de ce registre est consignée (qui, quand, quelles caméras).</footer>
</body>
</html>
`;
}

export function simplePage(title: string, message: string, user: PageUser | null = null): string {
  return layout(title, `<h1>${h(title)}</h1>\n<p>${h(message)}</p>`, user);
}

export function loginPage(csrf: string, error: string | null): string {
  return layout(
    'Connexion',
    `<section class="login">
<h1>Registre de consignation · connexion</h1>
<p>Accès réservé aux personnes désignées par EMH (lecture seule).</p>
${loginFormHtml(csrf, 'login', error)}
</section>`,
    null,
  );
}

export interface FilterValues {
  readonly from: string;
  readonly to: string;
  readonly site: string;
  readonly camera: string;
  readonly recipient: string;
  readonly operator: string;
}

function filterForm(f: FilterValues): string {
  const field = (name: keyof FilterValues, label: string, placeholder: string): string =>
    `<label>${h(label)} <input name="${name}" value="${h(f[name])}" placeholder="${h(placeholder)}" maxlength="64"></label>`;
  return `<form method="get" action="/transmissions" class="filters">
${field('from', 'Du', '2026-11-01')}
${field('to', 'Au', '2026-11-30')}
${field('site', 'Site', 'borny-hauts')}
${field('camera', 'Caméra', 'cam-01')}
${field('recipient', 'Destinataire', 'csu-metz')}
${field('operator', 'Opérateur', 'op-martin')}
<button type="submit">Filtrer</button>
</form>`;
}

export function transmissionsPage(
  rows: readonly Transmission[],
  filter: FilterValues,
  period: string,
  user: PageUser,
  error: string | null = null,
): string {
  const table = transmissionTable(rows, 'fr');
  const head = table.columns.map((c) => `<th scope="col">${h(c.header)}</th>`).join('');
  const body = table.rows
    .map((cells, i) => {
      const row = rows[i];
      const link = row?.sessionId
        ? `<a href="/sessions/${encodeURIComponent(row.sessionId)}">${h(cells[0] ?? '')}</a>`
        : h(cells[0] ?? '');
      const rest = cells
        .slice(1)
        .map((c) => `<td>${h(c)}</td>`)
        .join('');
      return `<tr class="status-${h(row?.status ?? '')}"><td>${link}</td>${rest}</tr>`;
    })
    .join('\n');
  const problem = error === null ? '' : `<p class="error" role="alert">${h(error)}</p>`;
  return layout(
    'Transmissions',
    `<h1>Registre de consignation des transmissions et des interventions consécutives</h1>
${filterForm(filter)}
${problem}<p class="period">Période : ${h(period)} · <strong id="count">${rows.length}</strong> transmission(s)</p>
<table class="register"><thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody></table>`,
    user,
  );
}

export function sessionPage(row: Transmission, user: PageUser): string {
  const fact = (label: string, value: string): string => `<dt>${h(label)}</dt><dd>${h(value)}</dd>`;
  const facts = [
    fact('Statut', statusLabel(row.status)),
    fact('Site (boîtier)', `${row.site ?? '—'} (${row.source ?? '—'})`),
    fact('Caméras', row.cameras.join(', ') || '—'),
    fact('Destinataire', row.recipient ?? '—'),
    fact('Finalité', purposeLabel(row.purpose)),
    fact('Déclenchement', triggerLabel(row)),
    fact('Réf. appel', row.callRef ?? '—'),
    fact('Opérateur', row.operator ?? '—'),
    fact('Demandée', parisTime(row.requestedAt)),
    fact('Ouverte', parisTime(row.openedAt)),
    fact('Fermée', parisTime(row.closedAt)),
    fact('Motif de fermeture', closeReasonLabel(row.closeReason)),
    ...row.viewers.map((v) => fact('Visionneur', viewerLabel(v))),
    ...row.outcomes.map((a) =>
      fact('Suite de l’intervention', `${a.outcome} (${a.author}, ${parisTime(a.timeMs)})`),
    ),
  ].join('\n');
  const timeline = row.timeline
    .map(
      (e) =>
        `<li><time datetime="${h(e.time)}">${h(parisTime(e.time))}</time> <code>${h(e.type)}</code> <span class="pos">${h(e.source)} n° ${e.seq}</span></li>`,
    )
    .join('\n');
  return layout(
    `Transmission ${row.key}`,
    `<h1>Transmission <code>${h(row.key)}</code></h1>
<dl class="facts">
${facts}
</dl>
<h2>Chronologie</h2>
<ol class="timeline">
${timeline}
</ol>`,
    user,
  );
}

export function integrityPage(
  sources: readonly SourceIntegrity[],
  last: LastVerification | null,
  backend: string,
  user: PageUser,
): string {
  const rows = sources
    .map(
      (s) =>
        `<tr class="${s.ok ? 'ok' : 'broken'}"><td>${h(s.source)}</td><td>${h(s.site ?? '—')}</td><td>${s.entries}</td><td>${h(parisTime(s.lastTime))}</td><td>${s.vouchedThroughSeq ?? '—'}</td><td>${s.evidence}</td><td class="state">${h(s.state.fr)}</td></tr>`,
    )
    .join('\n');
  const verdict =
    last === null
      ? '<p class="pending">Vérification pas encore faite.</p>'
      : `<p class="${last.report.ok ? 'ok' : 'broken'}" id="verdict">${
          last.report.ok
            ? `Registre intègre : ${last.report.sources.length} source(s), ${last.report.checkpoints} point(s) de contrôle vérifiés`
            : `REGISTRE ALTÉRÉ : ${last.report.problems.length} problème(s)`
        } (${h(parisTime(last.atMs))}, ${h(last.by)})</p>
<ul class="problems">${last.report.problems.map((p) => `<li>${h(describeProblem(p))}</li>`).join('')}</ul>`;
  return layout(
    'Intégrité',
    `<h1>Intégrité par boîtier</h1>
<p>Stockage : ${h(backend)}</p>
${verdict}
<form method="post" action="/integrity/verify">
<input type="hidden" name="csrf" value="${h(user.csrf)}">
<button type="submit">Vérifier maintenant</button>
</form>
<table class="register"><thead><tr><th>Boîtier</th><th>Site</th><th>Entrées</th><th>Dernière entrée</th><th>Signé jusqu’à</th><th>Preuves</th><th>État</th></tr></thead>
<tbody>
${rows}
</tbody></table>`,
    user,
  );
}

/** The stylesheet, served as /static/register.css (no inline style: the CSP forbids it). */
export const REGISTER_CSS = `* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, sans-serif; color: #111; background: #fafafa; }
header { display: flex; gap: 1rem; align-items: center; padding: 0.5rem 1rem; background: #234; color: #fff; }
header a { color: #fff; }
header .brand { font-weight: bold; text-decoration: none; }
header .who { margin-left: auto; }
main { padding: 1rem; }
footer { padding: 0.5rem 1rem; color: #555; font-size: 0.85rem; }
.login { max-width: 24rem; margin: 3rem auto; }
.login form { display: grid; gap: 0.5rem; }
.error, .broken { color: #a00; font-weight: bold; }
.ok { color: #060; }
.filters { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; margin-bottom: 1rem; }
.filters input { width: 9rem; }
table.register { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
table.register th, table.register td { border: 1px solid #ccc; padding: 0.3rem; text-align: left; vertical-align: top; }
table.register th { background: #e8e8e8; }
tr.status-open td { background: #fff6d6; }
tr.status-refused td, tr.status-failed td { color: #666; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt { color: #555; }
ol.timeline { font-size: 0.9rem; }
ol.timeline .pos { color: #777; }
`;
