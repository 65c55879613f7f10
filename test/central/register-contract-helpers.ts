/**
 * What the register contract's parts share (not a test file): the box keys
 * the chains are signed with, and small readers.
 */
import type { KeyObject } from 'node:crypto';
import type { RegisterStore } from '../../central/src/register/register-port.js';
import type { JournalEntry } from '../../protocol/src/journal-entry.js';
import { p256Key } from '../agent/journal-fixtures.js';
import type { Chain } from './register-store-fixtures.js';

export const boxKey = p256Key();
export const otherKey = p256Key();

export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

export async function all(
  store: RegisterStore,
  query: Parameters<RegisterStore['entries']>[0],
): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const e of store.entries(query)) out.push(e);
  return out;
}

export const leavesOf = (entries: readonly JournalEntry[]): Buffer[] =>
  entries.map((e) => Buffer.from(e.hash, 'hex'));

export async function ingestAll(
  store: RegisterStore,
  source: string,
  chain: Chain,
  key: KeyObject,
  head = true,
): Promise<void> {
  const result = await store.ingest({
    source,
    entries: chain.entries,
    ...(head ? { head: at(chain.heads, chain.heads.length - 1) } : {}),
    boxKey: key,
  });
  if (result.problems.length > 0) throw new Error(JSON.stringify(result.problems));
}
