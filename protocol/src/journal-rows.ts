/**
 * How entries and heads sit in SQLite rows, and back: the box's journal and
 * the central register store them alike. Hashes and signatures
 * are raw bytes in the file, hex / base64url in the protocol's objects.
 */
import type { JournalEntry } from './journal-entry.js';
import type { SignedHead } from './journal-head.js';

export const ENTRY_COLUMNS = 'seq, source, time, boot_id, type, data, prev_hash, hash';

/** A raw `entries` row in ENTRY_COLUMNS order. */
export type EntryRow = [
  seq: number,
  source: string,
  time: string,
  bootId: string,
  type: string,
  data: string,
  prevHash: Buffer,
  hash: Buffer,
];

export const HEAD_COLUMNS = 'seq, source, hash, sig';

/** A raw `heads` / `current_head` row in HEAD_COLUMNS order. */
export type HeadRow = [seq: number, source: string, hash: Buffer, sig: Buffer];

/** The row values to insert for an entry whose `data` canonical JSON is `dataJson`. */
export function entryToRow(entry: JournalEntry, dataJson: string): EntryRow {
  return [
    entry.seq,
    entry.source,
    entry.time,
    entry.bootId,
    entry.type,
    dataJson,
    Buffer.from(entry.prevHash, 'hex'),
    Buffer.from(entry.hash, 'hex'),
  ];
}

export function rowToEntry(row: EntryRow): JournalEntry {
  const [seq, source, time, bootId, type, data, prevHash, hash] = row;
  return {
    seq,
    source,
    time,
    bootId,
    type,
    data: JSON.parse(data) as Record<string, unknown>,
    prevHash: prevHash.toString('hex'),
    hash: hash.toString('hex'),
  };
}

export function headToRow(head: SignedHead): HeadRow {
  return [head.seq, head.source, Buffer.from(head.hash, 'hex'), Buffer.from(head.sig, 'base64url')];
}

export function rowToHead(row: HeadRow): SignedHead {
  const [seq, source, hash, sig] = row;
  return { seq, source, hash: hash.toString('hex'), sig: sig.toString('base64url') };
}
