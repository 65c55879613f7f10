/**
 * IPv4 CIDR ranges for the camera LAN. Discovery refuses any XAddr whose host
 * is not an IPv4 literal inside one of them: a ProbeMatch is unauthenticated
 * UDP, and an answer pointing elsewhere is how a spoofer would redirect the
 * box's ONVIF requests (and its camera credentials) to a host it controls.
 */

export interface Ipv4Cidr {
  readonly text: string;
  readonly network: number;
  readonly mask: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as an unsigned 32-bit number, or undefined if it is not a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (const part of m.slice(1)) {
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses "a.b.c.d/n"; undefined when it is not one. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { text, network: (address & mask) >>> 0, mask };
}

export function inCidrs(address: string, cidrs: readonly Ipv4Cidr[]): boolean {
  const value = parseIpv4(address);
  if (value === undefined) return false;
  return cidrs.some((c) => (value & c.mask) >>> 0 === c.network);
}
