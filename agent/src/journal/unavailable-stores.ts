/**
 * Stand-ins for a journal database that cannot even be opened (disk full or
 * read-only storage before SQLite could create its shared-memory file). The
 * agent still starts, fail closed (rule 5): every write throws
 * `journal-unwritable`, so every open is refused with that reason, and the
 * retained state says the journal is not writable. Nothing of the previous
 * run can be read, and nothing of it is running either: sessions never
 * survive a restart (rule 4).
 */
import { VigieError } from '../../../lib/src/errors.js';
import type { JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { Journal, ReplayStore } from '../ports.js';

export interface AgentStores {
  journal: Journal & {
    entriesOfTypes(types: readonly string[], fromSeq?: number): Iterable<JournalEntry>;
    close(): void;
  };
  replay: ReplayStore & { close(): void };
  kv: {
    lastTrustedWallMs(): number | null;
    recordTrustedWallMs(wallMs: number): void;
    close(): void;
  };
}

export function unavailableStores(why: string): AgentStores {
  const refuse = (): never => {
    throw new VigieError('journal-unwritable', `the journal cannot be opened: ${why}`);
  };
  return {
    journal: { writable: false, append: refuse, entriesOfTypes: () => [], close: () => undefined },
    replay: { remember: refuse, purge: () => 0, close: () => undefined },
    kv: { lastTrustedWallMs: () => null, recordTrustedWallMs: refuse, close: () => undefined },
  };
}
