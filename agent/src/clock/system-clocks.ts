/**
 * The real clocks. Deadlines use performance.now(), which no NTP step, manual
 * `date -s` or RTC reset can move (rule 2); the wall clock is only compared
 * with signed times and shown to people.
 */
import { performance } from 'node:perf_hooks';
import type { Clocks } from '../ports.js';

export class SystemClocks implements Clocks {
  wallNowMs(): number {
    return Date.now();
  }

  monoNowMs(): number {
    return performance.now();
  }
}
