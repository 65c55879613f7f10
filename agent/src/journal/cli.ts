/**
 * `vigie journal ...`: the auditor's commands on a box's journal file.
 * Thin: options and printing here, the work in verify-journal.ts.
 */
import type { Command } from 'commander';
import { VigieError } from '../../../lib/src/errors.js';
import { verifyJournalFile } from './verify-journal.js';
import { formatVerifyReport, type JournalVerifyReport } from './verify-report.js';
import {
  keyFromCertificateFile,
  keyFromPublicKeyFile,
  type HeadVerificationKey,
} from './verify-key.js';

interface VerifyOptions {
  cert?: string;
  publicKey?: string;
  json?: boolean;
}

function verificationKey(opts: VerifyOptions): HeadVerificationKey {
  if (opts.cert && opts.publicKey) {
    throw new VigieError('config-invalid', 'give either --cert or --public-key, not both');
  }
  if (opts.cert) return keyFromCertificateFile(opts.cert);
  if (opts.publicKey) return keyFromPublicKeyFile(opts.publicKey);
  throw new VigieError(
    'config-invalid',
    "the signed heads need the box's key: give --cert box-cert.pem (or --public-key pub.pem)",
  );
}

/** Runs the verification; prints the report; throws `journal-broken` (exit 1) when broken. */
export function journalVerifyCommand(file: string, opts: VerifyOptions): JournalVerifyReport {
  const key = verificationKey(opts);
  const report = verifyJournalFile(file, key.publicKey);
  if (key.boxId && report.source && key.boxId !== report.source) {
    throw new VigieError(
      'journal-invalid',
      `the certificate is that of box ${key.boxId}; the journal ${file} is from ${report.source}`,
    );
  }
  process.stdout.write(
    opts.json
      ? JSON.stringify({ ...report, key: key.label }, null, 2) + '\n'
      : formatVerifyReport(report) + `  key         ${key.label}\n`,
  );
  if (!report.ok) {
    const at = report.break;
    throw new VigieError(
      'journal-broken',
      `${file} is broken at seq ${at?.seq ?? '?'}: ${at?.what ?? 'unknown problem'}`,
    );
  }
  return report;
}

export function registerJournalCommands(program: Command): void {
  const journal = program
    .command('journal')
    .summary("check a box's journal (hash chain and signed heads)")
    .description("Commands on a box's local journal file (journal.db in its data directory).");

  journal
    .command('verify')
    .argument('<file>', 'the journal database, e.g. /var/lib/vigie/journal.db or a copy of it')
    .summary('verify the hash chain and signed heads; report the first broken link')
    .description(
      'Open FILE read-only (it is never modified, not even its WAL), stream every entry in ' +
        'seq order and check its hash and its link to the previous entry, and check each ' +
        "stored signed head (one signature check per head) with the box's public key. " +
        'Prints OK with the number of entries, the last seq and hash and the heads checked, ' +
        'or the FIRST broken position (seq) and what is wrong there: entry edited, broken ' +
        'link, entry removed, entries reordered, bad head signature (re-signed with another ' +
        'key), chain re-hashed, entries removed from the end. Exit code 0 when whole, 1 ' +
        'when broken or unreadable.',
    )
    .option('--cert <box-cert.pem>', "the box's certificate (its key signs the heads)")
    .option('--public-key <pub.pem>', 'the signing public key as SPKI PEM, instead of --cert')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  vigie journal verify /var/lib/vigie/journal.db --cert /etc/vigie/box/cert.pem\n' +
        '  vigie journal verify ./journal-copy.db --public-key box-01.pub --json\n',
    )
    .action((file: string, opts: VerifyOptions) => {
      journalVerifyCommand(file, opts);
    });
}
