import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { csvField } from '../../central/src/register/read/csv-export.js';
import { exportRegister, type ExportRequest } from '../../central/src/register/read/exports.js';
import { tableToPdf, wrap } from '../../central/src/register/read/pdf-export.js';
import { textWidth, winAnsi } from '../../central/src/register/read/pdf-writer.js';
import { parsePeriod } from '../../central/src/register/read/queries.js';
import { FakeBox, MemoryRegisterStore } from './register-read-fixture.js';

const NOW = new Date('2026-11-30T08:15:00.000Z');

function store(): { store: MemoryRegisterStore; ids: string[] } {
  const box = new FakeBox('box-borny-01', 'borny-hauts');
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    ids.push(
      box.session({
        start: new Date(Date.UTC(2026, 10, 29, 8) + i * 900_000).toISOString(),
        cameras: ['cam-01', `cam-0${(i % 5) + 2}`],
        trigger: i % 4 === 0 ? { kind: 'urgence', officer: 'Cdt Élise Lefèvre' } : undefined,
        viewers: [{ id: 'agent-dupont', name: 'Brigadier Dupont', from: 5, to: 200 }],
        closeAfterSec: 600,
        closeReason: 'intervention-ended',
      }),
    );
  }
  const s = new MemoryRegisterStore({ wallNowMs: () => NOW.getTime() });
  s.load(box);
  return { store: s, ids };
}

const DAY = parsePeriod('2026-11-29', '2026-11-29');

/** An export of the 29th by the DPO, with what `over` changes. */
function exportOf(s: MemoryRegisterStore, over: Partial<ExportRequest> = {}) {
  const request: ExportRequest = {
    kind: 'transmissions',
    format: 'pdf',
    filter: { period: DAY },
    lang: 'fr',
    who: 'dpo@emh',
    why: 'contrôle',
    toWhom: 'CNIL',
    ...over,
  };
  return exportRegister(s, request, () => NOW);
}

/** Checks the cross-reference table: each offset points at its "n 0 obj". */
function checkXref(t: Test, pdf: Buffer): number {
  const text = pdf.toString('latin1');
  t.ok(text.startsWith('%PDF-1.4\n'), 'header');
  t.ok(text.endsWith('%%EOF\n'), 'trailer');
  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  t.equal(text.slice(startxref, startxref + 5), 'xref\n', 'startxref points at the table');
  const [, , countText] = /^xref\n(\d+) (\d+)\n/.exec(text.slice(startxref)) ?? [];
  const count = Number(countText);
  const table = text
    .slice(startxref)
    .split('\n')
    .slice(2, 2 + count);
  t.equal(table[0], '0000000000 65535 f\r');
  for (let i = 1; i < count; i++) {
    const line = table[i] ?? '';
    t.equal(line.length + 1, 20, 'each entry is 20 bytes');
    const offset = Number(line.slice(0, 10));
    if (text.slice(offset, offset + `${i} 0 obj`.length) !== `${i} 0 obj`) {
      t.fail(`object ${i} is not at ${offset}`);
    }
  }
  t.match(text, new RegExp(`/Size ${count} `));
  return count;
}

void t.test('CSV is RFC 4180 with a BOM, French headers, and no formulas', async (t) => {
  t.equal(csvField('a,b'), '"a,b"');
  t.equal(csvField('il a dit "stop"'), '"il a dit ""stop"""');
  t.equal(csvField('ligne 1\nligne 2'), '"ligne 1\nligne 2"');
  t.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
  t.equal(csvField('caméra'), 'caméra');
  const { store: s } = store();
  const result = await exportOf(s, { format: 'csv', why: 'contrôle annuel' });
  const text = result.bytes.toString('utf8');
  t.ok(text.startsWith('\uFEFFSession,Site,Caméras,Destinataire,Finalité,'), text.slice(0, 80));
  const lines = text.slice(1).split('\r\n');
  t.equal(lines.length, 40 + 2, 'header, 40 rows, and the final CRLF');
  t.match(lines[1], /borny-hauts,"cam-01, cam-02",csu-metz,"occupation des parties communes/);
  t.match(text, /urgence \(décidée par Cdt Élise Lefèvre\)/);
  t.match(text, /2026-11-29 09:00 \(UTC\+01:00\)/, 'Paris time with the offset');
  const en = await exportOf(s, { format: 'csv', lang: 'en', why: 'audit' });
  t.ok(en.bytes.toString('utf8').startsWith('\uFEFFSession,Site,Cameras,Recipient,Purpose,'));
  t.end();
});

void t.test(
  'an export is recorded in the access log before it exists, and needs why and to whom',
  async (t) => {
    const { store: s } = store();
    const request = {
      kind: 'transmissions' as const,
      format: 'pdf' as const,
      filter: { period: parsePeriod('2026-11-29', '2026-11-29'), camera: 'cam-03' },
      lang: 'fr' as const,
      who: 'dpo@emh',
      why: '',
      toWhom: 'CNIL',
    };
    await t.rejects(
      exportRegister(s, request, () => NOW),
      { code: 'config-invalid' },
    );
    t.same(await s.accessLog({}), [], 'a refused export leaves no trace and no file');
    const result = await exportRegister(s, { ...request, why: 'réquisition 2026/118' }, () => NOW);
    t.equal(result.rows, 8);
    const log = await s.accessLog({});
    t.match(log, [
      {
        who: 'dpo@emh',
        action: 'export',
        why: 'réquisition 2026/118',
        toWhom: 'CNIL',
        cameras: ['cam-01', 'cam-03'],
      },
    ]);
    t.match(log[0]?.detail, /kind=transmissions format=pdf .*camera=cam-03 rows=8/);
    t.end();
  },
);

void t.test('PDF: WinAnsi text, widths, wrapping', (t) => {
  t.same([...winAnsi('é’€→ 中')], [0xe9, 0x92, 0x80, 0x2d, 0x3e, 0x20, 0x3f]);
  t.same([...winAnsi('e\u0301')], [0xe9], 'NFC first');
  t.equal(textWidth('Vigie', 'regular', 10), 22.23, 'V i g i e: 667 + 222 + 556 + 222 + 556');
  t.ok(textWidth('Vigie', 'bold', 10) > textWidth('Vigie', 'regular', 10));
  const lines = wrap(
    'transmission ouverte avec un identifiantbeaucouptroplongpourunecolonne',
    60,
    'regular',
    7,
  );
  for (const line of lines) t.ok(textWidth(line, 'regular', 7) <= 60, line);
  t.ok(lines.length >= 3);
  t.end();
});

void t.test('PDF: a paginated register with a valid cross-reference table', async (t) => {
  const { store: s } = store();
  const result = await exportOf(s);
  const pdf = result.bytes;
  checkXref(t, pdf);
  const pages = Number(
    /\/Type \/Pages \/Kids \[[^\]]*\] \/Count (\d+)/.exec(pdf.toString('latin1'))?.[1],
  );
  t.ok(pages >= 2, `40 rows take several pages (${pages})`);
  t.match(pdf.toString('latin1'), /\/BaseFont \/Helvetica \/Encoding \/WinAnsiEncoding/);
  t.end();
});

