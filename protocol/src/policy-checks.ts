/**
 * Cross-field rules of the policy, each message quoting the actual values
 * ("operators[2].validUntil 2026-01-01T00:00:00Z is before validFrom ...").
 * Every problem is reported, not only the first, so one run of `policy sign`
 * shows the administrator everything to fix.
 */
import { X509Certificate } from 'node:crypto';
import { addMonths } from './paris-time.js';
import type { Policy } from './policy-schema.js';
import { publicKeyFingerprint, parsePublicKeyPem } from './ed25519.js';
import { isVigieError } from '../../lib/src/errors.js';

export type Path = (string | number)[];
export type Report = (path: Path, message: string) => void;

/** Reports every value seen twice, at the path of its second occurrence. */
function duplicates<T>(
  items: readonly T[],
  key: (item: T) => string,
  path: (index: number) => Path,
  what: string,
  report: Report,
): void {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const value = key(item);
    const seen = first.get(value);
    if (seen === undefined) first.set(value, index);
    else report(path(index), `duplicate ${what} ${value} (already at index ${seen})`);
  });
}

function checkConvention(policy: Policy, report: Report): void {
  const c = policy.convention;
  if (c.startsAt < c.signedAt) {
    report(['convention', 'startsAt'], `startsAt ${c.startsAt} is before signedAt ${c.signedAt}`);
  }
  const firstEnd = addMonths(c.startsAt, c.periodMonths);
  switch (c.renewal.mode) {
    case 'tacit':
      if (
        c.renewal.terminationNoticeAt !== undefined &&
        c.renewal.terminationNoticeAt < c.signedAt
      ) {
        report(
          ['convention', 'renewal', 'terminationNoticeAt'],
          `terminationNoticeAt ${c.renewal.terminationNoticeAt} is before signedAt ${c.signedAt}`,
        );
      }
      break;
    case 'express':
      if (c.renewal.renewedUntil !== undefined && c.renewal.renewedUntil <= firstEnd) {
        report(
          ['convention', 'renewal', 'renewedUntil'],
          `renewedUntil ${c.renewal.renewedUntil} is not after the end of the first period ${firstEnd}`,
        );
      }
      break;
  }
}

function checkPublicKey(pem: string, path: Path, report: Report): string | null {
  try {
    return publicKeyFingerprint(parsePublicKeyPem(pem));
  } catch (err) {
    if (!isVigieError(err)) throw err;
    report(path, err.message);
    return null;
  }
}

function checkOperators(policy: Policy, report: Report): void {
  const recipientIds = new Set(policy.recipients.map((r) => r.id));
  const fingerprints: { index: number; fp: string }[] = [];
  policy.operators.forEach((op, i) => {
    if (Date.parse(op.validUntil) <= Date.parse(op.validFrom)) {
      report(
        ['operators', i, 'validUntil'],
        `validUntil ${op.validUntil} is not after validFrom ${op.validFrom}`,
      );
    }
    op.recipients.forEach((id, j) => {
      if (!recipientIds.has(id))
        report(
          ['operators', i, 'recipients', j],
          `recipient ${id} of operator ${op.kid} is not defined in recipients`,
        );
    });
    const fp = checkPublicKey(op.publicKey, ['operators', i, 'publicKey'], report);
    if (fp) fingerprints.push({ index: i, fp });
  });
  duplicates(
    policy.operators,
    (op) => op.kid,
    (i) => ['operators', i, 'kid'],
    'operator kid',
    report,
  );
  duplicates(
    fingerprints,
    (f) => f.fp,
    (i) => ['operators', fingerprints[i]?.index ?? i, 'publicKey'],
    'public key',
    report,
  );
}

function checkRecipients(policy: Policy, report: Report): void {
  duplicates(
    policy.recipients,
    (r) => r.id,
    (i) => ['recipients', i, 'id'],
    'recipient id',
    report,
  );
  policy.recipients.forEach((r, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(r.caPem);
    } catch (err) {
      report(
        ['recipients', i, 'caPem'],
        `CA of ${r.id} is not a readable certificate (${err instanceof Error ? err.message : String(err)})`,
      );
      return;
    }
    if (!cert.ca)
      report(
        ['recipients', i, 'caPem'],
        `CA of ${r.id} (${cert.subject.replaceAll('\n', ', ')}) is not a CA certificate`,
      );
    if (Date.parse(cert.validTo) <= Date.parse(policy.issuedAt)) {
      report(
        ['recipients', i, 'caPem'],
        `CA of ${r.id} expired on ${cert.validTo}, before issuedAt ${policy.issuedAt}`,
      );
    }
  });
}

function checkSites(policy: Policy, report: Report): void {
  duplicates(
    policy.sites,
    (s) => s.id,
    (i) => ['sites', i, 'id'],
    'site id',
    report,
  );
  const boxes = policy.sites.flatMap((s, i) =>
    (s.boxIds ?? []).map((box, j) => ({ box, path: ['sites', i, 'boxIds', j] })),
  );
  duplicates(
    boxes,
    (b) => b.box,
    (k) => boxes[k]?.path ?? [],
    'box id',
    report,
  );
  const cams = policy.sites.flatMap((s, i) =>
    s.cameras.map((c, j) => ({ c, path: ['sites', i, 'cameras', j] })),
  );
  duplicates(
    cams,
    (x) => `${x.c.onvif.manufacturer}/${x.c.onvif.serial}`,
    (k) => [...(cams[k]?.path ?? []), 'onvif', 'serial'],
    'camera manufacturer/serial',
    report,
  );
  policy.sites.forEach((s, i) => {
    duplicates(
      s.cameras,
      (c) => c.id,
      (j) => ['sites', i, 'cameras', j, 'id'],
      `camera id on site ${s.id}:`,
      report,
    );
  });
}

function checkTimeWindows(policy: Policy, report: Report): void {
  const siteIds = new Set(policy.sites.map((s) => s.id));
  policy.timeWindows.forEach((w, i) => {
    w.sites?.forEach((id, j) => {
      if (!siteIds.has(id))
        report(['timeWindows', i, 'sites', j], `site ${id} is not defined in sites`);
    });
    if (w.from === '24:00')
      report(['timeWindows', i, 'from'], 'from 24:00 is not a start time; use 00:00');
  });
}

/** Runs every cross-field rule; `report` receives each problem with its path. */
export function checkPolicy(policy: Policy, report: Report): void {
  checkConvention(policy, report);
  checkOperators(policy, report);
  checkRecipients(policy, report);
  checkSites(policy, report);
  checkTimeWindows(policy, report);
}
