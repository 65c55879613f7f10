/**
 * `vigie sim`: a simulated building of ONVIF cameras for the demo and tests.
 * Mounted by cli/src/program.ts with registerSimCommands(program).
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { SimulatedBuildingOptions } from './building.js';
import { MAX_SIM_CAMERAS } from './limits.js';

interface SimCliOptions {
  cameras: number;
  seed: string;
  host: string;
  httpPortBase: number;
  rtspPort: number;
  h265Only?: number[] | 'none';
  credentials: string;
  discovery: boolean;
  discoveryPort: number;
  multicast: boolean;
  announceTo?: { address: string; port: number };
  writeAnnex?: string;
}

export function registerSimCommands(program: Command): void {
  program
    .command('sim')
    .description(
      'simulated building: N ONVIF cameras with WS-Discovery, for the demo and the tests',
    )
    .requiredOption(
      '--cameras <n>',
      `number of cameras, 1 to ${MAX_SIM_CAMERAS}`,
      intIn(1, MAX_SIM_CAMERAS),
    )
    .option('--seed <text>', 'identity seed: same seed, same serials and endpoint URNs', 'vigie')
    .option('--host <address>', 'address the cameras listen on', '127.0.0.1')
    .option(
      '--http-port-base <port>',
      'camera n listens on base+n-1 (0: ephemeral ports)',
      intIn(0, 65535),
      0,
    )
    .option(
      '--rtsp-port <port>',
      'port of the RTSP server named in GetStreamUri (0: any free port)',
      intIn(0, 65535),
      8554,
    )
    .option(
      '--h265-only <list>',
      'cameras offering only H.265, e.g. 3,7, or none (default: the last one)',
      cameraList,
    )
    .option(
      '--credentials <file>',
      'where to write the per-camera credentials (mode 0600)',
      'vigie-sim-credentials.json',
    )
    .option('--no-discovery', 'do not run the WS-Discovery responder')
    .option('--discovery-port <port>', 'WS-Discovery UDP port', intIn(1, 65535), 3702)
    .option(
      '--multicast',
      'also answer multicast probes and announce to 239.255.255.250 (inside a network namespace only)',
      false,
    )
    .option('--announce-to <host:port>', 'send Hello/Bye to this unicast address', hostPort)
    .option(
      '--write-annex <file>',
      "write these cameras' annex entries (YAML, for a policy site), then run",
    )
    .addHelpText(
      'after',
      `
Each camera has its own HTTP port (device service at /onvif/device_service),
its own identity (manufacturer "Vigie Sim", serial, hardware id, endpoint URN
stable for a seed) and its own random user and password, written to the
credentials file with mode 0600 and never printed. GetStreamUri answers
rtsp://<host>:<rtsp-port>/<camera-id>. Authentication is WS-UsernameToken
PasswordDigest; GetSystemDateAndTime answers without it, as on real cameras.
Without --multicast nothing is sent to or received from a multicast group.
See docs/sim.md.

Examples:
  vigie sim --cameras 4
  vigie sim --cameras 4 --write-annex annex.yaml   # the policy's cameras for this building
  vigie sim --cameras 32 --http-port-base 18000 --discovery-port 13702 --credentials /tmp/cams.json`,
    )
    .action(async (o: SimCliOptions) => {
      // Imported when run: the simulator stays out of every other command's process.
      const { runSim } = await import('./main-sim.js');
      const options = toBuildingOptions(o);
      if (o.writeAnnex !== undefined) {
        const { writeSimAnnex } = await import('./annex.js');
        await writeSimAnnex(o.writeAnnex, o.seed, o.cameras, options.h265Only ?? []);
      }
      await runSim(options);
    });
}

export function toBuildingOptions(o: SimCliOptions): Omit<SimulatedBuildingOptions, 'log'> {
  const h265Only = o.h265Only === 'none' ? [] : (o.h265Only ?? (o.cameras >= 2 ? [o.cameras] : []));
  return {
    cameras: o.cameras,
    seed: o.seed,
    host: o.host,
    httpPortBase: o.httpPortBase,
    rtspPort: o.rtspPort,
    h265Only,
    credentialsFile: o.credentials,
    discovery: o.discovery
      ? { port: o.discoveryPort, multicast: o.multicast, announceTo: o.announceTo }
      : false,
  };
}

function intIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`${value} is not a whole number from ${min} to ${max}`);
    return n;
  };
}

function cameraList(value: string): number[] | 'none' {
  if (value === 'none') return 'none';
  if (!/^\d+(,\d+)*$/.test(value))
    throw new InvalidArgumentError(
      `${value} is not a comma-separated list of camera numbers or "none"`,
    );
  return value.split(',').map(Number);
}

function hostPort(value: string): { address: string; port: number } {
  const m = /^([0-9.]+):(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m?.[1] || port < 1 || port > 65535)
    throw new InvalidArgumentError(`${value} is not an IPv4 address:port such as 127.0.0.1:3702`);
  return { address: m[1], port };
}
