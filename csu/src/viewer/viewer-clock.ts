/**
 * Time for the viewer: the wall clock for what people see (viewer validity,
 * remaining time of a live session, whose deadline the relay gives in wall
 * milliseconds) and the monotonic clock for its own timers (login sessions,
 * rate limits), which a clock step must not lengthen or shorten.
 */
export interface ViewerClock {
  wallMs(): number;
  monoMs(): number;
}

export const SYSTEM_VIEWER_CLOCK: ViewerClock = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
};
