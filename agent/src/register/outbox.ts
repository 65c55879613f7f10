/**
 * The box's outbox to the central register (issue 6; docs/register.md,
 * "The box's outbox"). The journal itself is the outbox: nothing is copied;
 * the register's Resume says where to start, entries are read page by page,
 * each batch is closed by a head signed with the box key (outbox-checks.ts),
 * and the next batch goes after the register's Ack (durable there) and its
 * signed checkpoint, which must extend the one kept.
 *
 * - Never on a session's path: appends only wake the loop (onAppended), and
 *   every read, signature and send runs later, here.
 * - Unreachable register: jittered exponential backoff (link/backoff.ts); a
 *   long outage loses nothing (the journal keeps everything), and the backlog
 *   past a high-water mark, or a nearly full data partition, is an alarm.
 * - A checkpoint that does not verify, does not extend the kept one or does
 *   not hold the entry just acknowledged, or a Resume that contradicts the
 *   journal: alarm, journal entry, and nothing
 *   more is sent to that register (kept across restarts) until an operator
 *   clears it (`vigie agent register-resume`).
 */
import { EventEmitter } from 'node:events';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { TlsMaterial } from '../../../certs/src/tls-profile.js';
import type { Logger } from '../../../lib/src/log.js';
import type { AlarmCode } from '../../../protocol/src/alarms.js';
import { CheckpointSchema, type Checkpoint } from '../../../protocol/src/checkpoint.js';
import type { ChainAnchor } from '../../../protocol/src/journal-chain.js';
import { GENESIS_HASH, type JournalEntry } from '../../../protocol/src/journal-entry.js';
import type { SignedHead } from '../../../protocol/src/journal-head.js';
import {
  checkpointFromWire,
  entryToWire,
  headToWire,
  type IngestResponseIn,
} from '../../../protocol/src/register-proto.js';
import type { RegisterLinkConfig } from '../config/agent-config.js';
import type {
  KeptTreeHead,
  RegisterCheckpoint,
  RegisterStop,
} from '../journal/sqlite-key-values.js';
import { JitteredBackoff } from '../link/backoff.js';
import { closeBatch, judgeCheckpoint, judgeInclusion } from './outbox-checks.js';
import type { IngestConnection, RegisterClientOptions } from './register-client.js';

export interface OutboxJournal {
  entries(fromSeq: number, limit?: number): Iterable<JournalEntry>;
  lastEntry(): JournalEntry | null;
  lastHead(): SignedHead | null;
  onAppended(listener: (entry: JournalEntry) => void): () => void;
}

export interface OutboxKeyValues {
  registerCheckpoint(): RegisterCheckpoint | null;
  setRegisterCheckpoint(acked: RegisterCheckpoint): void;
  registerTreeHead(): KeptTreeHead | null;
  setRegisterTreeHead(kept: KeptTreeHead): void;
  registerStop(): RegisterStop | null;
  setRegisterStop(stop: RegisterStop | null): void;
}

export interface OutboxOptions {
  readonly config: RegisterLinkConfig;
  readonly source: string;
  readonly bootId: string;
  readonly journal: OutboxJournal;
  readonly kv: OutboxKeyValues;
  readonly tls: TlsMaterial;
  /** The box's private key (its certificate's): it signs batch heads. */
  readonly signingKey: KeyObject;
  /** The register's public key (config.register.publicKeyFile). */
  readonly registerKey: KeyObject;
  readonly dataDir: string;
  readonly wallNowMs: () => number;
  readonly log: Logger;
  /** Raises an alarm (the app journals and publishes it). Called outside any append. */
  readonly onAlarm: (code: AlarmCode, severity: 'warning' | 'critical', detail: string) => void;
  /** Journals a fact (the app's journalQuietly). */
  readonly onJournal: (type: string, data: Record<string, unknown>) => void;
  readonly random?: () => number;
  /** Tests: another way to reach the register (default register-client.ts). */
  readonly connect?: (options: RegisterClientOptions) => Promise<IngestConnection>;
}

/** Thrown inside a connection: stop sending to this register until an operator acts. */
class Halt extends Error {
  constructor(
    readonly alarm:
      'register-history-rewritten' | 'register-checkpoint-invalid' | 'register-entry-missing',
    message: string,
  ) {
    super(message);
  }
}

class Refused extends Error {}

const DISK_CHECK_EVERY_MS = 60_000;
/** Entries per gRPC message (JournalEntries), and between two turns of the event loop. */
const ENTRIES_PER_MESSAGE = 64;

