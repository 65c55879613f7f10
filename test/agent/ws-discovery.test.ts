/**
 * The agent's WS-Discovery client on loopback, UNICAST only (multicast runs in
 * discovery-netns.test.ts, inside a namespace the test creates): it finds the
 * simulated building's cameras, follows Hello and Bye, forgets cameras that
 * stop answering, and counts and ignores spoofed, unsolicited, malformed,
 * oversized and flooding datagrams.
 */
import dgram from 'node:dgram';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { Logger } from '../../lib/src/log.js';
import { inCidrs, parseCidr } from '../../agent/src/cameras/ipv4-cidr.js';
import { childNamed, readXml, resolveQName } from '../../lib/src/xml-reader.js';
import { SimulatedBuilding } from '../../sim/src/building.js';
import {
  WsDiscoveryClient,
  type WsDiscoveryOptions,
} from '../../agent/src/cameras/ws-discovery.js';
import {
  MAX_DISCOVERY_DATAGRAM_BYTES,
  readDiscoveryMessage,
  WSD_NS,
} from '../../agent/src/cameras/ws-discovery-message.js';

const quiet = new Logger('test', { sink: { write: () => undefined } });

async function client(
  t: Test,
  extra: Partial<WsDiscoveryOptions> = {},
): Promise<WsDiscoveryClient> {
  const c = new WsDiscoveryClient({
    localAddress: '127.0.0.1',
    allowedCidrs: ['127.0.0.0/8'],
    probeIntervalMs: 0,
    log: quiet,
    ...extra,
  });
  t.teardown(() => c.stop());
  await c.start();
  return c;
}

async function building(t: Test, o: { cameras: number; seed: string; announceTo?: number }) {
  const b = new SimulatedBuilding({
    cameras: o.cameras,
    seed: o.seed,
    discovery: {
      port: 0,
      ...(o.announceTo ? { announceTo: { address: '127.0.0.1', port: o.announceTo } } : {}),
    },
    log: quiet,
  });
  t.teardown(() => b.stop('test over'));
  await b.start();
  return b;
}

/** Polls `ok` every 10 ms, at most `timeoutMs`. */
async function until(ok: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return ok();
}