const PDFTOTEXT = '/usr/bin/pdftotext'; // Debian poppler-utils (scripts/setup.sh)

void t.test(
  'PDF: pdftotext reads back the French text, the header and the page numbers',
  { skip: existsSync(PDFTOTEXT) ? false : 'poppler-utils is not installed (scripts/setup.sh)' },
  async (t) => {
    const { store: s } = store();
    const checkpoint = await s.checkpoint();
    const { bytes } = await exportOf(s, { toWhom: 'Préfecture' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigie-pdf-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'registre.pdf');
    writeFileSync(file, bytes);
    const text = execFileSync(PDFTOTEXT, ['-layout', '-enc', 'UTF-8', file, '-'], {
      encoding: 'utf8',
    });
    t.match(text, 'Registre de consignation des transmissions et des interventions consécutives');
    t.match(text, 'Période : du 2026-11-29 00:00 (UTC+01:00) au 2026-11-30 00:00 (UTC+01:00)');
    t.match(text, 'Édité le 2026-11-30 09:15 (UTC+01:00)');
    t.match(text, `Point de contrôle du registre : ${checkpoint.treeSize} entrées`);
    t.match(text, checkpoint.rootHash.slice(0, 40));
    t.match(text, 'Caméras');
    t.match(text, 'Élise');
    t.match(text, /Page 1 sur \d/);
    t.match(text, 'destinataire : Préfecture');
    const info = execFileSync('/usr/bin/pdfinfo', [file], { encoding: 'utf8' });
    t.match(info, /Pages:\s+\d+/);
    t.notMatch(info, /Syntax Error/i);
    t.end();
  },
);

void t.test('PDF: an empty table and a cell taller than a page still make valid pages', (t) => {
  const header = {
    title: 'Journal des consultations',
    period: 'depuis l’origine',
    generated: NOW,
    checkpoint: null,
    lang: 'fr' as const,
  };
  const columns = [
    { header: 'A', weight: 1 },
    { header: 'B', weight: 1 },
  ];
  checkXref(t, tableToPdf({ columns, rows: [] }, header));
  const huge = Array.from({ length: 4000 }, (_, i) => `mot${i}`).join(' ');
  const pdf = tableToPdf({ columns, rows: [[huge, 'x']] }, header);
  checkXref(t, pdf);
  t.ok(Number(/\/Count (\d+)/.exec(pdf.toString('latin1'))?.[1]) >= 2, 'the row continues');
  t.end();
});

void t.test('the access log exports with its own French columns, in CSV and PDF', async (t) => {
  const { store: s } = store();
  await s.recordAccess({
    who: 'agent@emh',
    action: 'consult',
    why: 'vérification d’une plainte',
    toWhom: '',
    cameras: ['cam-01'],
    detail: 'list',
  });
  const csv = await exportOf(s, {
    kind: 'access-log',
    format: 'csv',
    filter: { period: { from: null, to: null } },
  });
  const text = csv.bytes.toString('utf8');
  t.ok(text.startsWith('\uFEFFDate,Qui,Action,Motif,Destinataire,Caméras,Détail\r\n'));
  t.match(text, /agent@emh,consultation,vérification d’une plainte,—,cam-01,list/);
  t.equal(csv.rows, 1, 'the extraction itself is recorded after the rows were read');
  const pdf = await exportOf(s, {
    kind: 'access-log',
    filter: { period: { from: null, to: null } },
  });
  checkXref(t, pdf.bytes);
  t.equal(pdf.rows, 2);
  t.end();
});
