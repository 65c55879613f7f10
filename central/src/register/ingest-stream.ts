/**
 * One source's ingest stream (register.proto, RegisterIngest.Ingest):
 *
 *   source: Hello ─────────────▶            register: ◀── Resume(lastAcked)
 *   source: entry, entry, ..., head ─▶      register: store.ingest (one durable
 *                                           transaction) ◀── Ack, then ◀── Checkpoint
 *                                           with the consistency proof from the
 *                                           size the source knows and the
 *                                           inclusion proof of the acked entry
 *   any problem ─▶ ◀── Nack(seq, problem, detail), alarm, end of stream.
 *
 * Messages are handled one at a time, in order; the stream is paused while the
 * store works, so HTTP/2 flow control holds a fast source back and a batch in
 * memory never exceeds the limits. Sending is by credit: a source is told it
 * may send (Resume, Ack) only once it holds one of the register's batch slots
 * (batch-slots.ts), so a thousand sources catching up do not each park a
 * batch in the register's memory while the store writes another's.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/src/log.js';
import {
  checkpointToWire,
  entryFromWire,
  headFromWire,
  type InclusionProof,
  type IngestRequestIn,
  type IngestResponse,
} from '../../../protocol/src/register-proto.js';
import type { IngestRefusalCode, RegisterAlarmPort } from './register-alarms.js';
import { EntryNotInTreeError, type IngestResult, type RegisterStore } from './register-port.js';
import type { BatchSlots } from './batch-slots.js';
import type { Checkpointer } from './checkpointer.js';
import type { AuthenticatedSource } from './source-identity.js';

export type IngestCall = grpc.ServerDuplexStream<IngestRequestIn, IngestResponse>;

export interface IngestLimits {
  /** Entries accepted before a head closes the batch (default 1,000). */
  readonly maxBatchEntries: number;
  /** Bytes of entries accepted before a head (default 4 MiB). */
  readonly maxBatchBytes: number;
}

export interface IngestStreamDeps {
  readonly store: RegisterStore;
  readonly checkpoints: Checkpointer;
  /** Shared by every stream: bounds the batches held in memory at once. */
  readonly slots: BatchSlots;
  readonly alarms: RegisterAlarmPort;
  readonly limits: IngestLimits;
  readonly log: Logger;
  /** Called once when the stream is over (counted by the service). */
  readonly onClosed: () => void;
}

/**
 * A slot granted (Resume, Ack) and not used within this is given back: the
 * source is caught up. A source catching up sends its next batch at once.
 */
const SLOT_IDLE_MS = 2000;

/**
 * Messages the call may read ahead of the handler (Node's default for object
 * streams is 16). A stream waiting for a slot holds what it read ahead,
 * decoded: with 16 messages of 64 entries, a thousand boxes in line held half
 * a million entries (the catch-up bench); with 2, at most 128 entries each.
 */
const READ_AHEAD_MESSAGES = 2;

/** Rough wire size of an entry: its data plus its fixed fields. */
const ENTRY_OVERHEAD_BYTES = 256;

