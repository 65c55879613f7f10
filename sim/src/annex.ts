/**
 * The annex entries of a simulated building, to paste into a policy's site
 * (`vigie sim --cameras N --write-annex F`): identities are derived from the
 * seed and camera number, so the annex can be written before the building runs
 * and matches it on every run with the same seed.
 */
import { stringify } from 'yaml';
import { writeFileDurable } from '../../lib/src/files.js';
import type { Camera } from '../../protocol/src/policy-schema.js';
import { cameraIdentity } from './camera-identity.js';

export function simAnnex(seed: string, cameras: number, h265Only: readonly number[]): Camera[] {
  const h265 = new Set(h265Only);
  return Array.from({ length: cameras }, (_, i) => {
    const n = i + 1;
    const id = cameraIdentity(seed, n, h265.has(n) ? 'h265-only' : 'h264');
    return {
      id: id.id,
      label: `${id.name}`,
      location: `Bâtiment simulé, emplacement ${n}`,
      owner: 'emh',
      transmissible: true,
      onvif: {
        manufacturer: id.manufacturer,
        model: id.model,
        serial: id.serialNumber,
        hardwareId: id.hardwareId,
        endpointUrn: id.endpointReference,
      },
    };
  });
}

/** Writes `cameras:` YAML for a policy site (no secret in it). */
export async function writeSimAnnex(
  file: string,
  seed: string,
  cameras: number,
  h265Only: readonly number[],
): Promise<void> {
  const text =
    `# Annex of the simulated building (seed ${JSON.stringify(seed)}): paste under a site of the policy.\n` +
    stringify({ cameras: simAnnex(seed, cameras, h265Only) });
  await writeFileDurable(file, text);
}
