/**
 * Which cameras the convention covers (its annex, "plan d'implantation des
 * caméras incluses au dispositif") against what the box actually sees on the
 * camera LAN. Matching is by ONVIF identity, never by IP address: an address
 * changes with DHCP, and a device that takes over an annexed camera's address
 * must not inherit its transmissibility.
 *
 * Identity rule: when both sides carry an endpoint URN they must be equal;
 * and manufacturer and model (case and surrounding spaces ignored) and serial
 * (exact) must be equal, and the hardware id too when the annex gives one. A
 * device that answered discovery but could not be described yet (no serial)
 * matches by URN alone, which only ever makes it `annexed-unusable`.
 */
import type { InventoryStatus } from '../../../protocol/src/agent-state.js';
import type { Camera } from '../../../protocol/src/policy-schema.js';

export type { InventoryStatus };

export interface OnvifIdentity {
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly hardwareId?: string | undefined;
  readonly endpointUrn?: string | undefined;
}

export interface DiscoveredCamera {
  readonly identity: OnvifIdentity;
  /** The device service address it answered from: for people, never for matching. */
  readonly xaddr: string;
  /** Video encodings its profiles offer, e.g. ['H264'] or ['H265']. */
  readonly encodings: readonly string[];
  /** Set when it answered discovery but could not be described over ONVIF. */
  readonly problem?: string | undefined;
  /** The stream chosen for live view, e.g. "H264 1920x1080", when there is one. */
  readonly live?: string | undefined;
}

export interface InventoryItem {
  readonly status: InventoryStatus;
  /** The annex id, when the device matches an annex entry. */
  readonly cameraId: string | null;
  readonly identity: OnvifIdentity;
  readonly xaddr: string | null;
  readonly transmissible: boolean;
  /** Why, in a sentence, for the technician. */
  readonly reason: string;
  /** The stream chosen for live view, e.g. "H264 1920x1080", when the device offers one. */
  readonly live?: string | undefined;
}

const norm = (s: string): string => s.trim().toLowerCase();

export function sameCamera(annexed: OnvifIdentity, seen: OnvifIdentity): boolean {
  if (annexed.endpointUrn !== undefined && seen.endpointUrn !== undefined) {
    if (norm(annexed.endpointUrn) !== norm(seen.endpointUrn)) return false;
    // The URN comes from unauthenticated WS-Discovery: once the device has been
    // described (over ONVIF, with its credentials), what it says must agree too.
    if (seen.serial === '') return true;
  }
  if (annexed.hardwareId !== undefined && annexed.hardwareId !== seen.hardwareId) return false;
  return (
    norm(annexed.manufacturer) === norm(seen.manufacturer) &&
    norm(annexed.model) === norm(seen.model) &&
    annexed.serial.trim() === seen.serial.trim()
  );
}

function describe(identity: OnvifIdentity): string {
  return `${identity.manufacturer} ${identity.model} serial ${identity.serial}`;
}

function annexedItem(camera: Camera, seen: DiscoveredCamera[]): InventoryItem {
  const base = { cameraId: camera.id, identity: camera.onvif };
  if (seen.length === 0) {
    return {
      ...base,
      status: 'annexed-missing',
      xaddr: null,
      transmissible: false,
      reason: `${camera.id} (${camera.label}) does not answer: the parties must be told that coverage is lost`,
    };
  }
  if (seen.length > 1) {
    return {
      ...base,
      status: 'identity-conflict',
      xaddr: null,
      transmissible: false,
      reason: `${seen.length} devices claim the identity of ${camera.id} (${describe(camera.onvif)})`,
    };
  }
  const device = seen[0] as DiscoveredCamera;
  if (device.problem !== undefined) {
    return {
      ...base,
      status: 'annexed-unusable',
      xaddr: device.xaddr,
      transmissible: false,
      reason: `${camera.id} answers discovery but not ONVIF: ${device.problem}`,
    };
  }
  const h264 = device.encodings.some((e) => norm(e) === 'h264');
  if (!h264) {
    return {
      ...base,
      status: 'h265-only',
      xaddr: device.xaddr,
      transmissible: false,
      reason: `${camera.id} offers only ${device.encodings.join(', ') || 'no video'}: browsers decode H.264; configure an H.264 profile on the camera`,
    };
  }
  return {
    ...base,
    status: 'annexed-present',
    xaddr: device.xaddr,
    live: device.live,
    transmissible: camera.transmissible,
    reason: camera.transmissible
      ? `${camera.id} answers and is transmissible`
      : `${camera.id} answers; the annex marks it not transmissible`,
  };
}

/** The inventory: every annex entry, then every device that matches none. */
export function matchAnnex(
  annex: readonly Camera[],
  discovered: readonly DiscoveredCamera[],
): InventoryItem[] {
  const claimed = new Set<DiscoveredCamera>();
  const items = annex.map((camera) => {
    const seen = discovered.filter((d) => sameCamera(camera.onvif, d.identity));
    for (const d of seen) claimed.add(d);
    return annexedItem(camera, seen);
  });
  for (const device of discovered) {
    if (claimed.has(device)) continue;
    items.push({
      status: 'not-annexed',
      cameraId: null,
      identity: device.identity,
      xaddr: device.xaddr,
      live: device.live,
      transmissible: false,
      reason:
        device.problem !== undefined
          ? `device ${device.identity.endpointUrn ?? ''} at ${device.xaddr} could not be described (${device.problem}); not in the annex: never transmitted`
          : `${describe(device.identity)} at ${device.xaddr} is not in the annex: never transmitted (article 6 to add it)`,
    });
  }
  return items;
}
