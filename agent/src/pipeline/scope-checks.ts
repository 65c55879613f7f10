/**
 * What the command is about (rule 1): this box's site, and for an open every
 * camera in the annex in force and transmissible (L272-2: no private
 * entrances, no public road; Article 6 decides what is in the annex).
 */
import { commandSiteId, type Command } from '../../../protocol/src/commands.js';
import type { PolicyView } from './policy-view.js';
import type { Refusal } from './verification.js';

export function checkSite(command: Command, view: PolicyView, siteId: string): Refusal | null {
  const target = commandSiteId(command);
  // A broadcast close-all (`{all: true}`) concerns every box, this one included.
  const forUs = target === null || target === siteId;
  if (forUs && view.site !== null) return null;
  const named = target ?? siteId;
  const detail = forUs
    ? `site ${siteId} (this box) is not in policy version ${view.version} for this box`
    : `command targets site ${named}; this box serves ${siteId}`;
  return { reason: 'site', params: { siteId: named }, detail };
}

export function checkCameras(command: Command, view: PolicyView): Refusal | null {
  if (command.type !== 'session.open') return null;
  for (const id of command.cameras) {
    const camera = view.cameras.get(id);
    const params = { camera: id, policyVersion: view.version };
    if (!camera) {
      return {
        reason: 'camera-not-annexed',
        params,
        detail: `camera ${id} is not in the annex of policy version ${view.version}`,
      };
    }
    if (!camera.transmissible) {
      return {
        reason: 'camera-not-transmissible',
        params,
        detail: `camera ${id} is annexed but not transmissible (policy version ${view.version})`,
      };
    }
  }
  return null;
}
