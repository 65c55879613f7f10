/**
 * Fixtures for the register-reading tests (not a test file): boxes that write
 * genuine journal chains (appendEntry, signHead) with sessions in them, and an
 * in-memory RegisterStore that keeps the port's contract for what the readers
 * use (entries filters and order, annotations, access log, purges, verifyAll
 * through the protocol's verifyChain). The SQLite and PostgreSQL stores pass
 * the same port's suite; this one lets the readers' tests run alone.
 */
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../protocol/src/canonical-json.js';
import { merkleRoot, signCheckpoint, type Checkpoint } from '../../protocol/src/checkpoint.js';
import { verifyChain } from '../../protocol/src/journal-chain.js';
import { appendEntry, type JournalEntry } from '../../protocol/src/journal-entry.js';
import { signHead, type SignedHead } from '../../protocol/src/journal-head.js';
import type {
  AccessInput,
  AccessRecord,
  Annotation,
  AnnotationInput,
  EntryQuery,
  EvidenceRecord,
  IngestBatch,
  IngestResult,
  PurgeRecord,
  RegisterCounts,
  RegisterProblem,
  RegisterStore,
  RegisterVerifyReport,
  SourceIdentity,
  SourceRecord,
} from '../../central/src/register/register-port.js';

export const BOOT = '3f1c2b7a-9d4e-4c1b-8a2f-6e5d4c3b2a10';

/** A box writing its journal: genuine hashes and P-256 signed heads. */
export class FakeBox {
  readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly entries: JournalEntry[] = [];

  constructor(
    readonly source: string,
    readonly site: string,
  ) {}

  append(type: string, data: Record<string, unknown>, time: string): JournalEntry {
    const prev = this.entries[this.entries.length - 1] ?? null;
    const entry = appendEntry(prev, { source: this.source, time, bootId: BOOT, type, data });
    this.entries.push(entry);
    return entry;
  }

  head(): SignedHead {
    const last = this.entries[this.entries.length - 1];
    if (!last) throw new Error('no entry to sign');
    return signHead({ source: this.source, seq: last.seq, hash: last.hash }, this.key.privateKey);
  }

  /** Feeds this box's journal to a real store, as the ingest service would on its first stream. */
  async feed(store: RegisterStore, certSha256: string): Promise<void> {
    await store.rememberSource({
      source: this.source,
      kind: 'box',
      site: this.site,
      spkiDer: this.key.publicKey.export({ type: 'spki', format: 'der' }),
      certSha256,
    });
    await store.ingest({
      source: this.source,
      entries: this.entries,
      head: this.head(),
      boxKey: this.key.publicKey,
    });
  }

  /** One whole transmission, as the session manager journals it. */
  session(spec: SessionSpec): string {
    const id = spec.sessionId ?? randomUUID();
    const at = (offsetSec: number): string =>
      new Date(Date.parse(spec.start) + offsetSec * 1000).toISOString();
    const commandId = randomUUID();
    this.append(
      'session.open-accepted',
      {
        sessionId: id,
        commandId,
        kid: spec.operator ?? 'op-martin',
        policyVersion: 3,
        recipient: spec.recipient ?? 'csu-metz',
        cameras: spec.cameras ?? ['cam-01'],
        purpose: spec.purpose ?? 'occupation-parties-communes',
        trigger: spec.trigger ?? { kind: 'occupation' },
        urgenceOutsideWindow: false,
        callRef: spec.callRef ?? 'CSU-2026-0042',
        requestedTtlSec: 1200,
        ttlSec: 1200,
        ttlLimitedBy: 'requested',
      },
      at(0),
    );
    if (spec.failed) {
      this.append(
        'session.open-failed',
        { sessionId: id, reason: 'relay-rejected', detail: 'relay said no' },
        at(1),
      );
      this.append(
        'session.closed',
        { sessionId: id, reason: 'relay-closed', commandId: null, durationSec: 0 },
        at(1),
      );
      this.append(
        'command.refused',
        {
          commandId,
          commandType: 'session.open',
          kid: 'op-martin',
          reason: 'relay-rejected',
          detail: 'x',
        },
        at(1),
      );
      return id;
    }
    this.append('session.opened', { sessionId: id, commandId, ttlSec: 1200 }, at(1));
    for (const v of spec.viewers ?? []) {
      this.append(
        'session.viewer-joined',
        { sessionId: id, viewerId: v.id, viewerName: v.name, time: at(v.from) },
        at(v.from),
      );
      if (v.to !== undefined)
        this.append(
          'session.viewer-left',
          { sessionId: id, viewerId: v.id, time: at(v.to) },
          at(v.to),
        );
    }
    if (spec.closeAfterSec !== null) {
      const end = spec.closeAfterSec ?? 600;
      this.append(
        'session.closed',
        {
          sessionId: id,
          reason: spec.closeReason ?? 'close-command',
          commandId: null,
          durationSec: end,
        },
        at(end),
      );
    }
    return id;
  }
}

