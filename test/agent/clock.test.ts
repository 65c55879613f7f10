/**
 * The box's clocks: the monotonic clock for deadlines, and the trust placed
 * in the wall clock (issue 3: never synced, earlier than the build date or
 * than the last trusted time: refuse to open and raise an alarm).
 */
import t from 'tap';
import { ClockTrustChecker, type ClockAlarm } from '../../agent/src/clock/clock-trust-checker.js';
import { SystemClocks } from '../../agent/src/clock/system-clocks.js';

const BUILD = Date.parse('2026-11-01T00:00:00Z');
const NOW = Date.parse('2026-11-29T10:00:00Z');

function checker(opts: { synced?: () => boolean; last?: number | null; failSet?: boolean } = {}) {
  const alarms: ClockAlarm[] = [];
  const store = {
    value: opts.last ?? null,
    writes: 0,
    get() {
      return this.value;
    },
    set(ms: number) {
      if (opts.failSet) throw new Error('EROFS: read-only file system');
      this.value = ms;
      this.writes++;
    },
  };
  const trust = new ClockTrustChecker({
    isSynced: opts.synced ?? (() => true),
    buildTimeMs: BUILD,
    lastTrusted: store,
    onAlarm: (a) => alarms.push(a),
  });
  return { trust, alarms, store };
}

t.test('a synchronised clock after the build date is trusted', (t) => {
  const { trust, alarms } = checker();
  t.same(trust.check(NOW), { trusted: true });
  t.same(alarms, []);
  t.end();
});

t.test('a clock never synchronised is not trusted and raises one alarm', (t) => {
  const { trust, alarms } = checker({ synced: () => false });
  t.equal(trust.check(NOW).trusted, false);
  t.equal(trust.check(NOW + 1000).trusted, false);
  t.equal(alarms.length, 1, 'one alarm per change to untrusted, not one per check');
  t.equal(alarms[0]?.alarm, 'clock-untrusted');
  t.equal(alarms[0]?.severity, 'critical');
  t.end();
});

t.test('an unknown synchronisation state is not trusted', (t) => {
  const { trust } = checker({
    synced: () => {
      throw new Error('timedatectl: not found');
    },
  });
  const verdict = trust.check(NOW);
  t.equal(verdict.trusted, false);
  t.match(!verdict.trusted && verdict.why, /timedatectl/);
  t.end();
});

t.test('a clock earlier than the build date is not trusted (RTC without battery)', (t) => {
  const { trust, alarms } = checker();
  const verdict = trust.check(Date.parse('2000-01-01T00:00:00Z'));
  t.equal(verdict.trusted, false);
  t.match(!verdict.trusted && verdict.why, /build date/);
  t.equal(alarms.length, 1);
  t.end();
});

t.test('a clock earlier than the last trusted time is not trusted (set back)', (t) => {
  const { trust } = checker({ last: NOW });
  const verdict = trust.check(NOW - 3600_000);
  t.equal(verdict.trusted, false);
  t.match(!verdict.trusted && verdict.why, /last trusted time/);
  t.same(trust.check(NOW + 1000), { trusted: true });
  t.end();
});

t.test('the last trusted time is persisted, at most once a minute', (t) => {
  const { trust, store } = checker();
  trust.check(NOW);
  trust.check(NOW + 30_000);
  t.equal(store.writes, 1);
  trust.check(NOW + 61_000);
  t.equal(store.writes, 2);
  t.equal(store.value, NOW + 61_000);
  t.end();
});

t.test('a trusted time survives a restart through the store', (t) => {
  const first = checker();
  first.trust.check(NOW);
  const second = checker({ last: first.store.value });
  t.equal(second.trust.check(NOW - 120_000).trusted, false);
  t.end();
});

t.test('a store that cannot be written raises a warning, trust unchanged', (t) => {
  const { trust, alarms } = checker({ failSet: true });
  t.same(trust.check(NOW), { trusted: true });
  t.equal(alarms[0]?.severity, 'warning');
  t.end();
});

t.test('an alarm is raised again after the clock was trusted in between', (t) => {
  let synced = false;
  const { trust, alarms } = checker({ synced: () => synced });
  trust.check(NOW);
  synced = true;
  trust.check(NOW + 1000);
  synced = false;
  trust.check(NOW + 2000);
  t.equal(alarms.length, 2);
  t.end();
});

t.test('SystemClocks: the monotonic clock never goes back; the wall clock is Date.now', (t) => {
  const clocks = new SystemClocks();
  let last = clocks.monoNowMs();
  let monotone = true;
  for (let i = 0; i < 1000; i++) {
    const now = clocks.monoNowMs();
    monotone &&= now >= last;
    last = now;
  }
  t.ok(monotone);
  t.ok(Math.abs(clocks.wallNowMs() - Date.now()) < 1000);
  t.end();
});
