/**
 * The audit log: every enforcement action and automated decision, with its statement of reasons
 * (who or what decided, on which ground, for how long, how to appeal), kept tamper-evident.
 *
 * - `append` never blocks and never throws (DESIGN.md: "audit of automated decisions: bounded async
 *   queue, never blocks chat, drops counted"). Entries wait in a bounded in-memory queue; a writer
 *   drains it in order. When the queue is full the NEW entry is dropped and counted — the entries
 *   already queued were accepted first and stay in order. `seq` is given at write time, so a drop
 *   never leaves a gap in a chain; it shows in the counters (`dropped`, `drops`) only.
 * - Hash chain per node: each node's records form their own chain (`seq` 1, 2, 3 ..., `prev` = the
 *   previous record's `hash`, genesis = 64 zeros, `hash = sha256(prev + canonicalJSON(record
 *   without hash))`), so any number of nodes append concurrently without coordinating. `verifyChain`
 *   finds edits, deletions in the middle, reorders and insertions. It cannot see a chain's tail cut
 *   off (or rewritten by someone who recomputes the hashes — sha256 has no key) unless it is given
 *   a checkpoint exported earlier (`checkpoint()`, `modgate audit verify --save-checkpoint`).
 * - Two implementations: `MemoryAuditLog` (embedded mode, a ring of the last N records) and
 *   `RedisAuditLog` (the stream `modgate:audit`, one JSON field `r` per entry, MAXLEN ~ 1,000,000,
 *   plus the hash `modgate:audit:heads` holding each node's last `seq:hash`, written in the same Lua
 *   script as the entries so it is never out of step with the stream).
 *
 * See docs/audit.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { fastFailRedisOptions } from './bus.ts';
import type { Logger } from './logger.ts';

// ---------------------------------------------------------------------------------------------
// Types

export const AUDIT_KINDS = ['decision', 'sanction', 'pardon', 'violation', 'admin', 'refused'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEntryInput {
  /** What happened. */
  kind: AuditKind;
  /** e.g. 'ban', 'mute', 'warn', 'pardon', 'stream_kill', 'forbidden'. */
  action: string;
  /** Policy category. */
  category?: string;
  actor: { type: 'user' | 'automation'; id: string; roles?: string[]; detector?: string; score?: number };
  subject?: { userId?: string; room?: string; messageId?: string; streamId?: string };
  caseId?: string;
  sanctionId?: string;
  /** The rule applied. */
  policy?: string;
  policyVersion?: string;
  // Statement of reasons (EU DSA art. 17 style):
  /** Kind of restriction. */
  restriction?: string;
  /** Absent = permanent / not applicable. */
  durationSec?: number;
  /** Facts and circumstances — never raw user content. */
  facts?: string;
  automatedDetection: boolean;
  automatedDecision: boolean;
  /** The policy ground. */
  ground?: string;
  /** How to appeal. */
  redress?: string;
  evidence?: { messageId?: string; hash?: string; scores?: Record<string, number>; [k: string]: unknown };
}

export interface AuditRecord extends AuditEntryInput {
  id: string;
  /** When it was appended (ISO). */
  ts: string;
  node: string;
  seq: number;
  prev: string;
  hash: string;
}

