/**
 * The one place that picks the register's backend: SQLite (one file, the
 * default) or PostgreSQL (larger deployments, loopback only). Both are the
 * same RegisterStore (register-port.ts); `open()` is the caller's.
 */
import { PostgresRegisterStore } from './postgres-register-store.js';
import type { RegisterCommonOptions } from './register-ingest.js';
import type { RegisterStore } from './register-port.js';
import { SqliteRegisterStore } from './register-store.js';

export type RegisterBackendOptions =
  | { readonly backend: 'sqlite'; readonly file: string }
  | { readonly backend: 'postgres'; readonly url: string; readonly schema?: string };

export type { RegisterCommonOptions };

export function createRegisterStore(
  backend: RegisterBackendOptions,
  common: RegisterCommonOptions,
): RegisterStore {
  switch (backend.backend) {
    case 'sqlite':
      return new SqliteRegisterStore({ ...common, file: backend.file });
    case 'postgres':
      return new PostgresRegisterStore({
        ...common,
        url: backend.url,
        ...(backend.schema === undefined ? {} : { schema: backend.schema }),
      });
  }
}
