/**
 * The one redaction function (DESIGN rule 7). Every log line, event, error
 * message and journal entry that may carry text from outside passes through it.
 * It removes: userinfo in URLs (rtsp://user:pass@host), PEM private keys,
 * `password=`/`token=`/`secret=` style pairs, bearer tokens, and any exact
 * secret string registered at run time (camera passwords read from the store).
 */
const PEM_PRIVATE = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+)(?::[^/\s@]*)?@/gi;
const KEY_VALUE =
  /\b(pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|authorization|private[-_]?key)(["']?\s*[:=]\s*["']?)([^\s"',;&}]+)/gi;
const BEARER = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{8,}/g;

export const REDACTED = '[redacted]';

export class Redactor {
  readonly #secrets = new Set<string>();

  /** Registers an exact secret (e.g. a camera password) to be masked wherever it appears. */
  addSecret(secret: string): void {
    // Very short strings would mask ordinary words; the store refuses such passwords anyway.
    if (secret.length >= 4) this.#secrets.add(secret);
  }

  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  /** Redacts every string inside a JSON-like value, returning a copy. */
  redactValue(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (depth > 32 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY_NAME.test(k) ? REDACTED : this.redactValue(v, depth + 1);
    }
    return out;
  }
}

const SECRET_KEY_NAME = /^(pass(word|wd|phrase)?|pwd|secret|token|privateKey|private_key|key)$/i;

/** Pattern-based redaction, plus any exact secrets the caller knows of. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  // Schemes first: in "Authorization: Bearer x" the key/value rule alone would only mask "Bearer".
  let out = text
    .replace(PEM_PRIVATE, `-----BEGIN $1PRIVATE KEY-----${REDACTED}-----END $1PRIVATE KEY-----`)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(KEY_VALUE, `$1$2${REDACTED}`);
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}
