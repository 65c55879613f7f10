import t from 'tap';
import path from 'node:path';
import { parseAgentConfig } from '../../agent/src/config/agent-config.js';
import { JitteredBackoff } from '../../agent/src/link/backoff.js';

const VALID = `
siteId: borny-hauts
boxId: gw-01
dataDir: data
broker: { url: 'mqtts://127.0.0.1:8883', servername: broker }
tls: { caFile: pki/ca-bundle.pem, certFile: gw/chain.pem, keyFile: gw/key.pem, crlFile: pki/crl-bundle.pem }
admin: { kid: admin, publicKeyFile: keys/admin.pub }
`;

t.test('a valid configuration gets its defaults and absolute paths', async (t) => {
  const config = parseAgentConfig(VALID, '/etc/vigie/agent.yaml');
  t.equal(config.dataDir, '/etc/vigie/data');
  t.equal(config.tls.keyFile, '/etc/vigie/gw/key.pem');
  t.equal(config.admin.publicKeyFile, '/etc/vigie/keys/admin.pub');
  t.equal(config.broker.keepaliveSec, 30);
  t.equal(config.maxSessions, 4);
  t.equal(config.log.level, 'info');
  t.equal(path.isAbsolute(config.dataDir), true);
});

t.test('every problem is reported as path: message, and the agent refuses to start', async (t) => {
  const text = VALID.replace('gw-01', 'GW 01')
    .replace("'mqtts://127.0.0.1:8883'", "'mqtt://127.0.0.1:1883'")
    .replace('admin: { kid: admin, ', 'admin: { ')
    .concat('unknownKey: 1\n');
  t.throws(() => parseAgentConfig(text, 'agent.yaml'), {
    code: 'config-invalid',
    message: /agent\.yaml is invalid:\n {2}/,
  });
  try {
    parseAgentConfig(text, 'agent.yaml');
  } catch (err) {
    const msg = (err as Error).message;
    t.match(msg, /\n {2}boxId: /);
    t.match(msg, /\n {2}broker\.url: must be mqtts:\/\/host:port \(TLS only\)/);
    t.match(msg, /\n {2}admin\.kid: /);
    t.match(msg, /unknownKey/);
  }
});

t.test('cross-field rules quote the actual values', async (t) => {
  const text = VALID.replace(
    'servername: broker }',
    'servername: broker, reconnectMinMs: 5000, reconnectMaxMs: 2000 }',
  );
  t.throws(() => parseAgentConfig(text, 'agent.yaml'), {
    message: /broker\.reconnectMinMs: 5000 ms is more than broker\.reconnectMaxMs 2000 ms/,
  });
});

t.test('YAML that does not parse is a config error, not a crash', async (t) => {
  t.throws(() => parseAgentConfig('a: [', 'agent.yaml'), { code: 'config-invalid' });
  t.throws(() => parseAgentConfig('', 'agent.yaml'), { code: 'config-invalid' });
});

t.test('reconnection delays are jittered, grow, stay under the cap and reset', async (t) => {
  const seq = [0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.0];
  let i = 0;
  const backoff = new JitteredBackoff({ minMs: 1000, maxMs: 8000, random: () => seq[i++] ?? 0.5 });
  const delays = Array.from({ length: 7 }, () => backoff.next());
  t.ok(
    delays.every((d, k) => k === 0 || d >= (delays[k - 1] ?? 0)),
    'grows with the attempt',
  );
  t.ok(
    delays.every((d) => d >= 500 && d <= 8000),
    'between min/2 and the cap',
  );
  t.equal(delays.at(-1), Math.round(500 + 0.99 * 7500), 'capped at maxMs');
  backoff.reset();
  t.equal(backoff.next(), 500, 'reset starts over (random 0 gives min/2)');
  const spread = new Set(
    Array.from({ length: 50 }, () => new JitteredBackoff({ minMs: 1000, maxMs: 60000 }).next()),
  );
  t.ok(spread.size > 10, 'boxes restarting together do not pick the same delay');
});
