import t from 'tap';
import fc from 'fast-check';
import { formatIssues } from '../../lib/src/schema.js';
import { AgentStateSchema } from '../../protocol/src/agent-state.js';
import { AgentEventSchema } from '../../protocol/src/events.js';

const base = {
  id: '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e8f',
  siteId: 'borny-hauts',
  boxId: 'box-borny-01',
  time: '2025-03-01T10:00:01Z',
};
const commandId = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

void t.test('agent events parse, with stable reason codes', (t) => {
  const events = [
    {
      ...base,
      type: 'command.ack',
      commandId,
      commandType: 'session.open',
      sessionId: commandId,
      grantedTtlSec: 1800,
    },
    {
      ...base,
      type: 'command.reject',
      commandId,
      reason: 'camera-not-annexed',
      params: { camera: 'cam-07', policyVersion: 12 },
    },
    { ...base, type: 'command.reject', commandId: null, reason: 'size' },
    {
      ...base,
      type: 'session.closed',
      sessionId: commandId,
      reason: 'ttl-expired',
      durationSec: 1800,
    },
    {
      ...base,
      type: 'alarm',
      alarm: 'camera-identity-mismatch',
      severity: 'critical',
      camera: 'cam-02',
    },
  ];
  for (const e of events) t.ok(AgentEventSchema.safeParse(e).success, e.type);
  const bad = AgentEventSchema.safeParse({
    ...base,
    type: 'session.closed',
    sessionId: commandId,
    reason: 'bored',
    durationSec: 1,
  });
  t.ok(!bad.success && formatIssues(bad.error.issues)[0]?.startsWith('reason: Invalid option'));
  const refusal = AgentEventSchema.safeParse({
    ...base,
    type: 'command.reject',
    commandId,
    reason: 'because',
  });
  t.notOk(refusal.success, 'refusal reasons come from the fixed list');
  t.end();
});

void t.test(
  'retained state: online with health and bounded inventory, offline as last will',
  (t) => {
    const online = {
      boxId: 'box-borny-01',
      siteId: 'borny-hauts',
      time: base.time,
      status: 'online',
      bootId: commandId,
      agentVersion: '0.1.0',
      policyVersion: 12,
      health: {
        uptimeSec: 3600,
        clockSynced: true,
        journalWritable: true,
        openSessions: 0,
        temperatureC: 41.5,
      },
      inventory: [
        {
          status: 'annexed-present',
          camera: 'cam-01',
          manufacturer: 'Hikvision',
          model: 'DS-2CD2143G2-I',
          serial: 'DS-2CD2143G2-I20210101AAWRF12345678',
          endpointUrn: 'urn:uuid:5f0c1c3e-0000-4000-8000-000000000001',
          address: '192.168.50.11:80',
          transmissible: true,
          live: 'H264 2688x1520',
          reason: 'cam-01 answers and is transmissible',
        },
      ],
    };
    t.ok(AgentStateSchema.safeParse(online).success);
    t.ok(
      AgentStateSchema.safeParse({
        boxId: 'box-borny-01',
        siteId: 'borny-hauts',
        time: base.time,
        status: 'offline',
      }).success,
    );
    const item = online.inventory[0];
    const huge = { ...online, inventory: Array.from({ length: 513 }, () => item) };
    t.notOk(AgentStateSchema.safeParse(huge).success, 'inventory is bounded');
    const nested = { ...online, inventory: [{ ...item, deep: { a: 1 } }] };
    t.notOk(AgentStateSchema.safeParse(nested).success, 'inventory items have a fixed shape');
    const odd = { ...online, inventory: [{ ...item, status: 'maybe' }] };
    t.notOk(AgentStateSchema.safeParse(odd).success, 'inventory statuses come from the fixed list');
    t.end();
  },
);

void t.test('event and state schemas never throw on arbitrary input (property)', (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.anything(), (v) => {
        AgentEventSchema.safeParse(v);
        AgentStateSchema.safeParse(v);
      }),
      { numRuns: 1000 },
    ),
  );
  t.end();
});
