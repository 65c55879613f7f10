/**
 * Multicast WS-Discovery, only inside a network namespace this test creates
 * (issue 4, "Tests"): lo up with multicast and a 224.0.0.0/4 route, a child
 * process inside it runs the simulated building and the agent's client, and the
 * namespace is deleted in teardown, failure included. Nothing is ever sent to
 * the group from the root namespace. Skipped, with the reason, where
 * namespaces cannot be made (not root).
 */
import t from 'tap';
import {
  addNamespace,
  ip,
  multicastOnLoopback,
  namespacesWithPrefix,
  runTsInNamespace,
} from '../helpers/netns.js';

const PREFIX = 'vigie-t-wsd-';

interface ChildReport {
  found: { endpointUrn: string; xaddrs: string[] }[];
  expected: { endpointUrn: string; xaddrs: string[] }[];
  boundAddress: string;
  afterBye: number;
  rejected: Record<string, number>;
}

const made = await addNamespace(PREFIX);
const ns = made.name;
let created = made.error === null;
if (made.error !== null) t.comment(`cannot create a network namespace (${made.error})`);

if (!created) {
  t.test(
    'multicast discovery inside a namespace',
    { skip: 'needs `ip netns add` (root or CAP_SYS_ADMIN), unavailable here' },
    () => undefined,
  );
} else {
  // Runs on failure too; the last subtest normally deleted it already.
  t.teardown(async () => {
    if (created) await ip('netns', 'delete', ns);
  });

  t.test('the agent finds 4 simulated cameras by multicast inside a namespace', async (t) => {
    await multicastOnLoopback(ns);
    const stdout = await runTsInNamespace(ns, 'test/agent/fixtures/netns-discovery.ts', {
      VIGIE_NETNS_CAMERAS: '4',
    });
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildReport;
    const byUrn = (a: { endpointUrn: string }, b: { endpointUrn: string }) =>
      a.endpointUrn.localeCompare(b.endpointUrn);
    t.equal(report.found.length, 4, 'four cameras answered the multicast probe');
    t.same(report.found, [...report.expected].sort(byUrn), 'with their URNs and XAddrs');
    t.equal(report.boundAddress, '127.0.0.1', 'the probe socket is bound to lo only');
    t.equal(report.afterBye, 0, 'their multicast Bye removed them all');
    t.same(report.rejected, {}, 'nothing refused');
  });

  t.test('the namespace is gone after teardown', async (t) => {
    await ip('netns', 'delete', ns);
    created = false;
    t.same(await namespacesWithPrefix(PREFIX), [], `no ${PREFIX}* namespace is left behind`);
  });
}