export class IngestStream {
  readonly #call: IngestCall;
  readonly #source: AuthenticatedSource;
  readonly #deps: IngestStreamDeps;
  #phase: 'hello' | 'open' | 'closed' = 'hello';
  #batch: unknown[] = [];
  #batchBytes = 0;
  #knownSize = 0;
  /** Gives back the batch slot this stream holds, if it holds one. */
  #slot: (() => void) | null = null;
  #slotIdle: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(call: IngestCall, source: AuthenticatedSource, deps: IngestStreamDeps) {
    this.#call = call;
    this.#source = source;
    this.#deps = deps;
  }

  get source(): string {
    return this.#source.identity.source;
  }

  start(): void {
    // grpc-js pulls a message from HTTP/2 each time the call's buffer is below
    // its high-water mark; Node has no public setter for an existing stream's.
    const state = (this.#call as unknown as { _readableState?: { highWaterMark: number } })
      ._readableState;
    if (state) state.highWaterMark = READ_AHEAD_MESSAGES;
    this.#call.on('data', (msg: IngestRequestIn) => {
      this.#queue = this.#queue
        .then(() => this.#handle(msg))
        .catch((err: unknown) => this.#failed(err));
    });
    this.#call.on('end', () => {
      this.#queue = this.#queue.then(() => this.#close());
    });
    this.#call.on('error', (err: Error) => {
      this.#deps.log.debug('ingest stream error', () => ({
        source: this.source,
        err: err.message,
      }));
      this.#close();
    });
    this.#call.on('cancelled', () => this.#close());
  }

  async #handle(msg: IngestRequestIn): Promise<void> {
    if (this.#phase === 'closed') return;
    if (this.#phase === 'hello') {
      await this.#paused(() => this.#hello(msg));
    } else if (msg.entry || msg.entries) {
      clearTimeout(this.#slotIdle);
      if (!this.#slot) {
        await this.#paused(() => this.#takeSlot());
        // The stream may have ended while it waited for its slot.
        if (this.#isClosed()) return this.#giveSlotBack();
      }
      for (const entry of msg.entry ? [msg.entry] : (msg.entries?.entries ?? [])) {
        if (!this.#entry(entry)) return;
      }
    } else if (msg.head) {
      await this.#paused(() => this.#head(msg.head ?? {}));
    } else {
      this.#refuse(null, 'protocol-violation', 'a second Hello, or a message with no body');
    }
  }

  async #hello(msg: IngestRequestIn): Promise<void> {
    const hello = msg.hello;
    if (!hello) {
      this.#refuse(null, 'protocol-violation', 'the first message must be a Hello');
      return;
    }
    if (hello.source !== this.source) {
      const detail = `the Hello names ${JSON.stringify(hello.source)}; the certificate is ${this.source}'s`;
      this.#refuse(null, 'hello-source-mismatch', detail);
      return;
    }
    const { store } = this.#deps;
    await store.rememberSource(this.#source.identity);
    const acked = await store.lastAcked(this.source);
    this.#knownSize = typeof hello.known_tree_size === 'number' ? hello.known_tree_size : 0;
    this.#phase = 'open';
    await this.#takeSlot(); // the source sends right after Resume: it must have room
    this.#write({
      resume: {
        acked_seq: acked?.seq ?? 0,
        acked_hash: acked ? Buffer.from(acked.hash, 'hex') : Buffer.alloc(0),
      },
    });
    this.#armSlotIdle();
    this.#deps.log.debug('source connected', () => ({
      source: this.source,
      ackedSeq: acked?.seq ?? 0,
      lastLocalSeq: hello.last_local_seq,
    }));
  }

  /** Adds one entry to the batch; false when the batch is too large (refused). */
  #entry(entry: NonNullable<IngestRequestIn['entry']>): boolean {
    const bytes = (Buffer.isBuffer(entry.data) ? entry.data.length : 0) + ENTRY_OVERHEAD_BYTES;
    const { maxBatchEntries, maxBatchBytes } = this.#deps.limits;
    if (this.#batch.length + 1 > maxBatchEntries || this.#batchBytes + bytes > maxBatchBytes) {
      const detail =
        `more than ${maxBatchEntries} entries or ${maxBatchBytes} bytes before a head ` +
        `(${this.#batch.length + 1} entries, ${this.#batchBytes + bytes} bytes): close batches sooner`;
      this.#refuse(typeof entry.seq === 'number' ? entry.seq : null, 'batch-too-large', detail);
      return false;
    }
    this.#batch.push(entryFromWire(entry));
    this.#batchBytes += bytes;
    return true;
  }

  async #head(head: NonNullable<IngestRequestIn['head']>): Promise<void> {
    const result = await this.#ingestBatch(head);
    if (!result) return;
    // Others wait for a slot too: go back in line before letting this source send more.
    this.#giveSlotBack();
    await this.#takeSlot();
    const ack = result.lastAcked;
    const headSeq = result.head === 'stored' || result.head === 'known' ? Number(head.seq) : 0;
    // Only after the store returned: its transaction is committed (durable).
    if (ack && (result.problems.length === 0 || result.accepted > 0)) {
      this.#write({ ack: { seq: ack.seq, hash: Buffer.from(ack.hash, 'hex'), head_seq: headSeq } });
    }
    const [first] = result.problems;
    if (first) {
      for (const p of result.problems) {
        this.#deps.alarms.raise({
          code: p.reason,
          severity: 'critical',
          source: this.source,
          seq: p.seq,
          detail: p.message,
        });
      }
      this.#nack(first.seq ?? 0, first.reason, first.message);
      return;
    }
    await this.#sendCheckpoint(ack?.seq ?? 0);
    this.#armSlotIdle();
  }

  /**
   * The batch goes to the store and out of this stream's hands: it is not
   * kept alive in #head's frame while the stream waits in line afterwards (a
   * thousand boxes in line held a thousand judged batches: the catch-up bench).
   */
  async #ingestBatch(head: NonNullable<IngestRequestIn['head']>): Promise<IngestResult | null> {
    const entries = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    try {
      return await this.#deps.store.ingest({
        source: this.source,
        entries,
        head: headFromWire(head),
        boxKey: this.#source.key,
      });
    } catch (err) {
      this.#deps.log.error('the register could not store a batch', err, { source: this.source });
      this.#refuse(
        null,
        'register-unavailable',
        'the register could not store the batch; retry later',
      );
      return null;
    }
  }

  /**
   * The checkpoint after an Ack, with its consistency proof from the size the
   * source knows and the inclusion proof of the acknowledged entry (`ackedSeq`,
   * 0: none): the latest checkpoint if it covers that entry, a fresh one if not.
   */
  async #sendCheckpoint(ackedSeq: number): Promise<void> {
    const { checkpoints, store } = this.#deps;
    let checkpoint = await checkpoints.latest();
    let inclusion: InclusionProof | undefined;
    // A fresh checkpoint covers the Ack; a second try only if a signing raced the commit.
    for (let attempt = 0; ackedSeq > 0 && !inclusion; attempt++) {
      try {
        const found = await store.inclusionProof(this.source, ackedSeq, checkpoint.treeSize);
        inclusion = { seq: ackedSeq, ...found };
      } catch (err) {
        if (!(err instanceof EntryNotInTreeError) || attempt >= 2) throw err;
        checkpoint = await checkpoints.fresh();
      }
    }
    if (this.#phase === 'closed') return;
    // Sent after every Ack, even unchanged: the source awaits exactly one.
    const from = this.#knownSize;
    const proof =
      from > 0 && from < checkpoint.treeSize
        ? await store.consistencyProof(from, checkpoint.treeSize)
        : [];
    this.#write({ checkpoint: checkpointToWire(checkpoint, from, proof, inclusion) });
    if (from <= checkpoint.treeSize) this.#knownSize = checkpoint.treeSize;
  }

  #refuse(seq: number | null, code: IngestRefusalCode, detail: string): void {
    const severity = code === 'register-unavailable' ? 'critical' : 'warning';
    this.#deps.alarms.raise({ code, severity, source: this.source, seq, detail });
    this.#nack(seq ?? 0, code, detail);
  }

  #nack(seq: number, problem: string, detail: string): void {
    this.#write({ nack: { seq, problem, detail } });
    this.#close();
  }

  #write(response: IngestResponse): void {
    if (this.#phase === 'closed') return;
    this.#call.write(response);
  }

  async #paused(work: () => Promise<void>): Promise<void> {
    this.#call.pause();
    try {
      await work();
    } finally {
      if (this.#phase !== 'closed') this.#call.resume();
    }
  }

  #failed(err: unknown): void {
    this.#deps.log.error('ingest stream failed', err, { source: this.source });
    this.#nack(0, 'register-unavailable', 'the register failed on this stream; retry later');
  }

  #isClosed(): boolean {
    return this.#phase === 'closed';
  }

  async #takeSlot(): Promise<void> {
    if (this.#slot) return;
    const giveBack = await this.#deps.slots.acquire();
    if (this.#isClosed())
      giveBack(); // ended while in line: never keep a slot
    else this.#slot = giveBack;
  }

  /** A source that sends nothing soon after Resume or Ack (caught up) gives its slot back. */
  #armSlotIdle(): void {
    clearTimeout(this.#slotIdle);
    this.#slotIdle = setTimeout(() => {
      if (this.#batch.length === 0) this.#giveSlotBack();
    }, SLOT_IDLE_MS);
  }

  #giveSlotBack(): void {
    clearTimeout(this.#slotIdle);
    const giveBack = this.#slot;
    this.#slot = null;
    giveBack?.();
  }

  #close(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#batch = [];
    this.#giveSlotBack();
    try {
      this.#call.end();
    } catch (err) {
      this.#deps.log.debug('ending an ingest stream', () => ({ err: String(err) }));
    }
    this.#deps.onClosed();
  }
}
