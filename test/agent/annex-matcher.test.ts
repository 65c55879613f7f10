import t from 'tap';
import fc from 'fast-check';
import {
  matchAnnex,
  sameCamera,
  type DiscoveredCamera,
} from '../../agent/src/cameras/annex-matcher.js';
import type { Camera } from '../../protocol/src/policy-schema.js';

function annexed(id: string, serial: string, extra: Partial<Camera> = {}): Camera {
  return {
    id,
    onvif: { manufacturer: 'Axis', model: 'P3245', serial },
    label: `Hall ${id}`,
    location: 'rez-de-chaussée',
    owner: 'emh',
    transmissible: true,
    ...extra,
  };
}

function seen(
  serial: string,
  xaddr: string,
  encodings: readonly string[] = ['H264'],
): DiscoveredCamera {
  return {
    identity: { manufacturer: ' AXIS ', model: 'p3245', serial },
    xaddr,
    encodings,
  };
}

t.test('annexed cameras are recognised by ONVIF identity, whatever their address', async (t) => {
  const inv = matchAnnex(
    [annexed('cam-01', 'S1'), annexed('cam-02', 'S2')],
    [seen('S2', 'http://10.0.0.9/onvif/device_service'), seen('S1', 'http://10.0.0.7/x')],
  );
  t.same(
    inv.map((i) => [i.cameraId, i.status, i.xaddr]),
    [
      ['cam-01', 'annexed-present', 'http://10.0.0.7/x'],
      ['cam-02', 'annexed-present', 'http://10.0.0.9/onvif/device_service'],
    ],
  );
});

t.test(
  'an annexed camera that stops answering is reported missing, not transmissible',
  async (t) => {
    const [item] = matchAnnex([annexed('cam-07', 'S7')], []);
    t.match(item, { status: 'annexed-missing', transmissible: false, cameraId: 'cam-07' });
    t.match(item?.reason, /coverage is lost/);
  },
);

t.test('a device outside the annex is listed and never transmissible', async (t) => {
  const inv = matchAnnex([annexed('cam-01', 'S1')], [seen('S1', 'a'), seen('S9', 'b')]);
  t.match(inv[1], { status: 'not-annexed', cameraId: null, transmissible: false, xaddr: 'b' });
});

t.test(
  'an annexed camera that answers discovery but not ONVIF is unusable, not present',
  async (t) => {
    const urn = 'urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427';
    const camera = annexed('cam-03', 'S3');
    const annex = [{ ...camera, onvif: { ...camera.onvif, endpointUrn: urn } }];
    const [item] = matchAnnex(annex, [
      {
        identity: { manufacturer: '', model: '', serial: '', endpointUrn: urn },
        xaddr: 'http://10.0.0.3/onvif/device_service',
        encodings: [],
        problem: 'camera 10.0.0.3:80 did not answer within 5000 ms',
      },
    ]);
    t.match(item, {
      status: 'annexed-unusable',
      cameraId: 'cam-03',
      transmissible: false,
      reason: /answers discovery but not ONVIF: camera 10\.0\.0\.3:80 did not answer/,
    });
  },
);

t.test('a camera that offers only H.265 is marked so, with the reason', async (t) => {
  const [item] = matchAnnex([annexed('cam-03', 'S3')], [seen('S3', 'a', ['H265'])]);
  t.match(item, { status: 'h265-only', transmissible: false });
  t.match(item?.reason, /only H265.*H\.264/);
});

t.test('the annex decides transmissibility of a present camera', async (t) => {
  const [item] = matchAnnex([annexed('cam-04', 'S4', { transmissible: false })], [seen('S4', 'a')]);
  t.match(item, { status: 'annexed-present', transmissible: false });
});

t.test('two devices claiming one identity are both distrusted', async (t) => {
  const [item] = matchAnnex([annexed('cam-05', 'S5')], [seen('S5', 'a'), seen('S5', 'b')]);
  t.match(item, { status: 'identity-conflict', transmissible: false });
});

t.test('endpoint URNs must agree when both sides have one; hardware ids too', async (t) => {
  const urn = 'urn:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427';
  const a = { manufacturer: 'Axis', model: 'P3245', serial: 'S1', endpointUrn: urn };
  t.ok(sameCamera(a, { ...a }), 'same URN and identity: same camera');
  t.notOk(
    sameCamera(a, { ...a, serial: 'other' }),
    'same URN (unauthenticated) but another described serial: not the annexed camera',
  );
  t.ok(
    sameCamera(a, { manufacturer: '', model: '', serial: '', endpointUrn: urn }),
    'not described yet: the URN alone places it (it can only be unusable then)',
  );
  t.notOk(sameCamera(a, { ...a, endpointUrn: 'urn:uuid:other' }), 'other URN: other camera');
  const hw = { manufacturer: 'Axis', model: 'P3245', serial: 'S1', hardwareId: 'H1' };
  t.notOk(sameCamera(hw, { ...hw, hardwareId: 'H2' }));
  t.ok(sameCamera(hw, { ...hw }));
});

t.test(
  'properties: every device is accounted for once, and only annexed ones may transmit',
  async (t) => {
    const serial = fc.constantFrom<string>('S1', 'S2', 'S3', 'S4', 'S5');
    t.doesNotThrow(() =>
      fc.assert(
        fc.property(
          fc.uniqueArray(serial, { maxLength: 5 }),
          fc.array(fc.tuple(serial, fc.constantFrom(['H264'], ['H265'], ['H264', 'H265'])), {
            maxLength: 8,
          }),
          (annexSerials, devices) => {
            const annex = annexSerials.map((s, i) => annexed(`cam-0${i}`, s));
            const found = devices.map(([s, enc], i) => seen(s, `x${i}`, enc));
            const inv = matchAnnex(annex, found);
            const annexedItems = inv.filter((i) => i.cameraId !== null);
            const strangers = inv.filter((i) => i.cameraId === null);
            const strangerCount = found.filter(
              (d) => !annexSerials.includes(d.identity.serial),
            ).length;
            return (
              annexedItems.length === annex.length &&
              strangers.length === strangerCount &&
              strangers.every((i) => !i.transmissible) &&
              inv.every((i) => !i.transmissible || i.status === 'annexed-present')
            );
          },
        ),
      ),
    );
  },
);