/** A UDP socket on loopback that plays a (possibly hostile) device. */
async function fakeDevice(
  t: Test,
): Promise<{ socket: dgram.Socket; port: number; probes: string[] }> {
  const socket = dgram.createSocket('udp4');
  const probes: string[] = [];
  socket.on('message', (m) => {
    const env = readXml(m);
    const header = childNamed(env, WSD_NS.soap, 'Header');
    const id = header && childNamed(header, WSD_NS.wsa, 'MessageID');
    if (id) probes.push(id.text);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { socket, port: socket.address().port, probes };
}

function send(socket: dgram.Socket, port: number, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(data, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
}

function probeMatch(relatesTo: string, urn: string, xaddr: string): string {
  return (
    `<s:Envelope xmlns:s="${WSD_NS.soap}" xmlns:a="${WSD_NS.wsa}" xmlns:d="${WSD_NS.wsd}">` +
    `<s:Header><a:MessageID>urn:uuid:00000000-0000-4000-8000-000000000001</a:MessageID>` +
    `<a:RelatesTo>${relatesTo}</a:RelatesTo><a:Action>${WSD_NS.wsd}/ProbeMatches</a:Action></s:Header>` +
    `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${urn}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:XAddrs>${xaddr}</d:XAddrs>` +
    `<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}

t.test('probeOnce finds the 8 cameras of the building with their URNs and XAddrs', async (t) => {
  const b = await building(t, { cameras: 8, seed: 'wsd-client' });
  const c = await client(t, {
    unicastTargets: [{ host: '127.0.0.1', port: b.discoveryPort ?? 0 }],
  });
  const found = await c.probeOnce(500);
  const expected = b.cameras
    .map((cam) => ({ endpointUrn: cam.identity.endpointReference, xaddrs: [cam.xaddr] }))
    .sort((x, y) => x.endpointUrn.localeCompare(y.endpointUrn));
  t.same(
    found.map((e) => ({ endpointUrn: e.endpointUrn, xaddrs: e.xaddrs })),
    expected,
  );
  t.ok(found.every((e) => e.endpointUrn.startsWith('urn:uuid:')));
  t.equal(c.boundAddress, '127.0.0.1', 'bound to the configured address, not the wildcard');
  t.same(c.rejected(), {}, 'nothing refused from a well-behaved building');
});

t.test('a camera that says Hello is added and removed again by its Bye', async (t) => {
  const c = await client(t);
  const b = await building(t, { cameras: 1, seed: 'wsd-hello-bye', announceTo: c.port ?? 0 });
  const urn = b.cameras[0]?.identity.endpointReference;
  t.ok(await until(() => c.list().some((e) => e.endpointUrn === urn)), 'Hello added it');
  await b.stop('camera unplugged');
  t.ok(await until(() => c.list().length === 0), 'Bye removed it');
});

t.test('a camera that stops answering expires after ttlMs (injected clock)', async (t) => {
  let nowMs = 1_000_000;
  const b = await building(t, { cameras: 8, seed: 'wsd-expiry' });
  const c = await client(t, {
    unicastTargets: [{ host: '127.0.0.1', port: b.discoveryPort ?? 0 }],
    ttlMs: 30_000,
    monotonicMs: () => nowMs,
  });
  t.equal((await c.probeOnce(400)).length, 8);
  await b.stop('power cut'); // announces to nobody: no Bye reaches the client
  nowMs += 29_000;
  t.equal(c.list().length, 8, 'still within ttl');
  t.equal((await c.probeOnce(200)).length, 8, 'an unanswered probe does not refresh them');
  nowMs += 2_000;
  t.same(c.list(), [], 'forgotten once lastSeen + ttl has passed');
});

t.test('each Probe asks for NetworkVideoTransmitter with a fresh urn:uuid MessageID', async (t) => {
  const device = await fakeDevice(t);
  const seen: Buffer[] = [];
  device.socket.on('message', (m) => seen.push(m));
  const c = await client(t, { unicastTargets: [{ host: '127.0.0.1', port: device.port }] });
  await c.probe();
  await c.probe();
  t.ok(await until(() => device.probes.length === 2));
  const [first, second] = device.probes;
  t.match(first, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.not(first, second, 'a new MessageID per probe');
  const env = readXml(seen[0] ?? Buffer.alloc(0));
  const probe = childNamed(env, WSD_NS.soap, 'Body')?.children[0];
  t.equal(probe?.name, 'Probe');
  t.equal(probe?.ns, WSD_NS.wsd);
  const types = probe && childNamed(probe, WSD_NS.wsd, 'Types');
  t.same(types && resolveQName(types, types.text.trim()), {
    ns: WSD_NS.dn,
    name: 'NetworkVideoTransmitter',
  });
});

t.test('periodic probing finds the cameras without being asked', async (t) => {
  const b = await building(t, { cameras: 8, seed: 'wsd-periodic' });
  const c = await client(t, {
    unicastTargets: [{ host: '127.0.0.1', port: b.discoveryPort ?? 0 }],
    probeIntervalMs: 50,
  });
  t.ok(await until(() => c.list().length === 8), 'found by the interval alone');
});

t.test('a spoofed ProbeMatch pointing outside the camera LAN is ignored and counted', async (t) => {
  const device = await fakeDevice(t);
  const c = await client(t, { unicastTargets: [{ host: '127.0.0.1', port: device.port }] });
  await c.probe();
  t.ok(await until(() => device.probes.length === 1), 'the fake device got the probe');
  const relatesTo = device.probes[0] ?? '';
  const port = c.port ?? 0;
  await send(
    device.socket,
    port,
    probeMatch(relatesTo, 'urn:uuid:a', 'http://10.66.0.5/onvif/device_service'),
  );
  await send(device.socket, port, probeMatch(relatesTo, 'urn:uuid:b', 'http://evil.example/onvif'));
  await send(
    device.socket,
    port,
    probeMatch(relatesTo, 'urn:uuid:c', 'http://127.0.0.9/onvif http://192.0.2.1/onvif'),
  );
  await send(
    device.socket,
    port,
    probeMatch('urn:uuid:never-asked', 'urn:uuid:d', 'http://127.0.0.2/x'),
  );
  await send(device.socket, port, probeMatch(relatesTo, 'urn:uuid:e', 'http://127.0.0.3/onvif'));
  t.ok(await until(() => c.list().length === 1), 'the honest answer is kept');
  t.same(
    c.list().map((e) => e.endpointUrn),
    ['urn:uuid:e'],
  );
  t.same(c.rejected(), { 'wsd-unsolicited-match': 1, 'wsd-xaddr-outside-lan': 3 });
});

t.test('ProbeMatches from a source outside the camera LAN are refused', async (t) => {
  const device = await fakeDevice(t);
  const c = await client(t, {
    allowedCidrs: ['192.168.50.0/24'],
    unicastTargets: [{ host: '127.0.0.1', port: device.port }],
  });
  await c.probe();
  t.ok(await until(() => device.probes.length === 1));
  await send(
    device.socket,
    c.port ?? 0,
    probeMatch(device.probes[0] ?? '', 'urn:uuid:f', 'http://192.168.50.7/onvif'),
  );
  t.ok(await until(() => c.rejected()['wsd-source-outside-lan'] === 1));
  t.same(c.list(), []);
});

t.test('malformed, oversized and billion-laughs datagrams are counted and ignored', async (t) => {
  const device = await fakeDevice(t);
  const c = await client(t, { unicastTargets: [{ host: '127.0.0.1', port: device.port }] });
  const port = c.port ?? 0;
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`,
    ).join('') +
    `]><s:Envelope xmlns:s="${WSD_NS.soap}"><s:Body>&lol9;</s:Body></s:Envelope>`;
  const deep = `<s:Envelope xmlns:s="${WSD_NS.soap}">${'<a>'.repeat(100)}${'</a>'.repeat(100)}</s:Envelope>`;
  await send(device.socket, port, 'this is not XML');
  await send(device.socket, port, Buffer.alloc(MAX_DISCOVERY_DATAGRAM_BYTES + 1, 0x20));
  await send(device.socket, port, laughs);
  await send(device.socket, port, deep);
  await send(device.socket, port, Buffer.from([0xc3, 0x28, 0x3c]));
  await send(device.socket, port, `<s:Envelope xmlns:s="${WSD_NS.soap}"><s:Body/></s:Envelope>`);
  t.ok(await until(() => Object.values(c.rejected()).reduce((a, b) => a + b, 0) === 6));
  t.same(c.rejected(), {
    'wsd-datagram-too-large': 1,
    'wsd-unexpected-message': 1,
    'xml-doctype': 1,
    'xml-malformed': 1,
    'xml-not-utf8': 1,
    'xml-too-deep': 1,
  });
  await c.probe();
  t.ok(await until(() => device.probes.length === 1));
  await send(
    device.socket,
    port,
    probeMatch(device.probes[0] ?? '', 'urn:uuid:ok', 'http://127.0.0.4/onvif'),
  );
  t.ok(await until(() => c.list().length === 1), 'still answering after the garbage');
});

t.test('a flood of distinct endpoints is bounded by maxEndpoints', async (t) => {
  const device = await fakeDevice(t);
  const c = await client(t, {
    unicastTargets: [{ host: '127.0.0.1', port: device.port }],
    maxEndpoints: 4,
  });
  await c.probe();
  t.ok(await until(() => device.probes.length === 1));
  for (let i = 0; i < 10; i++)
    await send(
      device.socket,
      c.port ?? 0,
      probeMatch(device.probes[0] ?? '', `urn:uuid:flood-${i}`, 'http://127.0.0.5/onvif'),
    );
  t.ok(await until(() => c.rejected()['wsd-table-full'] === 6));
  t.equal(c.list().length, 4);
});

t.test('datagrams beyond maxDatagramsPerSecond are dropped and counted', async (t) => {
  const device = await fakeDevice(t);
  const nowMs = 0;
  const c = await client(t, { maxDatagramsPerSecond: 5, monotonicMs: () => nowMs });
  for (let i = 0; i < 8; i++) await send(device.socket, c.port ?? 0, 'x');
  t.ok(await until(() => c.rejected()['wsd-rate-limited'] === 3));
  t.equal(c.rejected()['xml-malformed'], 5);
});

t.test('start and stop are idempotent; stop before start is harmless', async (t) => {
  const idle = new WsDiscoveryClient({
    localAddress: '127.0.0.1',
    allowedCidrs: ['127.0.0.0/8'],
    log: quiet,
  });
  await idle.stop();
  await idle.stop();
  await t.rejects(idle.start(), /start after stop/);
  const c = new WsDiscoveryClient({
    localAddress: '127.0.0.1',
    allowedCidrs: ['127.0.0.0/8'],
    log: quiet,
  });
  await Promise.all([c.start(), c.start()]);
  t.type(c.port, 'number');
  await Promise.all([c.stop(), c.stop()]);
  t.equal(c.port, undefined);
});

t.test('a bad configuration is refused with every problem named', async (t) => {
  const c = new WsDiscoveryClient({
    localAddress: 'eth0',
    allowedCidrs: ['10.0.0.0/33'],
    unicastTargets: [{ host: '10.0.0.2', port: 0 }],
    log: quiet,
  });
  await t.rejects(c.start(), {
    code: 'config-invalid',
    message:
      'localAddress: eth0 is not an IPv4 address; allowedCidrs: 10.0.0.0/33 is not an IPv4 CIDR like 192.168.50.0/24; unicastTargets: port 0 of 10.0.0.2 is not in 1..65535',
  });
});

t.test('the discovery message reader never throws, whatever the bytes', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
      const r = readDiscoveryMessage(bytes);
      return typeof r === 'string' || typeof r === 'object';
    }),
    { numRuns: 3000 },
  );
  // Mutations of a real ProbeMatch reach deeper than random bytes do.
  const valid = probeMatch('urn:uuid:p', 'urn:uuid:q', 'http://127.0.0.1/onvif');
  fc.assert(
    fc.property(
      fc.nat(valid.length),
      fc.nat(valid.length),
      fc.string({ maxLength: 40 }),
      (a, b, s) => {
        const [from, to] = a < b ? [a, b] : [b, a];
        const r = readDiscoveryMessage(Buffer.from(valid.slice(0, from) + s + valid.slice(to)));
        return r !== 'wsd-internal-error';
      },
    ),
    { numRuns: 3000 },
  );
  t.same(readDiscoveryMessage(Buffer.from(valid)), {
    kind: 'probe-matches',
    relatesTo: 'urn:uuid:p',
    matches: [{ endpointUrn: 'urn:uuid:q', xaddrs: ['http://127.0.0.1/onvif'], scopes: [] }],
  });
});

