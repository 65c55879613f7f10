/**
 * `vigie agent discover --config F`: what a technician installing or checking
 * a box needs to see: every camera the box finds on its camera LAN, described
 * over ONVIF, against the annex of the policy the box holds. One inventory
 * cycle, read-only: it writes nothing (not the journal, not the policy).
 * It can run beside the running agent: it uses its own sockets.
 */
import path from 'node:path';
import { VigieError } from '../../../lib/src/errors.js';
import { readTextFile } from '../../../lib/src/files.js';
import { Logger } from '../../../lib/src/log.js';
import { Redactor } from '../../../lib/src/redact.js';
import { Keyring } from '../../../protocol/src/keyring.js';
import type { Policy } from '../../../protocol/src/policy-schema.js';
import { loadAgentConfig } from '../config/agent-config.js';
import { PolicyKeeper } from '../policy/policy-keeper.js';
import type { InventoryItem } from './annex-matcher.js';
import { CameraInventory, inventoryState } from './camera-inventory.js';
import { CredentialStore } from './credential-store.js';

export interface DiscoverOptions {
  readonly config: string;
  readonly json?: boolean;
  readonly out?: { write(text: string): unknown };
  /** Log lines (warnings about cameras); default stderr, errors only. */
  readonly log?: Logger;
}

export interface DiscoverReport {
  siteId: string;
  boxId: string;
  policyVersion: number | null;
  policyNote: string | null;
  items: ReturnType<typeof inventoryState>;
  rejected: Record<string, number>;
}

export async function discover(options: DiscoverOptions): Promise<DiscoverReport> {
  const config = await loadAgentConfig(options.config);
  const cameras = config.cameras;
  if (!cameras) {
    throw new VigieError(
      'config-invalid',
      `${options.config} has no cameras section: nothing to discover (docs/cameras.md)`,
    );
  }
  const redactor = new Redactor();
  const log =
    options.log ?? new Logger('discover', { level: 'error', redactor, sink: process.stderr });
  const credentials = await CredentialStore.load(cameras.credentialsFile, redactor);
  const { policy, note } = await loadPolicy(config);
  const inventory = new CameraInventory({
    config: cameras,
    credentials,
    annex: () => policy?.sites.find((s) => s.id === config.siteId)?.cameras ?? null,
    log,
    periodic: false,
    redact: (text) => redactor.redact(text),
  });
  let items: readonly InventoryItem[];
  try {
    await inventory.start();
    items = await inventory.refresh();
  } finally {
    await inventory.stop();
  }
  const report: DiscoverReport = {
    siteId: config.siteId,
    boxId: config.boxId,
    policyVersion: policy?.version ?? null,
    policyNote: note,
    items: inventoryState(items),
    rejected: inventory.rejected(),
  };
  const out = options.out ?? process.stdout;
  out.write(redactor.redact(options.json ? JSON.stringify(report, null, 2) + '\n' : table(report)));
  return report;
}

async function loadPolicy(
  config: Awaited<ReturnType<typeof loadAgentConfig>>,
): Promise<{ policy: Policy | null; note: string | null }> {
  const file = config.policyFile ?? path.join(config.dataDir, 'policy.json');
  const pem = await readTextFile(config.admin.publicKeyFile, 'administrator public key');
  const keeper = new PolicyKeeper(
    Keyring.fromPems([{ kid: config.admin.kid, publicKeyPem: pem }]),
    file,
  );
  const outcome = await keeper.loadKept();
  if (outcome === null)
    return { policy: null, note: `no policy at ${file}: no camera can be matched to the annex` };
  if (outcome.kind === 'refused')
    return {
      policy: null,
      note: `the policy at ${file} is refused (${outcome.code}): ${outcome.message}`,
    };
  const policy = keeper.current;
  if (policy && !policy.sites.some((s) => s.id === config.siteId))
    return { policy, note: `policy version ${policy.version} has no site ${config.siteId}` };
  return { policy, note: null };
}

const LABELS: Record<InventoryItem['status'], string> = {
  'annexed-present': 'present',
  'annexed-missing': 'MISSING',
  'annexed-unusable': 'UNUSABLE',
  'h265-only': 'H265-ONLY',
  'identity-conflict': 'CONFLICT',
  'not-annexed': 'not annexed',
};

function table(r: DiscoverReport): string {
  const header = ['STATUS', 'CAMERA', 'MODEL', 'SERIAL', 'ADDRESS', 'LIVE VIEW', 'SENT'];
  const rows = r.items.map((i) => [
    LABELS[i.status],
    i.camera ?? '-',
    `${i.manufacturer} ${i.model}`.trim() || '?',
    i.serial || '?',
    i.address ?? '-',
    i.live ?? '-',
    i.transmissible ? 'yes' : 'no',
  ]);
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd() + '\n';
  const counts = new Map<string, number>();
  for (const i of r.items) counts.set(LABELS[i.status], (counts.get(LABELS[i.status]) ?? 0) + 1);
  let text = `Site ${r.siteId}, box ${r.boxId}, policy ${r.policyVersion ?? 'none'}\n`;
  if (r.policyNote) text += `Note: ${r.policyNote}\n`;
  text += '\n' + line(header) + rows.map(line).join('');
  const problems = r.items.filter((i) => i.status !== 'annexed-present');
  if (problems.length > 0) {
    text += '\nTo look at:\n';
    for (const i of problems) text += `  - ${i.camera ?? i.endpointUrn ?? '?'}: ${i.reason}\n`;
  }
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'no camera found';
  text += `\n${r.items.length} item(s): ${summary}.\n`;
  const rejected = Object.entries(r.rejected);
  if (rejected.length > 0)
    text += `Discovery answers refused: ${rejected.map(([k, n]) => `${k} ${n}`).join(', ')}.\n`;
  return text;
}
