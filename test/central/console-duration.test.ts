import t from 'tap';
import { formatDuration, parseDurationSec } from '../../central/src/console/duration.js';

t.test('operator durations are read with their unit', async (t) => {
  t.equal(parseDurationSec('20m'), 1200);
  t.equal(parseDurationSec('90s'), 90);
  t.equal(parseDurationSec('1h30m'), 5400);
  t.equal(parseDurationSec(' 1H '), 3600);
});

t.test('a duration without unit is refused rather than guessed', async (t) => {
  for (const bad of ['20', '', 'm', '20 m', '1.5h', '-5m', '20min']) {
    t.throws(() => parseDurationSec(bad, '--ttl'), { code: 'config-invalid' }, bad);
  }
});

t.test('durations are printed for people', async (t) => {
  t.equal(formatDuration(1830), '30 min 30 s');
  t.equal(formatDuration(3600), '1 h');
  t.equal(formatDuration(0), '0 s');
});
