/**
 * WS-Discovery on loopback, unicast only (no multicast from the root
 * namespace): a Probe sent with dgram to the responder gets one ProbeMatch per
 * camera with its XAddr and endpoint reference; Hello and Bye reach a unicast
 * target; hostile datagrams are counted and never answered nor fatal.
 */
import dgram from 'node:dgram';
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { Logger } from '../../lib/src/log.js';
import { SimulatedBuilding } from '../../sim/src/building.js';
import { NS } from '../../sim/src/soap.js';
import { readProbeMatchWithOnvif } from './onvif-clients.js';
import { childNamed, readXml, type XmlElement } from '../../lib/src/xml-reader.js';

const quiet = new Logger('sim', { sink: { write: () => undefined } });

interface Inbox {
  raw: string[];
  socket: dgram.Socket;
  port: number;
  messages: XmlElement[];
  waitFor(n: number, timeoutMs?: number): Promise<XmlElement[]>;
}

async function inbox(t: Test): Promise<Inbox> {
  const socket = dgram.createSocket('udp4');
  const messages: XmlElement[] = [];
  const raw: string[] = [];
  socket.on('message', (m) => {
    raw.push(m.toString('utf8'));
    messages.push(readXml(m));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    raw,
    socket,
    port: socket.address().port,
    messages,
    async waitFor(n, timeoutMs = 3000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return messages;
    },
  };
}

function probe(messageId: string, types = 'dn:NetworkVideoTransmitter'): string {
  // The Probe the onvif package sends (lib/discovery.js), with our message id.
  return (
    '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
    '<Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">' +
    messageId +
    '</wsa:MessageID><wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>' +
    '<wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header>' +
    '<Body><Probe xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery">' +
    `<Types>${types}</Types><Scopes /></Probe></Body></Envelope>`
  );
}

function path(el: XmlElement | undefined, ...steps: [string, string][]): XmlElement | undefined {
  let cur = el;
  for (const [ns, name] of steps) cur = cur && childNamed(cur, ns, name);
  return cur;
}

function send(socket: dgram.Socket, port: number, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(data, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
}

t.test(
  'a unicast Probe gets one ProbeMatch per camera with its XAddr and endpoint reference',
  async (t) => {
    const announced = await inbox(t);
    const building = new SimulatedBuilding({
      cameras: 4,
      seed: 'discovery-test',
      discovery: { port: 0, announceTo: { address: '127.0.0.1', port: announced.port } },
      log: quiet,
    });
    t.teardown(() => building.stop());
    await building.start();
    const port = building.discoveryPort;
    if (port === undefined) throw new Error('no discovery port');

    const hellos = await announced.waitFor(4);
    t.equal(hellos.length, 4, 'a Hello per camera reached the unicast target');
    t.same(
      new Set(
        hellos.map((h) => path(h, [NS.soap, 'Body'], [NS.wsd, 'Hello'], [NS.wsd, 'XAddrs'])?.text),
      ),
      new Set(building.cameras.map((c) => c.xaddr)),
    );

    const client = await inbox(t);
    const messageId = `urn:uuid:${randomUUID()}`;
    await send(client.socket, port, probe(messageId));
    const replies = await client.waitFor(4);
    t.equal(replies.length, 4);
    const seen = new Map<string, string>();
    for (const r of replies) {
      const header = childNamed(r, NS.soap, 'Header');
      t.equal(
        header && childNamed(header, NS.wsa, 'RelatesTo')?.text,
        messageId,
        'RelatesTo the probe',
      );
      t.equal(header && childNamed(header, NS.wsa, 'Action')?.text, `${NS.wsd}/ProbeMatches`);
      const match = path(r, [NS.soap, 'Body'], [NS.wsd, 'ProbeMatches'], [NS.wsd, 'ProbeMatch']);
      const urn = path(match, [NS.wsa, 'EndpointReference'], [NS.wsa, 'Address'])?.text ?? '';
      const xaddr = path(match, [NS.wsd, 'XAddrs'])?.text ?? '';
      t.match(path(match, [NS.wsd, 'Types'])?.text, /dn:NetworkVideoTransmitter/);
      seen.set(urn, xaddr);
    }
    t.same(
      Object.fromEntries(seen),
      Object.fromEntries(building.cameras.map((c) => [c.identity.endpointReference, c.xaddr])),
      'each ProbeMatch carries the right XAddr for its endpoint reference',
    );

    const viaOnvif = await Promise.all(client.raw.map((x) => readProbeMatchWithOnvif(x)));

    t.same(
      Object.fromEntries(viaOnvif.map((m) => [m.urn, m.xaddrs])),

      Object.fromEntries(building.cameras.map((c) => [c.identity.endpointReference, c.xaddr])),

      "the onvif package's discovery parser reads the same endpoint and XAddr",
    );

    await building.stop();
    const all = await announced.waitFor(8);
    const byes = all.filter((m) => path(m, [NS.soap, 'Body'], [NS.wsd, 'Bye']));
    t.equal(byes.length, 4, 'a Bye per camera on stop');
  },
);

t.test('a Probe for other types is not answered', async (t) => {
  const building = new SimulatedBuilding({ cameras: 2, discovery: { port: 0 }, log: quiet });
  t.teardown(() => building.stop());
  await building.start();
  const client = await inbox(t);
  await send(
    client.socket,
    building.discoveryPort ?? 0,
    probe('urn:uuid:1', 'p:Printer').replace('xmlns:dn=', 'xmlns:p="urn:printers" xmlns:dn='),
  );
  await send(client.socket, building.discoveryPort ?? 0, probe('urn:uuid:2'));
  const replies = await client.waitFor(2);
  t.equal(replies.length, 2, 'only the NVT probe is answered (one match per camera)');
  t.equal(building.counter.get('wsd-no-match'), 1);
});

t.test(
  'hostile datagrams are counted by reason, never answered, and the responder keeps working',
  async (t) => {
    const building = new SimulatedBuilding({ cameras: 1, discovery: { port: 0 }, log: quiet });
    t.teardown(() => building.stop());
    await building.start();
    const port = building.discoveryPort ?? 0;
    const client = await inbox(t);
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' +
      '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body>&lol2;</Body></Envelope>';
    await send(client.socket, port, laughs);
    await send(client.socket, port, Buffer.alloc(20_000, 0x3c));
    await send(client.socket, port, '<a><b></a>');
    await send(client.socket, port, Buffer.from([0xff, 0xfe, 0x00, 0x3c]));
    await send(client.socket, port, '<a>'.repeat(100));
    await send(client.socket, port, probe('urn:uuid:after-the-garbage'));
    const replies = await client.waitFor(1);
    t.equal(replies.length, 1, 'only the real probe got an answer');
    const counts = building.counter.snapshot();
    t.equal(counts['xml-doctype'], 1);
    t.equal(counts['wsd-datagram-too-large'], 1);
    t.equal(counts['xml-malformed'], 1);
    t.equal(counts['xml-not-utf8'], 1);
    t.equal(counts['xml-too-deep'], 1);
  },
);

t.test('a probe flood is rate limited and counted', async (t) => {
  const building = new SimulatedBuilding({
    cameras: 1,
    discovery: { port: 0, maxProbesPerSecond: 5 },
    log: quiet,
  });
  t.teardown(() => building.stop());
  await building.start();
  const client = await inbox(t);
  for (let i = 0; i < 40; i++)
    await send(client.socket, building.discoveryPort ?? 0, probe(`urn:uuid:${i}`));
  await client.waitFor(40, 300);
  t.ok(client.messages.length <= 8, `at most a burst answered (${client.messages.length})`);
  t.ok(building.counter.get('wsd-rate-limited') >= 30, 'the rest counted as wsd-rate-limited');
});
