import t from 'tap';
import { ERROR_CATALOGUE, type ErrorCode } from '../../lib/src/errors.js';
import { ALARM_CODES, ALARM_LABELS } from '../../protocol/src/alarms.js';
import { CLOSE_REASONS, CLOSE_REASON_LABELS } from '../../protocol/src/close-reasons.js';
import { LANGS } from '../../protocol/src/reason-text.js';
import {
  REFUSAL_CODES,
  REFUSAL_MESSAGES,
  refusalForError,
  refusalMessage,
} from '../../protocol/src/refusal-reasons.js';

const FULL = {
  camera: 'cam-07',
  siteId: 'borny-hauts',
  recipient: 'dipn-57',
  kid: 'op-dupont',
  role: 'operator',
  commandType: 'sessions.close-all',
  purpose: 'trafics',
  sessionId: '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e8f',
  policyVersion: 12,
  sizeBytes: 17000,
  maxBytes: 16384,
  until: '2025-09-20 00:00 (UTC+02:00)',
  detail: 'cameras.0',
};

void t.test(
  'every refusal code has a French and an English message, each with a next step',
  (t) => {
    for (const lang of LANGS) {
      t.same(
        Object.keys(REFUSAL_MESSAGES[lang]).sort(),
        [...REFUSAL_CODES].sort(),
        `${lang}: no missing or extra code`,
      );
      for (const code of REFUSAL_CODES) {
        const advice = REFUSAL_MESSAGES[lang][code];
        for (const params of [{}, FULL]) {
          t.ok(advice.what(params).trim().length > 10, `${lang} ${code}: what`);
          t.ok(advice.next(params).trim().length > 10, `${lang} ${code}: next step`);
          t.notMatch(
            refusalMessage(code, params, lang),
            /undefined|\s{2}/,
            `${lang} ${code}: reads well`,
          );
          if (lang === 'fr') {
            const parts = refusalMessage(code, params, lang).split(' : ');
            t.equal(parts.length, 2, `fr ${code}: one "what : next" colon`);
          }
        }
      }
    }
    t.end();
  },
);

void t.test('the message quotes its parameters (DESIGN example)', (t) => {
  t.equal(
    refusalMessage('camera-not-annexed', { camera: 'cam-07', policyVersion: 12 }),
    "la caméra cam-07 n'est pas dans l'annexe en vigueur (version 12) : demander son ajout (article 6)",
  );
  t.equal(
    refusalMessage('camera-not-annexed', { camera: 'cam-07', policyVersion: 12 }, 'en'),
    'camera cam-07 is not in the annex in force (version 12): request its addition (Article 6)',
  );
  t.end();
});

void t.test('every close reason and alarm has both labels', (t) => {
  for (const lang of LANGS) {
    t.same(Object.keys(CLOSE_REASON_LABELS[lang]).sort(), [...CLOSE_REASONS].sort());
    t.same(Object.keys(ALARM_LABELS[lang]).sort(), [...ALARM_CODES].sort());
    for (const r of CLOSE_REASONS) t.ok(CLOSE_REASON_LABELS[lang][r].length > 5, `${lang} ${r}`);
    for (const a of ALARM_CODES) t.ok(ALARM_LABELS[lang][a].length > 5, `${lang} ${a}`);
  }
  t.ok(CLOSE_REASONS.includes('agent-restart') && CLOSE_REASONS.includes('journal-unwritable'));
  t.end();
});

void t.test('every envelope and payload error maps to a refusal code', (t) => {
  const protocolCodes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((c) =>
    /^(envelope|payload)-/.test(c),
  );
  t.ok(protocolCodes.length >= 10);
  const expected: Partial<Record<ErrorCode, string>> = {
    'envelope-too-large': 'size',
    'envelope-unknown-kid': 'unknown-key',
    'envelope-bad-signature': 'signature',
    'envelope-signature-not-canonical': 'signature',
    'payload-invalid': 'schema',
  };
  for (const code of protocolCodes) t.ok(REFUSAL_CODES.includes(refusalForError(code)), code);
  for (const [code, refusal] of Object.entries(expected))
    t.equal(refusalForError(code as ErrorCode), refusal, code);
  t.end();
});
