/**
 * The viewer's HTML, in French. Every value from outside is escaped; no inline
 * script or style (the CSP forbids both): behaviour comes from
 * /static/player.js, looks from /static/viewer.css.
 */
import { escapeHtml } from '../../../lib/src/web/html.js';
import { loginFormHtml } from '../../../lib/src/web/login-flow.js';
import type { LiveSessionInfo } from '../live-sessions.js';

export { escapeHtml };

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Vigie</title>
<link rel="stylesheet" href="/static/viewer.css">
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

function header(viewerName: string, csrfToken: string): string {
  return `<header>
<a class="brand" href="/sessions">Vigie · transmissions en direct</a>
<span class="who">${escapeHtml(viewerName)}</span>
<form method="post" action="/logout" class="logout">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
<button type="submit">Se déconnecter</button>
</form>
</header>`;
}

export function loginPage(csrfToken: string, error: string | null): string {
  return layout(
    'Connexion',
    `<main class="login">
<h1>Vigie · connexion du visionneur</h1>
<p>Accès réservé aux visionneurs nommément habilités par la préfecture.</p>
${loginFormHtml(csrfToken, 'viewer', error)}
</main>`,
  );
}

/** "1 h 05 min", "4 min 10 s": the remaining time as the server saw it (the page counts down). */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

export function sessionListPage(
  sessions: readonly LiveSessionInfo[],
  viewerName: string,
  csrfToken: string,
  nowMs: number,
): string {
  const rows = sessions
    .map(
      (s) => `<tr>
<td><a href="/sessions/${encodeURIComponent(s.sessionId)}">${escapeHtml(s.siteName)}</a></td>
<td>${s.cameras.map((c) => escapeHtml(c.label)).join(', ')}</td>
<td>${escapeHtml(s.purposeLabel)}</td>
<td>${escapeHtml(s.operatorName)}</td>
<td>${formatRemaining(s.expiresAtMs - nowMs)}</td>
</tr>`,
    )
    .join('\n');
  const content =
    sessions.length === 0
      ? '<p class="empty">Aucune transmission en cours.</p>'
      : `<table class="sessions">
<thead><tr><th>Site</th><th>Caméras</th><th>Motif</th><th>Opérateur demandeur</th><th>Temps restant</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
  return layout(
    'Transmissions en cours',
    `${header(viewerName, csrfToken)}
<main>
<h1>Transmissions en cours</h1>
${content}
</main>`,
    '<meta http-equiv="refresh" content="10">',
  );
}

export function sessionPage(
  session: LiveSessionInfo,
  viewerName: string,
  csrfToken: string,
  nowMs: number,
): string {
  const players = session.cameras
    .map(
      (camera) => `<section class="camera">
<h2>${escapeHtml(camera.label)} <small>${escapeHtml(camera.location)}</small></h2>
<div class="player" data-camera="${escapeHtml(camera.id)}">
<video muted autoplay playsinline disablepictureinpicture disableremoteplayback controlslist="nodownload noplaybackrate noremoteplayback"></video>
<div class="watermark" aria-hidden="true">${escapeHtml(viewerName)}</div>
</div>
<p class="status"></p>
</section>`,
    )
    .join('\n');
  const callRef =
    session.callRef === null
      ? ''
      : `<dt>Référence d'appel</dt><dd>${escapeHtml(session.callRef)}</dd>`;
  const sessionPath = `/sessions/${encodeURIComponent(session.sessionId)}`;
  return layout(
    session.siteName,
    `${header(viewerName, csrfToken)}
<main id="session" data-session-id="${escapeHtml(session.sessionId)}" data-expires-at-ms="${session.expiresAtMs}" data-server-now-ms="${nowMs}" data-viewer-name="${escapeHtml(viewerName)}">
<h1>${escapeHtml(session.siteName)}</h1>
<dl class="facts">
<dt>Motif</dt><dd id="purpose">${escapeHtml(session.purposeLabel)}</dd>
<dt>Opérateur demandeur</dt><dd id="operator">${escapeHtml(session.operatorName)}</dd>
${callRef}<dt>Temps restant</dt><dd id="countdown">${formatRemaining(session.expiresAtMs - nowMs)}</dd>
</dl>
<p id="ended" class="ended" role="status" hidden></p>
<div class="players">
${players}
</div>
<form id="intervention-form" method="post" action="${sessionPath}/intervention-over">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
<label for="note">Note (facultative)</label>
<input id="note" name="note" maxlength="500">
<button id="intervention-over" type="submit">Intervention terminée</button>
</form>
</main>
<script src="/static/player.js" defer></script>`,
  );
}

export function noSessionPage(viewerName: string, csrfToken: string): string {
  return layout(
    'Aucune transmission en cours',
    `${header(viewerName, csrfToken)}
<main>
<h1>Aucune transmission en cours</h1>
<p>Cette transmission n'existe pas ou est terminée. <a href="/sessions">Retour à la liste</a></p>
</main>`,
  );
}

/**
 * After « Intervention terminée »: the box closes the session at once, so the
 * viewer is told here, not by a session page that no longer exists.
 */
export function interventionReportedPage(
  viewerName: string,
  csrfToken: string,
  sessionId: string,
  delivered: boolean,
): string {
  const text = delivered
    ? 'La fin de l’intervention est transmise au boîtier : la transmission est fermée et consignée « fin de l’intervention des forces de sécurité intérieure ».'
    : 'Cette transmission n’était plus en cours : rien n’a été transmis.';
  return layout(
    'Fin d’intervention signalée',
    `${header(viewerName, csrfToken)}
<main>
<h1 id="intervention-reported">Fin d’intervention signalée</h1>
<p>${escapeHtml(text)}</p>
<p>Transmission ${escapeHtml(sessionId)}. <a href="/sessions">Retour à la liste</a></p>
</main>`,
  );
}

export function simplePage(title: string, text: string): string {
  return layout(title, `<main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main>`);
}