export interface SessionSpec {
  readonly start: string;
  readonly sessionId?: string;
  readonly cameras?: string[];
  readonly recipient?: string;
  readonly operator?: string;
  readonly purpose?: string;
  readonly callRef?: string;
  readonly trigger?: { kind: string; officer?: string };
  readonly viewers?: { id: string; name: string; from: number; to?: number }[];
  /** null: still open. */
  readonly closeAfterSec?: number | null;
  readonly closeReason?: string;
  readonly failed?: boolean;
}

function typeMatches(type: string, wanted: readonly string[]): boolean {
  return wanted.some((w) => (w.endsWith('.') ? type.startsWith(w) : type === w));
}

/** The port's contract in memory, for the readers' tests. */
export class MemoryRegisterStore implements RegisterStore {
  readonly backend = 'sqlite' as const;
  readonly registerKey = generateKeyPairSync('ed25519');
  readonly #entries: JournalEntry[] = [];
  readonly #heads: SignedHead[] = [];
  readonly #sources = new Map<string, { site: string; key: KeyObject }>();
  readonly #annotations: Annotation[] = [];
  #access: AccessRecord[] = [];
  readonly #purges: PurgeRecord[] = [];
  readonly #checkpoints: Checkpoint[] = [];
  #nextId = 1;
  /** Every entries() call, for tests of what the readers ask. */
  readonly queries: EntryQuery[] = [];
  opened = false;
  closed = false;

  constructor(readonly clock: { wallNowMs(): number } = { wallNowMs: () => Date.now() }) {}