export class RegisterOutbox {
  /**
   * 'connected' (resume seq), 'sent' (seq of the head closing a batch), 'checkpoint'
   * (Checkpoint kept), 'ack' (seq, once its checkpoint is kept too), 'nack' (text),
   * 'halt' (RegisterStop).
   */
  readonly events = new EventEmitter();
  readonly #o: OutboxOptions;
  readonly #backoff: JitteredBackoff;
  readonly #publicKey: KeyObject;
  #run: Promise<void> | null = null;
  #stopped = false;
  #conn: IngestConnection | null = null;
  #wake: (() => void) | null = null;
  readonly #onStop = new Set<() => void>();
  #pendingWake = false;
  #unsubscribe: (() => void) | null = null;
  #ackedSeq = 0;
  #kept: Checkpoint | null = null;
  #backlogAlarmed = false;
  #diskCheckedMs = Number.NEGATIVE_INFINITY;
  #lastNack = '';
  #lastLocalAlarm = '';

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.#publicKey = createPublicKey(options.signingKey);
    this.#backoff = new JitteredBackoff({
      minMs: options.config.reconnectMinMs,
      maxMs: options.config.reconnectMaxMs,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  /** Highest seq the register acknowledged (as far as this box knows). */
  get ackedSeq(): number {
    return this.#ackedSeq;
  }

  get connected(): boolean {
    return this.#conn !== null;
  }

  /** Why sending stopped, if it did. */
  get halted(): RegisterStop | null {
    const stop = this.#o.kv.registerStop();
    return stop && stop.kid === this.#o.config.kid ? stop : null;
  }