export interface AuditQuery {
  /** Entries about this user (`subject.userId`) or made by them (`actor.id`). */
  userId?: string;
  /** Entries about this room (`subject.room`). */
  room?: string;
  /** ISO time or epoch milliseconds. */
  since?: string | number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface TransparencyReport {
  since: string;
  until: string;
  /** Enforcement entries (kind `decision` or `sanction`) counted. */
  total: number;
  /** category → action → count; entries without a category count under `unspecified`. */
  byCategory: Record<string, Record<string, number>>;
  /**
   * true when the counts do not cover the whole window: the Redis scan hit its cap (`until` is then
   * the time of the last record counted) or the memory ring had already let older records go.
   */
  truncated: boolean;
}

/** Each node's last record: export it somewhere else to detect a truncated tail later. */
export type Checkpoint = Record<string, { seq: number; hash: string }>;

export interface AuditDrops {
  /** The queue was full. */
  full: number;
  /** Not an audit entry (wrong shape, not serialisable, larger than MAX_ENTRY_CHARS). */
  invalid: number;
  /** Appended after close, or still unwritten when close gave up waiting for Redis. */
  closed: number;
}

export interface AuditLog {
  readonly node: string;
  /** Never blocks and never throws: queued (bounded), written in order, drops counted. */
  append(e: AuditEntryInput): void;
  /**
   * Resolves when everything appended so far is written (tests, shutdown). With `timeoutMs` it
   * rejects if that takes longer (the entries stay queued).
   */
  flush(timeoutMs?: number): Promise<void>;
  /** Newest first (in the order the log received them); limit default 100, max 1000. */
  query(q: AuditQuery): Promise<AuditRecord[]>;
  /** Enforcement counts by category and action since `since` (default: the last 30 days). */
  transparency(since?: string | number): Promise<TransparencyReport>;
  /** Each node's last {seq, hash} as the log holds it now. */
  checkpoint(): Promise<Checkpoint>;
  /** Every record held, oldest first, in pages (for export and verification). */
  scan(): AsyncIterable<AuditRecord[]>;
  /** Entries that will never be written (sum of `drops`). */
  readonly dropped: number;
  readonly drops: Readonly<AuditDrops>;
  /** Entries queued and not written yet. */
  readonly pending: number;
  /** Waits (boundedly) for the queue to drain, then lets go of its resources. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Tuned numbers

export const AUDIT_STREAM = 'modgate:audit';
export const headsKeyOf = (stream: string) => `${stream}:heads`;
export const GENESIS = '0'.repeat(64);
/**
 * Retention by count: ~1M entries at ~0.5–1 KB each is ~0.5–1 GB of Redis memory. Older entries
 * are trimmed (approximately: `~` lets Redis trim whole macro nodes, which is much cheaper).
 */
export const STREAM_MAXLEN = 1_000_000;
/**
 * Entries waiting for Redis. 10,000 × ~1 KB ≈ 10 MB at worst; at a sustained 100 automated
 * decisions/s that rides out ~100 s of Redis outage. Past that we drop (counted) rather than let
 * memory grow without bound on a node that must keep serving chat.
 */
export const MAX_QUEUE = 10_000;
/** The memory log keeps the last 10,000 records (embedded mode: one node, no persistence). */
export const MEMORY_CAPACITY = 10_000;
/** A statement of reasons is metadata; an entry bigger than this carries content it should not. */
export const MAX_ENTRY_CHARS = 16_384;
/** Records per Lua call: ~256 KB at most, well under a millisecond of Redis time. */
const WRITE_BATCH = 256;
/** Entries per XRANGE page. */
const PAGE = 1000;
export const QUERY_DEFAULT_LIMIT = 100;
export const QUERY_MAX_LIMIT = 1000;
/** A filtered admin query looks at this many of the newest entries at most. */
export const QUERY_SCAN_CAP = 100_000;
/** `/transparency` counts at most this many entries per call (≈ 0.3 s of parsing). */
export const TRANSPARENCY_SCAN_CAP = 200_000;
export const TRANSPARENCY_DEFAULT_WINDOW_MS = 30 * 86_400_000;
/**
 * Stream ids are Redis's clock at write time, `ts` is the node's clock at append time. A range read
 * starts this much earlier than `since` (then filters on `ts`) so skew between the clocks or a
 * record written late after an outage is not missed... as long as the skew is under 5 minutes.
 */
const CLOCK_SKEW_MS = 5 * 60_000;
/** How long close() waits for the queue to drain before counting the rest as dropped. */
const CLOSE_FLUSH_MS = 2000;
/** The writer re-checks the connection at least this often while Redis is down. */
const READY_POLL_MS = 1000;

const ENFORCEMENT_KINDS: ReadonlySet<string> = new Set(['sanction', 'decision']);
const RESERVED = new Set(['id', 'ts', 'node', 'seq', 'prev', 'hash']);

// ---------------------------------------------------------------------------------------------
// Canonical JSON and the chain

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) at every level; otherwise
 * what JSON.stringify produces (toJSON honoured, undefined members left out, non-finite numbers
 * become null). Records are JSON round-tripped at append, so this is stable across storage.
 */
export function canonicalJSON(v: unknown): string {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON(): unknown }).toJSON();
  }
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) {
    return `[${v.map((x) => (x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : canonicalJSON(x))).join(',')}]`;
  }
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJSON(x)}`);
  }
  return `{${parts.join(',')}}`;
}

/** sha256(prev + canonicalJSON(record without hash)), hex. */
export function hashRecord(body: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(body.prev).update(canonicalJSON(body)).digest('hex');
}

interface Head {
  seq: number;
  hash: string;
}

interface Pending {
  id: string;
  ts: string;
  /** The entry as JSON (a copy: the caller may reuse its object), reserved keys removed. */
  body: string;
}

function seal(node: string, head: Head, p: Pending): AuditRecord {
  const body = { ...(JSON.parse(p.body) as AuditEntryInput), id: p.id, ts: p.ts, node, seq: head.seq + 1, prev: head.hash };
  return { ...body, hash: hashRecord(body) };
}

type Encoded = { ok: true; body: string } | { ok: false; why: string };

/** The cheap checks and the copy `append` makes before queueing. */
function encodeEntry(e: AuditEntryInput): Encoded {
  if (e === null || typeof e !== 'object') return { ok: false, why: 'not an object' };
  if (!(AUDIT_KINDS as readonly string[]).includes(e.kind)) return { ok: false, why: 'unknown kind' };
  if (typeof e.action !== 'string' || !e.action) return { ok: false, why: 'no action' };
  if (!e.actor || typeof e.actor.id !== 'string' || (e.actor.type !== 'user' && e.actor.type !== 'automation')) return { ok: false, why: 'no actor' };
  if (typeof e.automatedDetection !== 'boolean' || typeof e.automatedDecision !== 'boolean') return { ok: false, why: 'automated flags missing' };
  const body = JSON.stringify(e, function (this: unknown, k: string, v: unknown) {
    return this === e && RESERVED.has(k) ? undefined : v;
  });
  if (body.length > MAX_ENTRY_CHARS) return { ok: false, why: `larger than ${MAX_ENTRY_CHARS} characters` };
  return { ok: true, body };
}

// ---------------------------------------------------------------------------------------------
// Verification

export type VerifyResult =
  | { ok: true; checked: number; chains: number; heads: Checkpoint }
  /** `checked`: records that verified before the broken one. `brokenAt`: its id (or stream id). */
  | { ok: false; checked: number; brokenAt: string; reason: string };

function isRecord(r: unknown): r is AuditRecord {
  if (r === null || typeof r !== 'object') return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.id === 'string' &&
    typeof x.ts === 'string' &&
    typeof x.node === 'string' &&
    x.node !== '' &&
    typeof x.seq === 'number' &&
    Number.isSafeInteger(x.seq) &&
    x.seq >= 1 &&
    typeof x.prev === 'string' &&
    typeof x.hash === 'string'
  );
}

/**
 * Checks records fed in log order, one at a time (memory stays O(nodes), so a whole stream can be
 * verified page by page). Per node: seq counts up by one, `prev` is the previous record's hash, the
 * hash matches the content. A chain's first record may start after seq 1 (retention trimmed the
 * older ones) — its `prev` is then taken on trust; a record with seq 1 must link to the genesis.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, { seq: number; hash: string; id: string; first: number }>();
  private checked = 0;
  private failure: { brokenAt: string; reason: string } | undefined;

  constructor(private readonly against?: Checkpoint) {}

  /** Feed the next record; returns the failure at the first broken one (and keeps returning it). */
  add(rec: unknown, where?: string): { brokenAt: string; reason: string } | undefined {
    if (this.failure) return this.failure;
    const fail = (brokenAt: string, reason: string) => (this.failure = { brokenAt, reason });
    if (!isRecord(rec)) {
      const id = rec && typeof rec === 'object' && typeof (rec as { id?: unknown }).id === 'string' ? (rec as { id: string }).id : undefined;
      return fail(id ?? where ?? '?', 'malformed record (not an audit record: missing id/ts/node/seq/prev/hash)');
    }
    const { hash, ...body } = rec;
    const last = this.heads.get(rec.node);
    if (last) {
      if (rec.seq <= last.seq) return fail(rec.id, `seq ${rec.seq} of node ${rec.node} comes after seq ${last.seq}: reordered, replayed or inserted`);
      if (rec.seq !== last.seq + 1) {
        const n = rec.seq - last.seq - 1;
        return fail(rec.id, `seq ${rec.seq} of node ${rec.node} follows seq ${last.seq} (${last.id}): ${n} record${n === 1 ? '' : 's'} missing`);
      }
      if (rec.prev !== last.hash) return fail(rec.id, `prev does not match the hash of seq ${last.seq} of node ${rec.node} (${last.id}): that record was edited, or this one forged`);
    } else if (rec.seq === 1 && rec.prev !== GENESIS) {
      return fail(rec.id, `seq 1 of node ${rec.node} does not link to the genesis hash`);
    }
    if (hashRecord(body) !== hash) return fail(rec.id, `hash does not match the content of seq ${rec.seq} of node ${rec.node}: the record was edited`);
    const cp = this.against?.[rec.node];
    if (cp && cp.seq === rec.seq && cp.hash !== hash) return fail(rec.id, `seq ${rec.seq} of node ${rec.node} differs from the checkpoint`);
    this.heads.set(rec.node, { seq: rec.seq, hash, id: rec.id, first: last ? last.first : rec.seq });
    this.checked++;
    return undefined;
  }

  result(): VerifyResult {
    if (this.failure) return { ok: false, checked: this.checked, ...this.failure };
    for (const [node, cp] of Object.entries(this.against ?? {})) {
      const h = this.heads.get(node);
      if (!h) return { ok: false, checked: this.checked, brokenAt: `node:${node}`, reason: `no records of node ${node}, the checkpoint has seq ${cp.seq}: its chain was removed` };
      if (h.seq < cp.seq) {
        return { ok: false, checked: this.checked, brokenAt: h.id, reason: `the chain of node ${node} ends at seq ${h.seq} but the checkpoint has seq ${cp.seq}: its tail was truncated` };
      }
      // h.first > cp.seq: retention already trimmed past the checkpoint; nothing left to compare.
    }
    const heads: Checkpoint = {};
    for (const [node, h] of this.heads) heads[node] = { seq: h.seq, hash: h.hash };
    return { ok: true, checked: this.checked, chains: this.heads.size, heads };
  }
}

/**
 * Groups by node, checks seq continuity, prev links and hashes; reports the first broken record.
 * `against`: a checkpoint exported earlier, to also detect a truncated tail.
 */
export function verifyChain(records: Iterable<unknown>, against?: Checkpoint): VerifyResult {
  const v = new ChainVerifier(against);
  for (const r of records) if (v.add(r)) break;
  return v.result();
}

// ---------------------------------------------------------------------------------------------
// Shared query helpers

/** ISO time, or epoch ms as a number or a string of digits. Throws RangeError otherwise. */
export function parseSince(since: string | number): number {
  const ms = typeof since === 'number' ? since : /^\d+$/.test(since) ? Number(since) : Date.parse(since);
  if (!Number.isFinite(ms)) throw new RangeError(`audit: since must be an ISO time or epoch milliseconds, got ${JSON.stringify(since)}`);
  return ms;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return QUERY_DEFAULT_LIMIT;
  return Math.max(1, Math.min(QUERY_MAX_LIMIT, Math.floor(limit)));
}

function matches(r: AuditRecord, q: AuditQuery, sinceMs: number | undefined): boolean {
  if (q.userId !== undefined && r.subject?.userId !== q.userId && r.actor?.id !== q.userId) return false;
  if (q.room !== undefined && r.subject?.room !== q.room) return false;
  if (sinceMs !== undefined && !(Date.parse(r.ts) >= sinceMs)) return false;
  return true;
}

class Tally {
  total = 0;
  private readonly by = new Map<string, Map<string, number>>();
  add(r: AuditRecord): void {
    if (!ENFORCEMENT_KINDS.has(r.kind)) return;
    const cat = typeof r.category === 'string' && r.category ? r.category : 'unspecified';
    let m = this.by.get(cat);
    if (!m) this.by.set(cat, (m = new Map()));
    m.set(r.action, (m.get(r.action) ?? 0) + 1);
    this.total++;
  }
  byCategory(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.by].map(([c, m]) => [c, Object.fromEntries(m)]));
  }
}

function transparencyWindow(since: string | number | undefined, now: number): number {
  return since === undefined ? now - TRANSPARENCY_DEFAULT_WINDOW_MS : parseSince(since);
}

class DropCounter {
  readonly drops: AuditDrops = { full: 0, invalid: 0, closed: 0 };
  private lastWarn = 0;
  constructor(private readonly log: Logger | undefined) {}
  get total(): number {
    return this.drops.full + this.drops.invalid + this.drops.closed;
  }
  count(why: keyof AuditDrops, n = 1, detail?: string): void {
    this.drops[why] += n;
    // At most one line a second: a flood of drops must not become a flood of logs.
    const now = Date.now();
    if (this.log && now - this.lastWarn >= 1000) {
      this.lastWarn = now;
      this.log.warn({ why, detail, drops: this.drops }, 'audit entries dropped');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

export interface MemoryAuditLogOptions {
  /** Records kept (a ring). Default MEMORY_CAPACITY. */
  capacity?: number;
  log?: Logger;
  /** For tests: the time stamped on appended entries. */
  clock?: () => number;
}

/** Embedded mode: the last N records of this one node, in process. Writes are synchronous. */
export class MemoryAuditLog implements AuditLog {
  private readonly ring: (AuditRecord | undefined)[];
  private start = 0;
  private size = 0;
  private evicted = 0;
  private head: Head = { seq: 0, hash: GENESIS };
  private readonly dc: DropCounter;
  private readonly clock: () => number;
  private closed = false;

  constructor(
    readonly node = 'local',
    o: MemoryAuditLogOptions = {},
  ) {
    const cap = o.capacity ?? MEMORY_CAPACITY;
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError('audit: capacity must be a positive integer');
    this.ring = new Array<AuditRecord | undefined>(cap);
    this.dc = new DropCounter(o.log);
    this.clock = o.clock ?? Date.now;
  }

  get dropped(): number {
    return this.dc.total;
  }
  get drops(): Readonly<AuditDrops> {
    return this.dc.drops;
  }
  get pending(): number {
    return 0;
  }

  append(e: AuditEntryInput): void {
    try {
      if (this.closed) return this.dc.count('closed');
      const enc = encodeEntry(e);
      if (!enc.ok) return this.dc.count('invalid', 1, enc.why);
      const rec = seal(this.node, this.head, { id: randomUUID(), ts: new Date(this.clock()).toISOString(), body: enc.body });
      this.head = { seq: rec.seq, hash: rec.hash };
      const cap = this.ring.length;
      if (this.size < cap) {
        this.ring[(this.start + this.size) % cap] = rec;
        this.size++;
      } else {
        this.ring[this.start] = rec;
        this.start = (this.start + 1) % cap;
        this.evicted++;
      }
    } catch (err) {
      this.dc.count('invalid', 1, (err as Error).message);
    }
  }

  /** Oldest first. */
  private *records(): Generator<AuditRecord> {
    for (let i = 0; i < this.size; i++) yield this.ring[(this.start + i) % this.ring.length]!;
  }

  private *newestFirst(): Generator<AuditRecord> {
    for (let i = this.size - 1; i >= 0; i--) yield this.ring[(this.start + i) % this.ring.length]!;
  }

  async flush(): Promise<void> {}

  async query(q: AuditQuery): Promise<AuditRecord[]> {
    const limit = clampLimit(q.limit);
    const sinceMs = q.since === undefined ? undefined : parseSince(q.since);
    const out: AuditRecord[] = [];
    for (const r of this.newestFirst()) {
      if (!matches(r, q, sinceMs)) continue;
      out.push(structuredClone(r));
      if (out.length >= limit) break;
    }
    return out;
  }

  async transparency(since?: string | number): Promise<TransparencyReport> {
    const now = Date.now();
    const sinceMs = transparencyWindow(since, now);
    const t = new Tally();
    let oldest: number | undefined;
    for (const r of this.records()) {
      const ts = Date.parse(r.ts);
      oldest ??= ts;
      if (ts >= sinceMs) t.add(r);
    }
    const truncated = this.evicted > 0 && oldest !== undefined && oldest > sinceMs;
    return { since: new Date(sinceMs).toISOString(), until: new Date(now).toISOString(), total: t.total, byCategory: t.byCategory(), truncated };
  }

  async checkpoint(): Promise<Checkpoint> {
    return this.head.seq ? { [this.node]: { ...this.head } } : {};
  }

  async *scan(): AsyncGenerator<AuditRecord[]> {
    const all = [...this.records()].map((r) => structuredClone(r));
    for (let i = 0; i < all.length; i += PAGE) yield all.slice(i, i + PAGE);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

/** One stream entry as stored: `record` is the parsed JSON (unchecked), absent when unreadable. */
export interface StreamEntry {
  streamId: string;
  record?: unknown;
}

function parseFields(fields: string[]): unknown {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'r') {
      try {
        return JSON.parse(fields[i + 1]!);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The whole stream (or from `start`), oldest first, in pages of `count` entries. */
export async function* readAuditStream(redis: Redis, stream = AUDIT_STREAM, start = '-', count = PAGE): AsyncGenerator<StreamEntry[]> {
  let from = start;
  for (;;) {
    const page = await redis.xrange(stream, from, '+', 'COUNT', count);
    if (page.length === 0) return;
    yield page.map(([streamId, fields]) => ({ streamId, record: parseFields(fields) }));
    if (page.length < count) return;
    from = `(${page[page.length - 1]![0]}`;
  }
}

function headString(h: Head): string {
  return `${h.seq}:${h.hash}`;
}

function parseHead(s: string | null | undefined): Head | undefined {
  const m = s ? /^(\d+):([0-9a-f]{64})$/.exec(s) : null;
  return m ? { seq: Number(m[1]), hash: m[2]! } : undefined;
}

// KEYS: stream, heads   ARGV: node, expected head ('' = none), new head, maxlen, records...
// Appends only if this node's head in Redis is the one the batch was built on (or is missing:
// first write, or Redis came back empty — the node continues its chain). A retry of a batch that
// was written but whose reply was lost finds the head already at the batch's end: 'dup', no write.
const APPEND_SCRIPT = `
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur and not string.match(cur, '^%d+:%x+$') then cur = false end
if cur and cur ~= ARGV[2] then
  if cur == ARGV[3] then return {'dup'} end
  return {'conflict', cur}
end
for i = 5, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'r', ARGV[i])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return {'ok'}
`;

type AuditRedis = Redis & {
  mgAuditAppend(stream: string, heads: string, node: string, expected: string, next: string, maxlen: number, ...records: string[]): Promise<string[]>;
};

export interface RedisAuditLogOptions {
  /** Stream key, default `modgate:audit` (the heads hash is `<stream>:heads`). */
  stream?: string;
  /** Queue bound, default MAX_QUEUE. */
  maxQueue?: number;
  /** Stream MAXLEN ~, default STREAM_MAXLEN. */
  maxLen?: number;
  log?: Logger;
  /** For tests: the time stamped on appended entries. */
  clock?: () => number;
}

/**
 * The shared log: entries go to a Redis Stream through a fast-fail connection (no offline queue, a
 * command timeout, jittered reconnects). While Redis is away the bounded queue holds; the writer
 * retries the same sealed batch until Redis has it, so nothing queued is lost or written twice.
 * One instance per node id at a time (a second writer with the same id is detected and logged,
 * and its records are chained after the other's).
 */
export class RedisAuditLog implements AuditLog {
  private readonly redis: AuditRedis;
  private readonly stream: string;
  private readonly heads: string;
  private readonly maxQueue: number;
  private readonly maxLen: number;
  private readonly log: Logger | undefined;
  private readonly clock: () => number;
  private readonly dc: DropCounter;
  private queue: Pending[] = [];
  /** This node's chain head; undefined until read from Redis. */
  private head: Head | undefined;
  /** The batch being written, sealed on `head`; resent unchanged until Redis confirms it. */
  private inflight: AuditRecord[] | undefined;
  private accepted = 0;
  private settled = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  private scheduled = false;
  private running = false;
  private runP: Promise<void> | undefined;
  private closing = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private _conflicts = 0;

  constructor(
    url: string,
    readonly node: string,
    o: RedisAuditLogOptions = {},
  ) {
    if (typeof node !== 'string' || !node) throw new TypeError('audit: node id required');
    this.stream = o.stream ?? AUDIT_STREAM;
    this.heads = headsKeyOf(this.stream);
    this.maxQueue = o.maxQueue ?? MAX_QUEUE;
    this.maxLen = o.maxLen ?? STREAM_MAXLEN;
    this.log = o.log?.child({ part: 'audit' });
    this.clock = o.clock ?? Date.now;
    this.dc = new DropCounter(this.log);
    this.redis = new Redis(url, fastFailRedisOptions(`modgate-audit-${node}`)) as AuditRedis;
    this.redis.defineCommand('mgAuditAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.redis.on('error', (e: Error) => this.log?.warn({ err: e.message }, 'audit redis error'));
    this.redis.on('ready', () => this.schedule());
    this.redis.connect().catch(() => {
      /* reconnects by itself (retryStrategy); the writer waits for 'ready' */
    });
  }

  get dropped(): number {
    return this.dc.total;
  }
  get drops(): Readonly<AuditDrops> {
    return this.dc.drops;
  }
  get pending(): number {
    return this.queue.length;
  }
  /** Times another writer had moved this node's chain head (should stay 0: node ids are unique). */
  get conflicts(): number {
    return this._conflicts;
  }

  append(e: AuditEntryInput): void {
    try {
      if (this.closing) return this.dc.count('closed');
      if (this.queue.length >= this.maxQueue) return this.dc.count('full');
      const enc = encodeEntry(e);
      if (!enc.ok) return this.dc.count('invalid', 1, enc.why);
      this.queue.push({ id: randomUUID(), ts: new Date(this.clock()).toISOString(), body: enc.body });
      this.accepted++;
      this.schedule();
    } catch (err) {
      this.dc.count('invalid', 1, (err as Error).message);
    }
  }

  /** Start the writer on the next turn: appends made in the same turn go in one batch. */
  private schedule(): void {
    if (this.scheduled || this.running || this.closed || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running || this.closed) return;
      this.running = true;
      this.runP = this.run().finally(() => {
        this.running = false;
        this.schedule();
      });
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.queue.length > 0 && !this.closed) {
      try {
        if (this.redis.status !== 'ready') {
          await this.pause(READY_POLL_MS, true);
          continue;
        }
        this.head ??= await this.loadHead();
        await this.writeBatch(this.head);
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) this.log?.warn({ err: (err as Error).message, pending: this.queue.length, failures }, 'audit write failed; retrying');
        await this.pause(Math.min(2000, 50 * 2 ** Math.min(failures, 6)) + Math.floor(Math.random() * 100), false);
      }
    }
  }

  /** Sleep `ms`, or less: close() and (if asked) the connection becoming ready wake it. */
  private pause(ms: number, untilReady: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.redis.off('ready', done);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      if (untilReady) this.redis.once('ready', done);
      this.wake = done;
    });
  }

  /** The node's last record: the heads hash, else (heads lost) a scan back through the stream. */
  private async loadHead(): Promise<Head> {
    const h = parseHead(await this.redis.hget(this.heads, this.node));
    if (h) return h;
    let end = '+';
    for (;;) {
      const page = await this.redis.xrevrange(this.stream, end, '-', 'COUNT', PAGE);
      for (const [, fields] of page) {
        const r = parseFields(fields);
        if (isRecord(r) && r.node === this.node) return { seq: r.seq, hash: r.hash };
      }
      if (page.length < PAGE) return { seq: 0, hash: GENESIS };
      if (this.closed) throw new Error('closed');
      end = `(${page[page.length - 1]![0]}`;
    }
  }

  private async writeBatch(head: Head): Promise<void> {
    if (!this.inflight) {
      const n = Math.min(WRITE_BATCH, this.queue.length);
      const recs: AuditRecord[] = [];
      let h = head;
      for (let i = 0; i < n; i++) {
        const r = seal(this.node, h, this.queue[i]!);
        recs.push(r);
        h = { seq: r.seq, hash: r.hash };
      }
      this.inflight = recs;
    }
    const recs = this.inflight;
    const last = recs[recs.length - 1]!;
    const next = { seq: last.seq, hash: last.hash };
    const res = await this.redis.mgAuditAppend(
      this.stream,
      this.heads,
      this.node,
      head.seq === 0 ? '' : headString(head),
      headString(next),
      this.maxLen,
      ...recs.map((r) => JSON.stringify(r)),
    );
    if (res[0] === 'conflict') {
      // Another writer moved this node's chain on: two processes share a node id. Chain after it.
      this._conflicts++;
      this.log?.error({ node: this.node, head: res[1] }, 'audit chain head moved by another writer: is this node id used twice?');
      this.head = parseHead(res[1]) ?? this.head;
      this.inflight = undefined;
      return;
    }
    // 'ok', or 'dup': an earlier attempt was written and only its reply was lost.
    this.head = next;
    this.inflight = undefined;
    this.queue.splice(0, recs.length);
    this.settled += recs.length;
    this.settle();
  }

  private settle(): void {
    if (!this.waiters.length) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (this.settled >= w.target ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  flush(timeoutMs?: number): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    this.schedule();
    return new Promise<void>((resolve, reject) => {
      let t: NodeJS.Timeout | undefined;
      const w = {
        target,
        resolve: () => {
          if (t) clearTimeout(t);
          resolve();
        },
      };
      this.waiters.push(w);
      if (timeoutMs !== undefined) {
        t = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`audit flush timed out after ${timeoutMs} ms: ${this.queue.length} entries still queued`));
        }, timeoutMs);
      }
    });
  }

  async query(q: AuditQuery): Promise<AuditRecord[]> {
    const limit = clampLimit(q.limit);
    const sinceMs = q.since === undefined ? undefined : parseSince(q.since);
    const stop = sinceMs === undefined ? '-' : `${Math.max(0, Math.floor(sinceMs - CLOCK_SKEW_MS))}-0`;
    const out: AuditRecord[] = [];
    let end = '+';
    let scanned = 0;
    while (out.length < limit && scanned < QUERY_SCAN_CAP) {
      const page = await this.redis.xrevrange(this.stream, end, stop, 'COUNT', PAGE);
      for (const [, fields] of page) {
        scanned++;
        const r = parseFields(fields);
        if (isRecord(r) && matches(r, q, sinceMs)) {
          out.push(r);
          if (out.length >= limit) break;
        }
      }
      if (page.length < PAGE) break;
      end = `(${page[page.length - 1]![0]}`;
    }
    return out;
  }

  async transparency(since?: string | number): Promise<TransparencyReport> {
    const now = Date.now();
    const sinceMs = transparencyWindow(since, now);
    const t = new Tally();
    let scanned = 0;
    let lastTs: string | undefined;
    let truncated = false;
    const from = `${Math.max(0, Math.floor(sinceMs - CLOCK_SKEW_MS))}-0`;
    outer: for await (const page of readAuditStream(this.redis, this.stream, from)) {
      for (const { record } of page) {
        if (scanned >= TRANSPARENCY_SCAN_CAP) {
          truncated = true;
          break outer;
        }
        scanned++;
        if (!isRecord(record) || !(Date.parse(record.ts) >= sinceMs)) continue;
        t.add(record);
        lastTs = record.ts;
      }
    }
    const until = truncated && lastTs ? lastTs : new Date(now).toISOString();
    return { since: new Date(sinceMs).toISOString(), until, total: t.total, byCategory: t.byCategory(), truncated };
  }

  async checkpoint(): Promise<Checkpoint> {
    const all = await this.redis.hgetall(this.heads);
    const out: Checkpoint = {};
    for (const [node, v] of Object.entries(all)) {
      const h = parseHead(v);
      if (h) out[node] = h;
    }
    return out;
  }

  async *scan(): AsyncGenerator<AuditRecord[]> {
    for await (const page of readAuditStream(this.redis, this.stream)) {
      yield page.map((e) => e.record).filter(isRecord);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.flush(CLOSE_FLUSH_MS);
    } catch {
      // Redis is away: what is still queued is lost with this process (counted below).
    }
    this.closed = true;
    this.wake?.();
    // A batch may be on its way (every command has a 1 s timeout): let it land and be counted.
    await this.runP;
    const left = this.queue.length;
    if (left) {
      this.dc.count('closed', left, 'unwritten at close');
      this.settled += left;
      this.queue = [];
      this.inflight = undefined;
    }
    this.settle();
    this.redis.disconnect();
  }
}
