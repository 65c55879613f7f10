/**
 * `node --import tsx test/csu/relay-child.ts <csu.yaml>`: the relay as its own
 * process, for kill -9 and strace tests. Prints "ready <port>" once listening.
 */
import { loadCsuConfig } from '../../csu/src/config.js';
import { runCsu } from '../../csu/src/main-csu.js';

const config = await loadCsuConfig(process.argv[2] ?? '');
await runCsu(config, {
  out: { write: () => true },
  onReady: (relay) => process.stdout.write(`ready ${relay.port}\n`),
});
