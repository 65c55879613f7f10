/**
 * Is the system clock synchronised? On the box image, systemd-timesyncd
 * creates /run/systemd/timesync/synchronized once it has synchronised (and
 * removes it when it stops). `assume` is for laboratories and the demo, where
 * the host's own clock is trusted; the agent journals which mode it runs in.
 */
import { existsSync } from 'node:fs';

export type ClockSyncMode = 'timesyncd' | 'assume';
export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';

export function syncCheck(mode: ClockSyncMode, flagFile = TIMESYNCD_FLAG): () => boolean {
  switch (mode) {
    case 'timesyncd':
      return () => existsSync(flagFile);
    case 'assume':
      return () => true;
  }
}