t.test(
  'a Hello pointing outside the camera LAN, or a Bye from outside it, is refused',
  async (t) => {
    const device = await fakeDevice(t);
    const c = await client(t, { allowedCidrs: ['127.0.0.0/8'] });
    const hello = (xaddr: string) =>
      `<s:Envelope xmlns:s="${WSD_NS.soap}" xmlns:a="${WSD_NS.wsa}" xmlns:d="${WSD_NS.wsd}"><s:Body><d:Hello>` +
      `<a:EndpointReference><a:Address>urn:uuid:h</a:Address></a:EndpointReference>` +
      `<d:XAddrs>${xaddr}</d:XAddrs></d:Hello></s:Body></s:Envelope>`;
    await send(device.socket, c.port ?? 0, hello('http://203.0.113.9/onvif'));
    await send(device.socket, c.port ?? 0, hello('http://127.0.0.6/onvif'));
    t.ok(await until(() => c.list().length === 1));
    t.same(c.rejected(), { 'wsd-xaddr-outside-lan': 1 });

    const strict = await client(t, { allowedCidrs: ['192.168.50.0/24'] });
    await send(
      device.socket,
      strict.port ?? 0,
      `<s:Envelope xmlns:s="${WSD_NS.soap}" xmlns:a="${WSD_NS.wsa}" xmlns:d="${WSD_NS.wsd}"><s:Body><d:Bye>` +
        `<a:EndpointReference><a:Address>urn:uuid:h</a:Address></a:EndpointReference></d:Bye></s:Body></s:Envelope>`,
    );
    t.ok(await until(() => strict.rejected()['wsd-source-outside-lan'] === 1));
  },
);

t.test('camera-LAN ranges are parsed strictly and matched by prefix', async (t) => {
  t.same(parseCidr('192.168.50.0/24'), {
    text: '192.168.50.0/24',
    network: 0xc0a83200,
    mask: 0xffffff00,
  });
  for (const bad of [
    '192.168.50.0',
    '192.168.50.0/33',
    '256.0.0.0/8',
    '010.0.0.0/8',
    '10.0.0/8',
    'a/8',
  ])
    t.equal(parseCidr(bad), undefined, bad);
  const lan = [parseCidr('192.168.50.0/24'), parseCidr('10.1.0.0/16')].flatMap((c) =>
    c ? [c] : [],
  );
  t.ok(inCidrs('192.168.50.7', lan));
  t.ok(inCidrs('10.1.255.1', lan));
  t.notOk(inCidrs('192.168.51.7', lan));
  t.notOk(inCidrs('evil.example', lan));
  t.ok(inCidrs('8.8.8.8', [parseCidr('0.0.0.0/0') ?? { text: '', network: 1, mask: 1 }]));
});
