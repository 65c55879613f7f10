/**
 * Process matters for `vigie sim` (STYLE: main owns signals): runs the
 * building until SIGINT or SIGTERM, then sends Bye and stops every camera.
 * Handlers are installed before start, so a signal during start still stops
 * what had started. Prints the cameras (never their passwords).
 */
import type { EventEmitter } from 'node:events';
import { Logger } from '../../lib/src/log.js';
import { Redactor } from '../../lib/src/redact.js';
import { SimulatedBuilding, type SimulatedBuildingOptions } from './building.js';
import { RtspSimulator } from './rtsp-server.js';

export interface RunSimOptions {
  /** Serve the cameras' RTSP streams (GStreamer); default true. */
  readonly rtsp?: boolean;
  readonly signals?: EventEmitter;
  readonly out?: { write(text: string): unknown };
  readonly onReady?: (building: SimulatedBuilding) => void;
  readonly logSink?: { write(line: string): void }; // default stderr
}

export async function runSim(
  options: Omit<SimulatedBuildingOptions, 'log'>,
  run: RunSimOptions = {},
): Promise<void> {
  const redactor = new Redactor();
  const log = new Logger('sim', { redactor, sink: run.logSink });
  const building = new SimulatedBuilding({ ...options, log });
  let streams: RtspSimulator | undefined;
  const stopAll = async (reason: string): Promise<void> => {
    await Promise.allSettled([building.stop(reason), streams?.stop(reason)]);
  };
  const signals = run.signals ?? process;
  const out = run.out ?? process.stdout;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onStop = (signal: string): void => {
    log.info('stopping', { signal });
    void stopAll('shutdown').finally(resolveStopped);
  };
  signals.on('SIGINT', onStop);
  signals.on('SIGTERM', onStop);
  try {
    await building.start();
    building.registerSecrets(redactor);
    if (run.rtsp !== false) {
      // The streams GetStreamUri points at: one mount per camera, its own credentials.
      streams = new RtspSimulator({
        port: options.rtspPort ?? 8554,
        cameras: building.cameras.map((c) => ({
          id: c.identity.id,
          name: c.identity.name,
          username: c.credentials.username,
          password: c.credentials.password,
          codec: c.identity.codec === 'h265-only' ? 'h265' : 'h264',
        })),
        logger: log,
      });
      await streams.start();
      building.useRtspPort(streams.port);
    }
    out.write(redactor.redact(describe(building, options)));
    run.onReady?.(building);
    await stopped;
  } catch (err) {
    await stopAll('start-failed');
    throw err;
  } finally {
    signals.off('SIGINT', onStop);
    signals.off('SIGTERM', onStop);
  }
}

function describe(b: SimulatedBuilding, o: Omit<SimulatedBuildingOptions, 'log'>): string {
  const rows = b.cameras.map(
    (c) =>
      `  ${c.identity.id}  ${c.xaddr.padEnd(44)} ${c.identity.codec.padEnd(9)} ${c.identity.endpointReference}`,
  );
  const discovery =
    b.discoveryPort === undefined
      ? 'WS-Discovery off'
      : `WS-Discovery on ${o.host ?? '127.0.0.1'}:${b.discoveryPort} (${o.discovery && o.discovery.multicast ? 'multicast and unicast' : 'unicast only'})`;
  return (
    `vigie sim: ${b.cameras.length} cameras, ${discovery}\n` +
    rows.join('\n') +
    `\n  streams: rtsp://${o.host ?? '127.0.0.1'}:${b.rtspPort}/<camera id> (digest, the camera's credentials)` +
    `\n  credentials: ${o.credentialsFile ?? '(not written)'}\n` +
    'Ctrl-C to stop (cameras say Bye).\n'
  );
}