  start(): void {
    if (this.#run || this.#stopped) return;
    this.#ackedSeq = this.#o.kv.registerCheckpoint()?.seq ?? 0;
    this.#kept = this.#keptCheckpoint();
    this.#unsubscribe = this.#o.journal.onAppended((entry) => this.#appended(entry));
    this.#run = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#conn?.close();
    for (const done of [...this.#onStop]) done();
    await this.#run;
  }

  /** From inside journal.append: take note, and act later. */
  #appended(entry: JournalEntry): void {
    this.#wakeUp();
    const backlog = entry.seq - this.#ackedSeq;
    if (backlog > this.#o.config.backlogHighWater && !this.#backlogAlarmed) {
      this.#backlogAlarmed = true;
      setImmediate(() => this.#backlogAlarm(backlog));
    }
  }

  #wakeUp(): void {
    this.#pendingWake = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #loop(): Promise<void> {
    const { log } = this.#o;
    if (this.halted) {
      log.error(
        'journal forwarding to the register stays stopped until an operator acts',
        undefined,
        {
          ...this.halted,
        },
      );
      return;
    }
    while (!this.#stopped) {
      let acked = false;
      try {
        acked = await this.#connection();
      } catch (err) {
        if (err instanceof Halt) {
          this.#halt(err);
          return;
        }
        if (!this.#stopped) {
          log.warn('register unreachable or refusing', {
            err: err instanceof Error ? err.message : String(err),
          });
        }
      }
      if (this.#stopped) return;
      if (acked) this.#backoff.reset();
      await this.#checkDisk();
      await this.#sleep(this.#backoff.next());
    }
  }

  /** One connection: Hello, Resume, batches until stopped or broken. True when an Ack came. */
  async #connection(): Promise<boolean> {
    const options = {
      address: this.#o.config.address,
      serverName: this.#o.config.serverName,
      tls: this.#o.tls,
    };
    const conn = this.#o.connect
      ? await this.#o.connect(options)
      : (await import('./register-client.js')).openIngest(options);
    this.#conn = conn;
    let acked = false;
    try {
      if (this.#stopped) return false;
      let anchor = await this.#resume(conn);
      this.events.emit('connected', anchor.seq);
      for (;;) {
        if (this.#stopped) return acked;
        this.#pendingWake = false;
        const batch = [...this.#o.journal.entries(anchor.seq + 1, this.#o.config.batchEntries)];
        if (batch.length === 0) {
          await Promise.race([this.#sleep(Number.POSITIVE_INFINITY), conn.ended]);
          if (!this.#pendingWake) return acked; // the stream ended while idle
          continue;
        }
        anchor = await this.#sendBatch(conn, batch, anchor);
        acked = true;
      }
    } finally {
      this.#conn = null;
      conn.close();
    }
  }

  async #resume(conn: IngestConnection): Promise<ChainAnchor> {
    const last = this.#o.journal.lastEntry();
    await conn.send({
      hello: {
        source: this.#o.source,
        boot_id: this.#o.bootId,
        last_local_seq: last?.seq ?? 0,
        known_tree_size: this.#kept?.treeSize ?? 0,
      },
    });
    const first = await this.#next(conn);
    if (!first.resume) throw new Error('the register did not answer Hello with Resume');
    const seq = Number(first.resume.acked_seq ?? 0);
    const hash = seq === 0 ? GENESIS_HASH : hexOf(first.resume.acked_hash);
    this.#checkResume(seq, hash, last);
    return { seq, hash };
  }

  /** The register's view of this box must be a prefix of the journal, and never go back. */
  #checkResume(seq: number, hash: string, last: JournalEntry | null): void {
    if (seq < this.#ackedSeq) {
      throw new Halt(
        'register-history-rewritten',
        `the register resumes this box at seq ${seq}, after acknowledging seq ${this.#ackedSeq}`,
      );
    }
    if (seq === 0) return;
    if (!last || seq > last.seq) {
      throw new Halt(
        'register-history-rewritten',
        `the register holds seq ${seq} of this box, whose journal ends at ${last?.seq ?? 0}`,
      );
    }
    const [local] = this.#o.journal.entries(seq, 1);
    if (local?.hash !== hash) {
      throw new Halt(
        'register-history-rewritten',
        `the register's entry at seq ${seq} (${hash.slice(0, 12)}…) is not this box's (${local?.hash.slice(0, 12) ?? 'none'}…)`,
      );
    }
  }

  async #sendBatch(
    conn: IngestConnection,
    batch: JournalEntry[],
    anchor: ChainAnchor,
  ): Promise<ChainAnchor> {
    const closed = closeBatch(batch, anchor, this.#o.journal.lastHead(), {
      signingKey: this.#o.signingKey,
      publicKey: this.#publicKey,
    });
    if (closed.localProblem) this.#localProblem(closed.localProblem);
    for (let i = 0; i < closed.entries.length; i += ENTRIES_PER_MESSAGE) {
      const chunk = closed.entries.slice(i, i + ENTRIES_PER_MESSAGE);
      await conn.send({ entries: { entries: chunk.map(entryToWire) } });
      // Yield to the event loop between messages: a backlog never holds the agent's I/O.
      await new Promise(setImmediate);
    }
    await conn.send({ head: headToWire(closed.head) });
    this.events.emit('sent', closed.head.seq);
    const reply = await this.#next(conn);
    if (!reply.ack) throw new Error('the register answered a batch with neither Ack nor Nack');
    const acked = { seq: Number(reply.ack.seq ?? 0), hash: hexOf(reply.ack.hash) };
    this.#acked(acked);
    const checkpoint = await this.#next(conn);
    if (!checkpoint.checkpoint) throw new Error('the register sent no checkpoint after its Ack');
    this.#acceptCheckpoint(checkpoint.checkpoint, acked.seq);
    this.events.emit('ack', acked.seq);
    return acked;
  }

  /** The register's next message; a Nack becomes a Refused error (alarm once per problem). */
  async #next(conn: IngestConnection): Promise<IngestResponseIn> {
    const message = await conn.next(this.#o.config.responseTimeoutMs);
    if (message.nack) {
      const { seq, problem, detail } = message.nack;
      const text = `seq ${String(seq ?? 0)}: ${problem ?? 'refused'}: ${detail ?? ''}`;
      this.events.emit('nack', text);
      if (text !== this.#lastNack) {
        this.#lastNack = text;
        this.#o.onJournal('register.refused', {
          seq: seq ?? 0,
          problem: problem ?? '',
          detail: detail ?? '',
        });
        this.#o.onAlarm('register-refused', 'warning', text);
      }
      throw new Refused(`the register refused: ${text}`);
    }
    return message;
  }

  #acked(acked: RegisterCheckpoint): void {
    if (acked.seq < this.#ackedSeq) {
      throw new Halt(
        'register-history-rewritten',
        `the register acknowledged seq ${acked.seq} after ${this.#ackedSeq}`,
      );
    }
    this.#ackedSeq = acked.seq;
    this.#o.kv.setRegisterCheckpoint(acked);
    const last = this.#o.journal.lastEntry()?.seq ?? 0;
    if (this.#backlogAlarmed && last - acked.seq <= this.#o.config.backlogHighWater / 2) {
      this.#backlogAlarmed = false;
    }
  }

  /** Kept only if it extends the kept one and holds the entry at `ackedSeq` as the journal has it. */
  #acceptCheckpoint(wire: NonNullable<IngestResponseIn['checkpoint']>, ackedSeq: number): void {
    const { checkpoint, proofFromSize, proof, inclusion } = checkpointFromWire(wire);
    const verdict = judgeCheckpoint(checkpoint, proofFromSize, proof, this.#kept, {
      key: this.#o.registerKey,
      kid: this.#o.config.kid,
    });
    if (!verdict.ok) throw new Halt(verdict.alarm, verdict.message);
    const [local] = this.#o.journal.entries(ackedSeq, 1);
    const held = { seq: ackedSeq, hash: local?.seq === ackedSeq ? local.hash : '' };
    const included = judgeInclusion(verdict.checkpoint, inclusion, held);
    if (!included.ok) throw new Halt(included.alarm, included.message);
    this.#kept = verdict.checkpoint;
    this.#o.kv.setRegisterTreeHead({ kid: this.#o.config.kid, checkpoint: verdict.checkpoint });
    this.events.emit('checkpoint', verdict.checkpoint);
  }

  #keptCheckpoint(): Checkpoint | null {
    const kept = this.#o.kv.registerTreeHead();
    if (!kept || kept.kid !== this.#o.config.kid) return null;
    const parsed = CheckpointSchema.safeParse(kept.checkpoint);
    return parsed.success ? parsed.data : null;
  }

  #halt(err: Halt): void {
    const stop = {
      kid: this.#o.config.kid,
      code: err.alarm,
      detail: err.message,
      wallMs: this.#o.wallNowMs(),
    };
    try {
      this.#o.kv.setRegisterStop(stop);
    } catch (e) {
      this.#o.log.error('could not keep the register stop', e);
    }
    this.#o.log.error('journal forwarding stopped until an operator acts', undefined, { ...stop });
    this.#o.onJournal('register.forwarding-stopped', { code: err.alarm, detail: err.message });
    this.#o.onAlarm(err.alarm, 'critical', err.message);
    this.events.emit('halt', stop);
  }

  #localProblem(problem: { seq: number | null; alarm: AlarmCode; message: string }): void {
    const key = `${problem.alarm}:${String(problem.seq)}`;
    if (key === this.#lastLocalAlarm) return;
    this.#lastLocalAlarm = key;
    this.#o.log.error('the journal does not verify where the outbox reads it', undefined, {
      ...problem,
    });
    this.#o.onAlarm(problem.alarm, 'critical', `seq ${String(problem.seq)}: ${problem.message}`);
  }

  #backlogAlarm(backlog: number): void {
    const detail = `${backlog} journal entries not acknowledged by the register (high-water ${this.#o.config.backlogHighWater})`;
    this.#o.onAlarm('register-backlog-high', 'warning', detail);
  }

  /** With a backlog, a nearly full data partition is an alarm too (at most once a minute). */
  async #checkDisk(): Promise<void> {
    const now = performance.now();
    if (now - this.#diskCheckedMs < DISK_CHECK_EVERY_MS) return;
    this.#diskCheckedMs = now;
    const last = this.#o.journal.lastEntry()?.seq ?? 0;
    if (last <= this.#ackedSeq) return;
    try {
      const stats = await fs.statfs(this.#o.dataDir);
      const freePercent = (100 * stats.bavail) / Math.max(1, stats.blocks);
      if (freePercent < this.#o.config.minFreeDiskPercent) {
        const detail = `${(last - this.#ackedSeq).toString()} entries waiting for the register and ${freePercent.toFixed(1)}% free on ${this.#o.dataDir} (minimum ${this.#o.config.minFreeDiskPercent}%)`;
        this.#o.onAlarm('register-backlog-high', 'warning', detail);
      }
    } catch (err) {
      this.#o.log.warn('data partition not measured', { err: String(err) });
    }
  }

  /** Resolves after `ms` (a backoff) or, with ms infinite, at new entries; always at stop(). */
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const idle = !Number.isFinite(ms);
    if (idle && this.#pendingWake) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#onStop.delete(done);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = idle ? undefined : setTimeout(done, ms);
      this.#onStop.add(done);
      // A backoff is not cut short by new entries, only by stop(); an idle wait is.
      if (idle) this.#wake = done;
    });
  }
}

function hexOf(bytes: unknown): string {
  return Buffer.isBuffer(bytes) ? bytes.toString('hex') : '';
}
