/**
 * Rule 4: a crash never resurrects a session. At start, before any command is
 * handled, every session that the journal shows accepted for opening and not
 * closed is closed in the journal with `agent-restart`. Nothing reconnects:
 * this module has no transmitter, and the ids are returned only so that the
 * SessionManager refuses to open them again (session-exists).
 *
 * `session.open-accepted` counts as open even without `session.opened`: the
 * relay may have accepted just before the crash.
 */
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { Journal } from '../ports.js';
import { JOURNAL_TYPES } from './journal-types.js';

export interface RecoveryResult {
  /** Sessions found open and now journaled as closed with agent-restart. */
  readonly closed: readonly string[];
  /** Every session id seen in the journal, for the session-exists check. */
  readonly knownSessionIds: readonly string[];
}

function sessionIdOf(entry: JournalEntry): string | null {
  const id = entry.data.sessionId;
  return typeof id === 'string' ? id : null;
}

/** Session ids accepted for opening and never closed, in journal order. */
export function findUnclosedSessions(entries: Iterable<JournalEntry>): {
  open: string[];
  known: string[];
} {
  const open = new Set<string>();
  const known = new Set<string>();
  for (const entry of entries) {
    const id = sessionIdOf(entry);
    if (id === null) continue;
    if (entry.type === JOURNAL_TYPES.openAccepted || entry.type === JOURNAL_TYPES.opened) {
      // Even after a close of the same id: whatever opened it must be closed again.
      open.add(id);
      known.add(id);
    } else if (entry.type === JOURNAL_TYPES.closed) {
      open.delete(id);
      known.add(id);
    }
  }
  return { open: [...open], known: [...known] };
}

/**
 * Journals `session.closed` with reason agent-restart for each unclosed session.
 * Throws if the journal cannot be written: the caller must then refuse to
 * handle commands (fail closed, rule 5) rather than start with an unclosed register.
 */
export function recoverAfterRestart(
  entries: Iterable<JournalEntry>,
  journal: Journal,
): RecoveryResult {
  const { open, known } = findUnclosedSessions(entries);
  for (const sessionId of open) {
    journal.append(JOURNAL_TYPES.closed, {
      sessionId,
      reason: 'agent-restart',
      durationSec: null, // unknown: the monotonic clock of the previous boot is gone
    });
  }
  return { closed: open, knownSessionIds: known };
}
