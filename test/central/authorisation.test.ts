/**
 * The authorisation table of docs/central.md, rule by rule, on the pure
 * functions the broker calls (broker.test.ts checks them end to end).
 */
import t from 'tap';
import type { Identity } from '../../certs/src/identity.js';
import {
  checkClientId,
  mayConnect,
  mayPublish,
  maySubscribe,
} from '../../central/src/broker/authorisation.js';

const box: Identity = { kind: 'box', siteId: 'borny-hauts', boxId: 'box-borny-01' };
const operator: Identity = { kind: 'person', role: 'operator', name: 'paul-martin' };
const admin: Identity = { kind: 'person', role: 'admin', name: 'anne-admin' };
const viewer: Identity = { kind: 'person', role: 'viewer', name: 'jeanne-dupont' };
const service: Identity = { kind: 'service', name: 'register' };

const own = (c: string) => `vigie/v1/sites/borny-hauts/${c}`;
const other = (c: string) => `vigie/v1/sites/patrotte-barres/${c}`;

void t.test('who may connect', (t) => {
  t.ok(mayConnect(box).allowed, 'box');
  t.ok(mayConnect(operator).allowed, 'operator');
  t.ok(mayConnect(admin).allowed, 'admin');
  t.notOk(mayConnect(viewer).allowed, 'viewer: the live view goes through the relay only');
  t.notOk(mayConnect(service).allowed, 'services: the register ingests over gRPC');
  t.end();
});

void t.test('client ids are bound to the certificate identity', (t) => {
  t.ok(checkClientId(box, 'box:borny-hauts:box-borny-01').allowed);
  t.notOk(checkClientId(box, 'box:patrotte-barres:box-patrotte-01').allowed, 'another box');
  t.notOk(checkClientId(box, 'box:borny-hauts:box-borny-01:x').allowed, 'no suffix for boxes');
  t.ok(checkClientId(operator, 'person:operator:paul-martin').allowed);
  t.ok(checkClientId(operator, 'person:operator:paul-martin:console-2').allowed);
  t.notOk(checkClientId(operator, 'person:operator:paul-martin:Bad/Suffix').allowed);
  t.notOk(checkClientId(operator, 'person:admin:paul-martin').allowed, 'another role');
  t.notOk(checkClientId(operator, 'person:operator:someone-else').allowed, 'another person');
  t.notOk(checkClientId(operator, 'box:borny-hauts:box-borny-01').allowed, 'a box’s id');
  t.ok(checkClientId(operator, 'op:op-martin:1a2b3c4d').allowed, 'the console’s own ids');
  t.end();
});

const subscribeCases: [string, Identity, string, boolean][] = [
  ['box: own cmd', box, own('cmd'), true],
  ['box: broadcast', box, 'vigie/v1/all/cmd', true],
  ['box: policy', box, 'vigie/v1/policy', true],
  ['box: another site’s cmd', box, other('cmd'), false],
  ['box: every site’s cmd', box, 'vigie/v1/sites/+/cmd', false],
  ['box: #', box, '#', false],
  ['box: own evt', box, own('evt'), false],
  ['operator: any evt', operator, 'vigie/v1/sites/+/evt', true],
  ['operator: any state', operator, 'vigie/v1/sites/+/state', true],
  ['operator: one site’s state', operator, other('state'), true],
  ['operator: policy', operator, 'vigie/v1/policy', true],
  ['operator: the register’s alarms', operator, 'vigie/v1/register/alarms', true],
  ['box: the register’s alarms', box, 'vigie/v1/register/alarms', false],
  ['operator: cmd', operator, own('cmd'), false],
  ['operator: #', operator, '#', false],
  ['operator: sites/#', operator, 'vigie/v1/sites/#', false],
  ['operator: +/+', operator, 'vigie/v1/sites/+/+', false],
  ['viewer: evt', viewer, own('evt'), false],
];

void t.test('who may subscribe to what', (t) => {
  for (const [name, who, filter, expected] of subscribeCases) {
    t.equal(maySubscribe(who, filter).allowed, expected, name);
  }
  t.end();
});

const publishCases: [string, Identity, string, boolean, boolean][] = [
  ['box: own evt', box, own('evt'), false, true],
  ['box: own evt retained', box, own('evt'), true, false],
  ['box: own state retained', box, own('state'), true, true],
  ['box: own state', box, own('state'), false, true],
  ['box: another site’s evt', box, other('evt'), false, false],
  ['box: another site’s state', box, other('state'), true, false],
  ['box: own cmd', box, own('cmd'), false, false],
  ['box: policy', box, 'vigie/v1/policy', true, false],
  ['box: the register’s alarms', box, 'vigie/v1/register/alarms', false, false],
  ['operator: the register’s alarms', operator, 'vigie/v1/register/alarms', false, false],
  ['operator: cmd of any site', operator, other('cmd'), false, true],
  ['operator: broadcast', operator, 'vigie/v1/all/cmd', false, true],
  ['operator: retained cmd', operator, other('cmd'), true, false],
  ['operator: retained broadcast', operator, 'vigie/v1/all/cmd', true, false],
  ['operator: evt', operator, own('evt'), false, false],
  ['operator: state', operator, own('state'), true, false],
  ['operator: policy', operator, 'vigie/v1/policy', true, false],
  ['admin: cmd', admin, own('cmd'), false, true],
  ['admin: policy', admin, 'vigie/v1/policy', true, false],
  ['operator: $SYS', operator, '$SYS/x', false, false],
  ['viewer: cmd', viewer, own('cmd'), false, false],
];

void t.test('who may publish what', (t) => {
  for (const [name, who, topic, retain, expected] of publishCases) {
    t.equal(mayPublish(who, { topic, retain }).allowed, expected, name);
  }
  t.end();
});
