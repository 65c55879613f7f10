/**
 * What `vigie journal verify` reports: either the journal is whole, or the
 * FIRST broken position, what is wrong there, and how far it was whole.
 */
export type JournalProblem =
  /** A row has a field of the wrong kind (hash not 32 bytes, seq not an integer...). */
  | 'entry-malformed'
  | 'source-mismatch'
  /** Entries are missing: seq jumps. */
  | 'seq-gap'
  /** The entry does not follow its predecessor: replaced and re-hashed, or reordered. */
  | 'prev-hash-mismatch'
  /** The entry's content does not give its stored hash: edited. */
  | 'hash-mismatch'
  | 'head-bad-signature'
  | 'head-hash-mismatch'
  /** A head names an entry that is not there: entries removed from the end. */
  | 'head-out-of-range'
  /** Entries past the last signed head: appended without the box key, or the head removed. */
  | 'head-missing';

export interface JournalBreak {
  /** The seq of the first broken position. */
  readonly seq: number;
  readonly problem: JournalProblem;
  /** Short words for a person: "entry edited", "entries reordered"... */
  readonly what: string;
  /** The details, with the hashes involved. */
  readonly message: string;
}

export interface JournalVerifyReport {
  readonly ok: boolean;
  readonly file: string;
  /** The box the entries come from (null for an empty journal). */
  readonly source: string | null;
  /** Entries verified whole (all of them when ok; those before the break otherwise). */
  readonly entriesVerified: number;
  readonly lastSeq: number | null;
  readonly lastHash: string | null;
  /** Signed heads whose signature was checked (one check each). */
  readonly headsChecked: number;
  /** Highest seq vouched for by a valid signed head. */
  readonly vouchedThroughSeq: number | null;
  readonly break: JournalBreak | null;
}

/** The report as the lines printed by `vigie journal verify` without --json. */
export function formatVerifyReport(report: JournalVerifyReport): string {
  const heads = `${report.headsChecked} signed head${report.headsChecked === 1 ? '' : 's'} checked`;
  if (report.ok) {
    if (report.lastSeq === null) return `${report.file}: OK, empty journal (${heads})\n`;
    return (
      `${report.file}: OK\n` +
      `  source      ${report.source ?? '-'}\n` +
      `  entries     ${report.entriesVerified} (seq 1 to ${report.lastSeq})\n` +
      `  last hash   ${report.lastHash ?? '-'}\n` +
      `  heads       ${heads}, vouched through seq ${report.vouchedThroughSeq ?? '-'}\n`
    );
  }
  const broken = report.break;
  return (
    `${report.file}: BROKEN at seq ${broken?.seq ?? '?'}: ${broken?.what ?? 'unknown'}\n` +
    `  problem     ${broken?.problem ?? '-'}\n` +
    `  details     ${broken?.message ?? '-'}\n` +
    `  whole       ${report.entriesVerified} entries before it verified` +
    (report.lastSeq === null ? '' : ` (through seq ${report.lastSeq})`) +
    `, ${heads}\n`
  );
}
