/**
 * Integrity status per box for people: what the register holds of each
 * source (entries, last entry, how far its signed heads vouch, evidence of
 * refused entries) and what the last verification found there.
 */
import type { RegisterProblem, RegisterVerifyReport, SourceRecord } from '../register-port.js';

export interface SourceIntegrity {
  readonly source: string;
  readonly site: string | null;
  readonly kind: SourceRecord['kind'];
  readonly entries: number;
  readonly lastSeq: number | null;
  readonly lastTime: string | null;
  readonly vouchedThroughSeq: number | null;
  readonly evidence: number;
  /** Problems the last verification found for this source (none when not verified). */
  readonly problems: readonly RegisterProblem[];
  readonly ok: boolean;
  readonly state: { readonly fr: string; readonly en: string };
}

/** "box-01 seq 7: hash-mismatch (…)", or the checkpoint's own words. */
export function describeProblem(p: RegisterProblem | undefined): string {
  if (p === undefined) return 'none';
  const where = [p.source, p.seq === null ? null : `seq ${p.seq}`].filter(Boolean).join(' ');
  return `${where === '' ? 'register' : where}: ${p.reason} (${p.message})`;
}

function stateOf(
  s: SourceRecord,
  problems: readonly RegisterProblem[],
  verified: boolean,
): SourceIntegrity['state'] {
  if (problems.length > 0) {
    const first = problems[0];
    const at = first?.seq === null || first === undefined ? '' : ` (seq ${first.seq})`;
    return {
      fr: `ALTÉRÉ : ${first?.reason ?? '?'}${at}`,
      en: `BROKEN: ${first?.reason ?? '?'}${at}`,
    };
  }
  if (s.evidence > 0) {
    return {
      fr: `${s.evidence} envoi(s) refusé(s) conservé(s) en preuve`,
      en: `${s.evidence} refused item(s) kept as evidence`,
    };
  }
  const unsigned =
    s.lastSeq !== null && (s.vouchedThroughSeq === null || s.vouchedThroughSeq < s.lastSeq);
  if (unsigned) {
    return {
      fr: `intègre ; signé jusqu’à ${s.vouchedThroughSeq ?? 0}/${s.lastSeq}`,
      en: `intact; signed through ${s.vouchedThroughSeq ?? 0}/${s.lastSeq}`,
    };
  }
  return verified
    ? { fr: 'intègre (vérifié)', en: 'intact (verified)' }
    : { fr: 'intègre', en: 'intact' };
}

/** Each source with the problems of `report` (null: not verified yet). */
export function integrityOf(
  sources: readonly SourceRecord[],
  report: RegisterVerifyReport | null,
): SourceIntegrity[] {
  return [...sources]
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))
    .map((s) => {
      const problems = report?.problems.filter((p) => p.source === s.source) ?? [];
      return {
        source: s.source,
        site: s.site,
        kind: s.kind,
        entries: s.entries,
        lastSeq: s.lastSeq,
        lastTime: s.lastTime,
        vouchedThroughSeq: s.vouchedThroughSeq,
        evidence: s.evidence,
        problems,
        ok: problems.length === 0,
        state: stateOf(s, problems, report !== null),
      };
    });
}
