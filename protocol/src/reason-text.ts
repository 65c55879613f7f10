/**
 * Human text for reason codes. Operators work in French; English is available.
 * A refusal is two parts, what happened and what to do next, so that no
 * message can ship without its next step (a test checks every code).
 */
export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];

/** Values a message may quote; each is optional and every message reads well without it. */
export interface ReasonParams {
  readonly camera?: string;
  readonly siteId?: string;
  readonly recipient?: string;
  readonly kid?: string;
  readonly role?: string;
  readonly commandType?: string;
  readonly purpose?: string;
  readonly sessionId?: string;
  readonly policyVersion?: number;
  readonly sizeBytes?: number;
  readonly maxBytes?: number;
  readonly until?: string; // a date or time, already formatted for display
  readonly detail?: string;
}

export type Text = (p: ReasonParams) => string;

export interface Advice {
  readonly what: Text;
  readonly next: Text;
}

/** Joins the two parts with the colon spacing of each language. */
export function renderAdvice(advice: Advice, lang: Lang, params: ReasonParams): string {
  const separator = lang === 'fr' ? ' : ' : ': ';
  return `${advice.what(params)}${separator}${advice.next(params)}`;
}

/** `value` when present, else the fallback; keeps messages readable without params. */
export function or(value: string | number | undefined, fallback: string): string {
  return value === undefined ? fallback : String(value);
}

/** " value" with its leading space when present, else "": for optional words in a sentence. */
export function sp(value: string | number | undefined): string {
  return value === undefined ? '' : ` ${value}`;
}

/** " (version 12)" / " (version 12)" when the policy version is known, else "". */
export function versionSuffix(p: ReasonParams): string {
  return p.policyVersion === undefined ? '' : ` (version ${p.policyVersion})`;
}
