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
  /** A named viewer of the recipient joined or left (reported by the relay through the tunnel). */
  viewerJoined: 'session.viewer-joined',
  viewerLeft: 'session.viewer-left',
  /** A viewer reported the end of the intervention; a `closed` with intervention-ended follows. */
  interventionOver: 'session.intervention-over',
  /** The tunnel dropped and was dialled again, before the deadline, with the same session id. */
  tunnelRedialed: 'session.tunnel-redialed',
  /** Fragments dropped to the next keyframe because the relay was slower than the camera. */
  mediaDrops: 'session.media-drops',
  commandRefused: 'command.refused',
  alarm: 'alarm',
} as const;
