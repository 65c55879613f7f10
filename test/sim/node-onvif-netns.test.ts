/**
 * node-onvif, an independent ONVIF client, finds every simulated camera by its
 * own multicast probe. Only inside a network namespace this test creates: lo
 * up with multicast and a 224.0.0.0/4 route, a child process inside it runs
 * the simulated building and node-onvif's startProbe, and the namespace is
 * deleted in teardown, failure included. Nothing is ever sent to the group
 * from the root namespace. Skipped, with the reason, where namespaces cannot
 * be made (not root).
 */
import t from 'tap';
import {
  addNamespace,
  ip,
  multicastOnLoopback,
  namespacesWithPrefix,
  runTsInNamespace,
} from '../helpers/netns.js';
import type { NodeOnvifProbeMatch } from './fixtures/node-onvif-probe.js';

const PREFIX = 'vigie-t-nonvif-';
const CAMERAS = 4;

interface ChildReport {
  found: NodeOnvifProbeMatch[];
  expected: { urn: string; xaddrs: string[] }[];
}

const made = await addNamespace(PREFIX);
const ns = made.name;
let created = made.error === null;
if (made.error !== null) t.comment(`cannot create a network namespace (${made.error})`);

if (!created) {
  t.test(
    'node-onvif multicast discovery inside a namespace',
    { skip: 'needs `ip netns add` (root or CAP_SYS_ADMIN), unavailable here' },
    () => undefined,
  );
} else {
  // Runs on failure too; the last subtest normally deleted it already.
  t.teardown(async () => {
    if (created) await ip('netns', 'delete', ns);
  });

  t.test(
    `node-onvif finds the ${CAMERAS} simulated cameras by its own multicast probe`,
    async (t) => {
      await multicastOnLoopback(ns);
      const stdout = await runTsInNamespace(ns, 'test/sim/fixtures/node-onvif-netns-child.ts', {
        VIGIE_NETNS_CAMERAS: String(CAMERAS),
      });
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildReport;
      const byUrn = (a: { urn: string }, b: { urn: string }) => a.urn.localeCompare(b.urn);
      t.equal(report.expected.length, CAMERAS, 'the building has its cameras');
      t.equal(report.found.length, CAMERAS, 'node-onvif found every camera, none twice');
      t.same(
        report.found.map((d) => ({ urn: d.urn, xaddrs: d.xaddrs })).sort(byUrn),
        [...report.expected].sort(byUrn),
        'with their endpoint URNs and device service XAddrs',
      );
      t.ok(
        report.found.every((d) => d.hardware.length > 0),
        'and the hardware scope node-onvif reads from each ProbeMatch',
      );
    },
  );

  t.test('the namespace is gone after teardown', async (t) => {
    await ip('netns', 'delete', ns);
    created = false;
    t.same(await namespacesWithPrefix(PREFIX), [], `no ${PREFIX}* namespace is left behind`);
  });
}
