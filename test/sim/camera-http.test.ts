/**
 * A simulated camera's HTTP/SOAP surface under direct requests: what needs
 * authentication and what does not, replay of a captured request, malformed and
 * oversized bodies, unknown operations. Every refusal is a SOAP fault or an
 * HTTP error, counted by reason, and the camera keeps serving.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Logger } from '../../lib/src/log.js';
import { SimulatedBuilding } from '../../sim/src/building.js';
import { makeUsernameToken } from '../../sim/src/ws-security.js';

const building = new SimulatedBuilding({
  cameras: 1,
  discovery: false,
  log: new Logger('sim', { sink: { write: () => undefined } }),
});
t.teardown(() => building.stop());
await building.start();
const cam = building.cameras[0];
if (!cam) throw new Error('no camera');

function envelope(body: string, security = ''): string {
  return (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">' +
    `<s:Header>${security}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

function security(password = cam?.credentials.password ?? ''): string {
  const tok = makeUsernameToken(
    { username: cam?.credentials.username ?? '', password },
    randomBytes(16),
    new Date().toISOString(),
  );
  return (
    '<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">' +
    `<UsernameToken><Username>${tok.username}</Username><Password Type="${tok.passwordType}">${tok.password}</Password>` +
    `<Nonce>${tok.nonceBase64}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${tok.created}</Created>` +
    '</UsernameToken></Security>'
  );
}

const DEVICE_INFO = '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>';

async function post(
  body: string,
  url = cam?.xaddr ?? '',
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/soap+xml' },
  });
  return { status: res.status, text: await res.text() };
}

t.test(
  'GetSystemDateAndTime answers without authentication; GetDeviceInformation does not',
  async (t) => {
    const time = await post(
      envelope('<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'),
    );
    t.equal(time.status, 200);
    t.match(time.text, /<tt:UTCDateTime>/);
    const info = await post(envelope(DEVICE_INFO));
    t.equal(info.status, 400);
    t.match(info.text, /<s:Value>ter:NotAuthorized<\/s:Value>/);
    t.equal(building.counter.get('auth-missing-token'), 1);
    const ok = await post(envelope(DEVICE_INFO, security()));
    t.equal(ok.status, 200);
    t.match(
      ok.text,
      new RegExp(`<tds:SerialNumber>${cam.identity.serialNumber}</tds:SerialNumber>`),
    );
  },
);

t.test('a captured authenticated request replayed as is is refused', async (t) => {
  const captured = envelope(DEVICE_INFO, security());
  t.equal((await post(captured)).status, 200);
  const replay = await post(captured);
  t.equal(replay.status, 400);
  t.match(replay.text, /ter:NotAuthorized/);
  t.equal(building.counter.get('auth-replayed-nonce'), 1);
});

t.test(
  'malformed, entity-laden, oversized and unknown requests get faults, and the camera still serves',
  async (t) => {
    const laughs = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>' + envelope('&b;');
    const doctype = await post(laughs);
    t.equal(doctype.status, 400);
    t.match(doctype.text, /ter:WellFormed/);
    t.equal(building.counter.get('xml-doctype'), 1);

    const junk = await post(
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>',
    );
    t.equal(junk.status, 400);
    t.match(junk.text, /ter:WellFormed/);

    const big = await post(envelope(`<x>${'a'.repeat(200_000)}</x>`));
    t.equal(big.status, 413);
    t.equal(building.counter.get('http-body-too-large'), 1);

    for (const op of ['Reboot', 'constructor', '__proto__']) {
      const res = await post(
        envelope(`<${op} xmlns="http://www.onvif.org/ver10/device/wsdl"/>`, security()),
      );
      t.equal(res.status, 400, op);
      t.match(res.text, /ter:ActionNotSupported/, op);
    }
    const media = await post(
      envelope('<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>', security()),
    );
    t.equal(media.status, 400, 'a media operation on the device service is not supported there');

    const get = await fetch(cam.xaddr);
    t.equal(get.status, 405);
    t.equal((await post(envelope(DEVICE_INFO, security()))).status, 200, 'still serving');
  },
);

t.test(
  'GetStreamUri names the configured RTSP port and camera id; unknown profiles are a fault',
  async (t) => {
    const streamUri = (token: string, protocol = 'RTSP'): string =>
      '<GetStreamUri xmlns="http://www.onvif.org/ver10/media/wsdl"><StreamSetup>' +
      '<Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream>' +
      `<Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>${protocol}</Protocol></Transport>` +
      `</StreamSetup><ProfileToken>${token}</ProfileToken></GetStreamUri>`;
    const ok = await post(envelope(streamUri('sub'), security()), cam.mediaXaddr);
    t.equal(ok.status, 200);
    t.match(ok.text, `<tt:Uri>rtsp://127.0.0.1:8554/${cam.identity.id}</tt:Uri>`);
    const none = await post(envelope(streamUri('nope'), security()), cam.mediaXaddr);
    t.equal(none.status, 400);
    t.match(none.text, /ter:NoProfile/);
    const http = await post(envelope(streamUri('main', 'HTTP'), security()), cam.mediaXaddr);
    t.match(http.text, /ter:InvalidStreamSetup/);
  },
);
