/**
 * The running agent and its cameras, end to end on loopback: a simulated
 * building of 4 cameras (the 4th H.265 only) matched to the policy's annex,
 * the inventory on the retained state, the H.265-only camera journaled and
 * raised as an alarm, `vigie agent discover` (table and JSON) on the same
 * configuration, and no camera password anywhere in what the run produced.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { discover } from '../../agent/src/cameras/discover-command.js';
import { Logger } from '../../lib/src/log.js';
import { connect, connected } from '../central/helpers.js';
import { SimulatedBuilding } from '../../sim/src/building.js';
import { simAnnex } from '../../sim/src/annex.js';
import {
  BORNY,
  makeWorld,
  onlineStateWhere,
  readJournal,
  startAgent,
  startEmbeddedCentral,
} from './harness.js';

const run = promisify(execFile);
const CAMERAS = 4;
const H265 = 4;

t.test(
  'the agent inventories its building and publishes it; discover shows the same',
  async (t) => {
    const world = await makeWorld(t, 12, (p) => {
      const site = p.sites.find((s) => s.id === BORNY.siteId);
      if (!site) throw new Error('the test policy has no Borny site');
      site.cameras = simAnnex('vigie', CAMERAS, [H265]);
    });
    const credentialsFile = path.join(world.dir, 'cameras.json');
    const building = new SimulatedBuilding({
      cameras: CAMERAS,
      h265Only: [H265],
      credentialsFile,
      discovery: { port: 0 },
      log: new Logger('sim', { level: 'error', sink: { write: () => true } }),
    });
    await building.start();
    t.teardown(() => building.stop());
    const passwords = building.cameras.map((c) => c.credentials.password);

    const port = await startEmbeddedCentral(t, world);
    const dataDir = path.join(world.dir, 'agent-data');
    const cameras = {
      lanAddress: '127.0.0.1',
      lanCidrs: ['127.0.0.0/8'],
      multicast: false,
      probe: [`127.0.0.1:${building.discoveryPort}`],
      credentialsFile,
      answerWaitMs: 300,
    };
    const configFile = await world.agentConfigFile(port, dataDir, {
      cameras,
      policyFile: world.bundleFile,
    });
    const { log } = await startAgent(t, configFile);

    const op = connect(t, port, await world.pki.material(world.operatorDir), 'op:e2e:cameras');
    await connected(op);
    const state = await onlineStateWhere(op, (s) => s.inventory.length === CAMERAS, 20_000);
    t.same(
      state.inventory.map((i) => [i.camera, i.status, i.transmissible]),
      [
        ['cam-01', 'annexed-present', true],
        ['cam-02', 'annexed-present', true],
        ['cam-03', 'annexed-present', true],
        ['cam-04', 'h265-only', false],
      ],
    );
    t.match(state.inventory[0], {
      manufacturer: 'Vigie Sim',
      address: /^127\.0\.0\.1:\d+$/,
      live: /^H264 \d+x\d+$/,
    });

    const journal = readJournal(path.join(dataDir, 'journal.db'));
    const alarms = journal.filter((e) => e.type === 'alarm');
    t.match(
      alarms.map((e) => e.data),
      [{ alarm: 'camera-unusable', severity: 'critical', camera: 'cam-04', status: 'h265-only' }],
      'the camera that cannot be shown is journaled as an alarm',
    );

    let table = '';
    await discover({
      config: configFile,
      out: { write: (s: string) => (table += s) },
      log: new Logger('discover', { level: 'error', sink: { write: () => true } }),
    });
    t.match(table, /Site borny-hauts, box box-borny-01, policy 12/);
    t.match(table, /present\s+cam-01\s+Vigie Sim VS-2100 dome/);
    t.match(table, /H265-ONLY\s+cam-04/);
    t.match(table, /cam-04: cam-04 offers only H265/);
    t.match(table, /4 item\(s\): 3 present, 1 H265-ONLY\./);

    const cli = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/src/main.ts', 'agent', 'discover', '--config', configFile, '--json'],
      { timeout: 30_000 },
    );
    const report = JSON.parse(cli.stdout) as { items: { camera: string; status: string }[] };
    t.same(
      report.items.map((i) => i.status),
      ['annexed-present', 'annexed-present', 'annexed-present', 'h265-only'],
      '`vigie agent discover --json` gives the same inventory',
    );

    const everything = [
      log.join(''),
      JSON.stringify(state),
      JSON.stringify(journal),
      table,
      cli.stdout,
      cli.stderr,
    ].join('\n');
    for (const password of passwords)
      t.notOk(
        everything.includes(password),
        'no camera password in logs, state, journal or output',
      );
  },
);
