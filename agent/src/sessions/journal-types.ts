/**
 * The journal entry types the session logic writes, and the data each carries.
 * Restart recovery (rule 4) reads them back: an `open-accepted` starts a
 * session that may be live, a `closed` ends it.
 */
export const JOURNAL_TYPES = {
  /** Written before the act (rule 5): the box is about to open a tunnel. */
  openAccepted: 'session.open-accepted',
  /** Written only after the relay's acceptance (rule 3). */
  opened: 'session.opened',
  /** The relay refused or could not be reached; a `closed` follows. */
  openFailed: 'session.open-failed',
  extended: 'session.extended',
  /** The one terminal entry of every session, whatever closed it. */
  closed: 'session.closed',
  commandRefused: 'command.refused',
  alarm: 'alarm',
} as const;
