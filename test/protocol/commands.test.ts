import t from 'tap';
import fc from 'fast-check';
import { formatIssues } from '../../lib/src/schema.js';
import { CommandSchema, commandSiteId, type Command } from '../../protocol/src/commands.js';
import { PURPOSE_LABELS, PURPOSES } from '../../protocol/src/purposes.js';
import { rolesAllow } from '../../protocol/src/roles.js';
import { sessionOpen } from './fixtures/messages.js';

function problems(value: unknown): string[] {
  const result = CommandSchema.safeParse(value);
  return result.success ? [] : formatIssues(result.error.issues);
}

const base = {
  id: '0b6f3c9e-2a41-4d8e-9f10-3c2b1a0d9e8f',
  issuedAt: '2025-03-01T10:00:00Z',
  expiresAt: '2025-03-01T10:01:00Z',
};

void t.test('accepts each command type', (t) => {
  const commands: Command[] = [
    sessionOpen(),
    sessionOpen({ trigger: { kind: 'urgence', officer: 'Capitaine L. Bernard, CSP Metz' } }),
    {
      ...base,
      type: 'session.close',
      siteId: 'borny-hauts',
      sessionId: base.id,
      reason: 'intervention-ended',
    },
    { ...base, type: 'session.extend', siteId: 'borny-hauts', sessionId: base.id, newTtlSec: 2400 },
    { ...base, type: 'sessions.close-all', scope: { all: true } },
    {
      ...base,
      type: 'sessions.close-all',
      scope: { siteId: 'borny-hauts' },
      note: 'clé compromise',
    },
  ];
  for (const command of commands) t.same(problems(command), [], command.type);
  t.end();
});

void t.test('rejects bad commands with the path and the reason', (t) => {
  const cases: [string, unknown, string][] = [
    ['no camera', sessionOpen({ cameras: [] }), 'cameras: Too small'],
    [
      'duplicate camera',
      sessionOpen({ cameras: ['cam-01', 'cam-01'] }),
      'cameras.1: duplicate value "cam-01"',
    ],
    ['camera charset', sessionOpen({ cameras: ['Cam 1'] }), 'cameras.0: must be 1-63 chars'],
    [
      'too many cameras',
      sessionOpen({ cameras: Array.from({ length: 33 }, (_, i) => `cam-${i}`) }),
      'cameras: Too big',
    ],
    ['recipient charset', sessionOpen({ recipient: 'CSU Metz' }), 'recipient: must be 1-63 chars'],
    ['unknown purpose', { ...sessionOpen(), purpose: 'curiosite' }, 'purpose: Invalid option'],
    [
      'urgence without officer',
      { ...sessionOpen(), trigger: { kind: 'urgence' } },
      'trigger.officer: Invalid input',
    ],
    [
      'unknown trigger',
      { ...sessionOpen(), trigger: { kind: 'routine' } },
      'trigger.kind: Invalid discriminator',
    ],
    ['ttl too long', sessionOpen({ requestedTtlSec: 5 * 3600 }), 'requestedTtlSec: Too big'],
    [
      'ttl not integer',
      sessionOpen({ requestedTtlSec: 60.5 }),
      'requestedTtlSec: Invalid input: expected int',
    ],
    [
      'uppercase uuid',
      sessionOpen({ id: '0B6F3C9E-2A41-4D8E-9F10-3C2B1A0D9E8F' }),
      'id: must be a lowercase UUID',
    ],
    [
      'local time',
      sessionOpen({ issuedAt: '2025-03-01T11:00:00+01:00' }),
      'issuedAt: must be an ISO-8601 UTC time',
    ],
    ['extra field', { ...sessionOpen(), debug: true }, '(root): Unrecognized key: "debug"'],
    ['callRef newline', sessionOpen({ callRef: 'CSU\n12' }), 'callRef: must be 1-64 chars'],
    [
      'expired before issued',
      sessionOpen({ issuedAt: '2025-03-01T10:00:00Z', expiresAt: '2025-03-01T09:59:00Z' }),
      'expiresAt: expiresAt 2025-03-01T09:59:00Z is not after issuedAt 2025-03-01T10:00:00Z',
    ],
    [
      'lives too long',
      sessionOpen({ issuedAt: '2025-03-01T10:00:00Z', expiresAt: '2025-03-01T10:10:00Z' }),
      'expiresAt: command lifetime of 600s is more than the maximum 300s',
    ],
    [
      'close-all with both scopes',
      { ...base, type: 'sessions.close-all', scope: { all: true, siteId: 'x' } },
      'scope',
    ],
    [
      'close-all all:false',
      { ...base, type: 'sessions.close-all', scope: { all: false } },
      'scope',
    ],
    [
      'unknown type',
      { ...base, type: 'session.pause', siteId: 'x' },
      'type: Invalid discriminator',
    ],
  ];
  for (const [name, value, expected] of cases) {
    const lines = problems(value);
    t.ok(
      lines.some((line) => line.startsWith(expected)),
      `${name}: ${JSON.stringify(lines)} has ${expected}`,
    );
  }
  t.end();
});

void t.test('commandSiteId gives the addressed site or null for a broadcast', (t) => {
  t.equal(commandSiteId(sessionOpen()), 'borny-hauts');
  t.equal(commandSiteId({ ...base, type: 'sessions.close-all', scope: { all: true } }), null);
  t.equal(
    commandSiteId({ ...base, type: 'sessions.close-all', scope: { siteId: 'patrotte' } }),
    'patrotte',
  );
  t.end();
});

void t.test('roles: operators open, admins close all, nobody else', (t) => {
  t.ok(rolesAllow(['operator'], 'session.open'));
  t.notOk(rolesAllow(['operator'], 'sessions.close-all'));
  t.ok(rolesAllow(['admin'], 'sessions.close-all'));
  t.notOk(rolesAllow(['admin'], 'session.open'));
  t.notOk(rolesAllow([], 'session.close'));
  t.end();
});

void t.test('every Article 2 purpose has a French and an English label', (t) => {
  t.equal(PURPOSES.length, 5);
  for (const purpose of PURPOSES) {
    t.ok(PURPOSE_LABELS[purpose].fr.length > 10 && PURPOSE_LABELS[purpose].en.length > 10, purpose);
  }
  t.end();
});

void t.test('the command schema never throws on arbitrary input (property)', (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ type: fc.constantFrom('session.open', 'sessions.close-all') }),
        ),
        (v) => {
          CommandSchema.safeParse(v);
        },
      ),
      { numRuns: 2000 },
    ),
  );
  t.end();
});
