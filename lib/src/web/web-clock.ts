/**
 * Time for our web pages (the centre's viewer, the register's page): the wall
 * clock for what people see (a viewer's validity, the remaining time of a
 * live session, whose deadline the relay gives in wall milliseconds) and the
 * monotonic clock for their own timers (login sessions, rate limits), which a
 * clock step must not lengthen or shorten.
 */
export interface WebClock {
  wallMs(): number;
  monoMs(): number;
}

export const SYSTEM_WEB_CLOCK: WebClock = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
};
