/**
 * The public surface of the agent's journal: the SQLite journal, the replay
 * store and key/values sharing its file, the verifier and its CLI.
 */
export { JOURNAL_FILE_NAME, journalFileIn } from './journal-database.js';
export {
  DEFAULT_MILESTONE_EVERY,
  SqliteJournal,
  type SqliteJournalOptions,
} from './sqlite-journal.js';
export { SqliteReplayStore, type SqliteReplayStoreOptions } from './sqlite-replay-store.js';
export { SqliteKeyValues, type RegisterCheckpoint } from './sqlite-key-values.js';
export { verifyJournalFile, verifyJournalDatabase } from './verify-journal.js';
export {
  formatVerifyReport,
  type JournalBreak,
  type JournalProblem,
  type JournalVerifyReport,
} from './verify-report.js';
export { keyFromCertificateFile, keyFromPublicKeyFile } from './verify-key.js';
export { registerJournalCommands } from './cli.js';
export { JOURNAL_APPLICATION_ID, JOURNAL_SCHEMA_VERSION } from './journal-schema.js';