  /** Stores a box's whole chain and its last head (tests build genuine chains). */
  load(box: FakeBox): void {
    this.#sources.set(box.source, { site: box.site, key: box.key.publicKey });
    const known = new Set(this.#entries.map((e) => `${e.source}/${e.seq}`));
    for (const e of box.entries) if (!known.has(`${e.source}/${e.seq}`)) this.#entries.push(e);
    if (box.entries.length > 0) this.#heads.push(box.head());
  }

  /** Replaces a stored entry: someone holding the database. */
  tamper(source: string, seq: number, edit: (e: JournalEntry) => JournalEntry): void {
    const i = this.#entries.findIndex((e) => e.source === source && e.seq === seq);
    const found = this.#entries[i];
    if (found) this.#entries[i] = edit(found);
  }

  open(): Promise<void> {
    this.opened = true;
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  rememberSource(_identity: SourceIdentity): Promise<void> {
    return Promise.resolve();
  }
  ingest(_batch: IngestBatch): Promise<IngestResult> {
    return Promise.reject(new Error('the readers never ingest'));
  }
  lastAcked(source: string): Promise<{ seq: number; hash: string } | null> {
    const mine = this.#entries.filter((e) => e.source === source);
    const last = mine[mine.length - 1];
    return Promise.resolve(last ? { seq: last.seq, hash: last.hash } : null);
  }
  checkpoint(): Promise<Checkpoint> {
    const leaves = this.#entries.map((e) => Buffer.from(e.hash, 'hex'));
    const c = signCheckpoint(
      {
        treeSize: leaves.length,
        rootHash: merkleRoot(leaves).toString('hex'),
        time: new Date(this.clock.wallNowMs()).toISOString(),
        kid: 'register-1',
      },
      this.registerKey.privateKey,
    );
    this.#checkpoints.push(c);
    return Promise.resolve(c);
  }
  consistencyProof(): Promise<Buffer[]> {
    return Promise.resolve([]);
  }
  inclusionProof(): Promise<{ leafIndex: number; proof: Buffer[] }> {
    return Promise.reject(new Error('the read fixture proves nothing'));
  }
  verifyAll(): Promise<RegisterVerifyReport> {
    const problems: RegisterProblem[] = [];
    const sources = [...this.#sources.keys()].sort().map((source) => {
      const entries = this.#entries
        .filter((e) => e.source === source)
        .sort((a, b) => a.seq - b.seq);
      const heads = this.#heads.filter((h) => h.source === source);
      const key = this.#sources.get(source)?.key;
      const result = key ? verifyChain(entries, heads, key) : null;
      if (result && !result.ok)
        problems.push({ source, seq: result.seq, reason: result.problem, message: result.message });
      const lastSeq = entries[entries.length - 1]?.seq ?? null;
      const vouchedThroughSeq = result?.ok ? result.vouchedThroughSeq : null;
      return { source, entries: entries.length, lastSeq, vouchedThroughSeq };
    });
    return Promise.resolve({
      ok: problems.length === 0,
      entries: this.#entries.length,
      headsChecked: this.#heads.length,
      sources,
      checkpoints: this.#checkpoints.length,
      problems,
    });
  }

  async *entries(query: EntryQuery): AsyncIterable<JournalEntry> {
    this.queries.push(query);
    const rows = this.#entries
      .filter(
        (e) =>
          (!query.sources || query.sources.includes(e.source)) &&
          (!query.types || typeMatches(e.type, query.types)) &&
          (query.fromTime === undefined || e.time >= query.fromTime) &&
          (query.toTime === undefined || e.time < query.toTime) &&
          (query.fromSeq === undefined || e.seq >= query.fromSeq),
      )
      .sort((a, b) =>
        a.time !== b.time
          ? a.time < b.time
            ? -1
            : 1
          : a.source !== b.source
            ? a.source < b.source
              ? -1
              : 1
            : a.seq - b.seq,
      );
    let n = 0;
    for (const row of rows) {
      if (query.limit !== undefined && n++ >= query.limit) return;
      yield await Promise.resolve(row);
    }
  }

  sources(): Promise<SourceRecord[]> {
    return Promise.resolve(
      [...this.#sources.entries()].map(([source, { site, key }]) => {
        const mine = this.#entries.filter((e) => e.source === source);
        const last = mine[mine.length - 1];
        const head = this.#heads.filter((h) => h.source === source).at(-1);
        return {
          source,
          kind: 'box' as const,
          site,
          spkiDers: [key.export({ type: 'spki', format: 'der' })],
          firstSeenMs: 0,
          entries: mine.length,
          lastSeq: last?.seq ?? null,
          lastTime: last?.time ?? null,
          vouchedThroughSeq: head?.seq ?? null,
          evidence: 0,
        };
      }),
    );
  }
  evidence(): Promise<EvidenceRecord[]> {
    return Promise.resolve([]);
  }
  counts(): Promise<RegisterCounts> {
    return Promise.resolve({
      entries: this.#entries.length,
      heads: this.#heads.length,
      evidence: 0,
      checkpoints: this.#checkpoints.length,
      sources: this.#sources.size,
    });
  }
  annotate(input: AnnotationInput): Promise<Annotation> {
    const a = { ...input, id: this.#nextId++, timeMs: this.clock.wallNowMs() };
    this.#annotations.push(a);
    return Promise.resolve(a);
  }
  annotations(sessionIds?: readonly string[]): Promise<Annotation[]> {
    return Promise.resolve(
      this.#annotations.filter((a) => !sessionIds || sessionIds.includes(a.sessionId)),
    );
  }
  recordAccess(input: AccessInput): Promise<AccessRecord> {
    const r = {
      ...input,
      cameras: [...input.cameras],
      id: this.#nextId++,
      timeMs: this.clock.wallNowMs(),
    };
    this.#access.push(r);
    return Promise.resolve(r);
  }
  accessLog(range: { fromMs?: number; toMs?: number }): Promise<AccessRecord[]> {
    return Promise.resolve(
      this.#access.filter(
        (r) =>
          (range.fromMs === undefined || r.timeMs >= range.fromMs) &&
          (range.toMs === undefined || r.timeMs < range.toMs),
      ),
    );
  }
  purgeAccessLog(beforeMs: number, who: string): Promise<PurgeRecord> {
    const removed = this.#access.filter((r) => r.timeMs < beforeMs);
    this.#access = this.#access.filter((r) => r.timeMs >= beforeMs);
    const digest = createHash('sha256');
    for (const r of removed) digest.update(canonicalJson(r));
    const record: PurgeRecord = {
      id: this.#nextId++,
      timeMs: this.clock.wallNowMs(),
      who,
      beforeMs,
      removed: removed.length,
      firstId: removed[0]?.id ?? null,
      lastId: removed.at(-1)?.id ?? null,
      removedSha256: digest.digest('hex'),
    };
    this.#purges.push(record);
    return Promise.resolve(record);
  }
  purges(): Promise<PurgeRecord[]> {
    return Promise.resolve([...this.#purges]);
  }
}

/** Timers a test fires by hand: the web page's daily purge and periodic verification. */
export class ManualTimers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { fn, ms });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Runs every timer due within `ms` (those pending now; what they schedule waits). */
  fire(ms = Infinity): number {
    const due = [...this.pending].filter(([, t]) => t.ms <= ms);
    for (const [id, t] of due) {
      this.pending.delete(id);
      t.fn();
    }
    return due.length;
  }
}
