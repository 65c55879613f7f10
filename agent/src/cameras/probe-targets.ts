/**
 * Directed unicast probes: the agent's configuration names addresses or
 * ranges on the camera LAN, each optionally with a port (WS-Discovery's 3702
 * by default). Ranges are expanded here, bounded, so a typo like /8 is a
 * clear configuration error rather than sixteen million datagrams a minute.
 *
 *   192.168.50.10          one host, port 3702
 *   192.168.50.10:3702     one host, explicit port
 *   192.168.50.32/28       every address of the range (network and broadcast excluded when /30 or wider)
 *   192.168.50.32/28:3702  the same, explicit port
 */
import { parseCidr, parseIpv4 } from './ipv4-cidr.js';
import type { WsDiscoveryTarget } from './ws-discovery.js';
import { WS_DISCOVERY_PORT } from './ws-discovery.js';

/** More directed probes than this in all is a configuration mistake. */
export const MAX_PROBE_TARGETS = 1024;

const TARGET = /^([0-9./]+?)(?::(\d{1,5}))?$/;

/** The targets one entry stands for, or a sentence saying why it is not one. */
export function expandProbeTarget(entry: string): WsDiscoveryTarget[] | string {
  const m = TARGET.exec(entry.trim());
  if (!m) return `${entry} is not an IPv4 address or range, with an optional :port`;
  const [, where = '', portText] = m;
  const port = portText === undefined ? WS_DISCOVERY_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `${entry}: port ${port} is not in 1..65535`;
  if (!where.includes('/')) {
    return parseIpv4(where) === undefined
      ? `${entry}: ${where} is not an IPv4 address`
      : [{ host: where, port }];
  }
  const cidr = parseCidr(where);
  if (!cidr) return `${entry}: ${where} is not an IPv4 range like 192.168.50.0/24`;
  const size = 2 ** (32 - bitsOf(cidr.mask));
  if (size > MAX_PROBE_TARGETS)
    return `${entry}: ${size} addresses is more than ${MAX_PROBE_TARGETS}`;
  // /31 and /32 have no network or broadcast address to skip (RFC 3021).
  const skipEnds = size >= 4;
  const hosts: WsDiscoveryTarget[] = [];
  for (let i = skipEnds ? 1 : 0; i < (skipEnds ? size - 1 : size); i++) {
    hosts.push({ host: ipv4Text((cidr.network + i) >>> 0), port });
  }
  return hosts;
}

/** Every entry expanded, duplicates removed; throws nothing, returns the problems. */
export function expandProbeTargets(entries: readonly string[]): {
  targets: WsDiscoveryTarget[];
  problems: string[];
} {
  const seen = new Set<string>();
  const targets: WsDiscoveryTarget[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const expanded = expandProbeTarget(entry);
    if (typeof expanded === 'string') {
      problems.push(expanded);
      continue;
    }
    for (const t of expanded) {
      const key = `${t.host}:${t.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push(t);
    }
  }
  if (targets.length > MAX_PROBE_TARGETS)
    problems.push(`${targets.length} probe targets in all is more than ${MAX_PROBE_TARGETS}`);
  return { targets, problems };
}

function bitsOf(mask: number): number {
  let bits = 0;
  for (let m = mask >>> 0; m !== 0; m = (m << 1) >>> 0) bits++;
  return bits;
}

function ipv4Text(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 255).join('.');
}
