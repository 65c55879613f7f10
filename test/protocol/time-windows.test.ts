import t from 'tap';
import { inTimeWindow, type TimeWindow } from '../../protocol/src/time-windows.js';

const windows: TimeWindow[] = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' },
  { days: ['fri', 'sat'], from: '20:00', to: '04:00' },
  { sites: ['patrotte'], days: ['sun'], from: '14:00', to: '24:00' },
];
// 2025-03-07 is a Friday; Paris is UTC+1 in March before the 30th, UTC+2 in July.
const at = (iso: string): Date => new Date(iso);

void t.test('windows are read in Europe/Paris local time', (t) => {
  t.ok(inTimeWindow(windows, 'borny', at('2025-03-07T07:00:00Z')), 'Fri 08:00 Paris (winter)');
  t.notOk(inTimeWindow(windows, 'borny', at('2025-03-07T06:59:00Z')), 'Fri 07:59 Paris');
  t.notOk(inTimeWindow(windows, 'borny', at('2025-07-04T05:59:00Z')), 'Fri 07:59 Paris (summer)');
  t.ok(inTimeWindow(windows, 'borny', at('2025-07-04T06:00:00Z')), 'Fri 08:00 Paris (summer)');
  t.end();
});

void t.test('a window past midnight covers the next morning', (t) => {
  t.ok(inTimeWindow(windows, 'borny', at('2025-03-07T22:00:00Z')), 'Fri 23:00');
  t.ok(inTimeWindow(windows, 'borny', at('2025-03-08T02:59:00Z')), 'Sat 03:59');
  t.notOk(inTimeWindow(windows, 'borny', at('2025-03-08T03:00:00Z')), 'Sat 04:00');
  t.ok(inTimeWindow(windows, 'borny', at('2025-03-09T02:00:00Z')), 'Sun 03:00 (Saturday night)');
  t.notOk(
    inTimeWindow(windows, 'borny', at('2025-03-10T02:00:00Z')),
    'Mon 03:00 (no Sunday night)',
  );
  t.end();
});

void t.test('site-specific windows apply only to their sites; 24:00 ends the day', (t) => {
  t.ok(inTimeWindow(windows, 'patrotte', at('2025-03-09T22:30:00Z')), 'Sun 23:30 at patrotte');
  t.notOk(inTimeWindow(windows, 'borny', at('2025-03-09T22:30:00Z')), 'Sun 23:30 at borny');
  t.notOk(inTimeWindow([], 'borny', at('2025-03-07T10:00:00Z')), 'no window: only urgence');
  t.end();
});
