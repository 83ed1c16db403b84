/**
 * Sanction state shared through Redis, held whole on every node.
 *
 * - Every change is a Lua script (`defineCommand`): it updates the active set, bumps a version and
 *   appends `{v, op, s}` to a Redis Stream (the log), then PUBLISHes the same entry (the wake-up).
 *   A node applies a wake-up directly when it is the next version; otherwise it reads the log.
 * - A node applies the log in order from the last entry it saw: on a wake-up, on a 1 s tick (a
 *   wake-up lost while its subscriber was cut is caught there), and after every reconnect. A gap in
 *   the versions (a trimmed log) or a new epoch makes it reconcile from the snapshot.
 * - Epoch: `modgate:epoch` is set once per Redis dataset. A node that finds it missing or changed
 *   after having state knows Redis came back empty: it keeps its copy and writes it back (puts are
 *   idempotent by id) instead of unbanning everyone.
 * - Restrictive writes while Redis is unreachable apply locally at once and wait in an outbox (a
 *   JSON-lines file when `outboxPath` is set), replayed in order when Redis returns. Lifts wait.
 *
 * Keys live in one hash slot's worth of naming only by convention: this targets a single Redis
 * (with replicas / Sentinel), not Redis Cluster.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { History, StrikeRecord } from '../rules/types.ts';
import { fastFailRedisOptions } from './bus.ts';
import type { Logger } from './logger.ts';
import {
  SanctionIndex,
  StoreUnavailableError,
  historyOf,
  type MinorRecord,
  type Sanction,
  type SanctionChange,
  type SanctionStore,
  type ViolationCommit,
} from './sanction-store.ts';

export const KEYS = {
  active: 'modgate:sanctions',
  log: 'modgate:sanctions:log',
  version: 'modgate:sanctions:version',
  lifted: 'modgate:sanctions:lifted',
  epoch: 'modgate:epoch',
  wake: 'modgate:sanctions:wake',
  hver: (u: string) => `modgate:hver:{${u}}`,
  strikes: (u: string) => `modgate:strikes:{${u}}`,
  minors: (u: string) => `modgate:minors:{${u}}`,
  counts: (u: string) => `modgate:vcounts:{${u}}`,
  notices: (u: string) => `modgate:notices:{${u}}`,
} as const;

/** The log keeps the last ~100k changes; a node further behind than that reconciles from the snapshot. */
const LOG_MAXLEN = 100_000;
/** A missed wake-up is caught by this tick at the latest. */
const PULL_INTERVAL_MS = 1000;
/** Expired sanctions are dropped from Redis's active set this often (time alone already ends them). */
const PRUNE_INTERVAL_MS = 60_000;
/** History keys live a year past their last write: strikes expire long before (90 days by default). */
const HISTORY_TTL_MS = 365 * 86_400_000;
/** Pending notices for offline users are kept 90 days. */
const NOTICE_TTL_MS = 90 * 86_400_000;
/** Attempts at strike-and-decide when other writers keep changing the same user's history. */
const MAX_DECIDE_ATTEMPTS = 8;

// put(id, json, noticeKey, noticeId, noticeJson, noticeTtlMs): the sanction and, when it carries one,
// the user's pending notice, in one step (the node that delivers it live then marks it delivered).
// KEYS: active, log, version, lifted, ...   ARGV: channel, maxlen, ...
const PUT_ONE = `
local function put(id, json, nkey, nid, njson, nttl)
  if redis.call('HEXISTS', KEYS[1], id) == 1 or redis.call('SISMEMBER', KEYS[4], id) == 1 then return 0 end
  if njson ~= '' then
    redis.call('HSET', nkey, nid, njson)
    redis.call('PEXPIRE', nkey, nttl)
  end
  redis.call('HSET', KEYS[1], id, json)
  local v = redis.call('INCR', KEYS[3])
  local xid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'v', v, 'op', 'put', 's', json)
  redis.call('PUBLISH', ARGV[1], '{"v":' .. v .. ',"id":"' .. xid .. '","op":"put","s":' .. json .. '}')
  return v
end
`;

// KEYS: active, log, version, lifted, noticeKey   ARGV: channel, maxlen, id, json, noticeId, noticeJson, ttl
const PUT_SCRIPT = `${PUT_ONE}
return put(ARGV[3], ARGV[4], KEYS[5], ARGV[5], ARGV[6], ARGV[7])`;

// KEYS: active, log, version, lifted   ARGV: channel, maxlen, ids...
const LIFT_SCRIPT = `
local out = {}
for i = 3, #ARGV do
  local json = redis.call('HGET', KEYS[1], ARGV[i])
  if json then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('SADD', KEYS[4], ARGV[i])
    local v = redis.call('INCR', KEYS[3])
    local xid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'v', v, 'op', 'lift', 's', json)
    redis.call('PUBLISH', ARGV[1], '{"v":' .. v .. ',"id":"' .. xid .. '","op":"lift","s":' .. json .. '}')
    table.insert(out, json)
  end
end
return out`;

// KEYS: active, log, version, lifted, hver, strikes, minors, counts, noticeKey
// ARGV: channel, maxlen, expectedHver, ttlMs, strikeId, strikeJson, minorId, minorJson, major, live,
//       noticeTtl, n, (id, json, noticeId, noticeJson)*n
// Strikes and minor violations are hashes keyed by their id: recording the same one twice is a no-op.
const COMMIT_SCRIPT = `${PUT_ONE}
local current = redis.call('GET', KEYS[5]) or '0'
if current ~= ARGV[3] then return -1 end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[6], ARGV[5], ARGV[6]); redis.call('PEXPIRE', KEYS[6], ARGV[4]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[7], ARGV[7], ARGV[8]); redis.call('PEXPIRE', KEYS[7], ARGV[4]) end
if ARGV[9] == '1' then redis.call('HINCRBY', KEYS[8], 'major', 1) end
if ARGV[10] == '1' then redis.call('HINCRBY', KEYS[8], 'livestream', 1) end
redis.call('PEXPIRE', KEYS[8], ARGV[4])
redis.call('INCR', KEYS[5])
redis.call('PEXPIRE', KEYS[5], ARGV[4])
local n = tonumber(ARGV[12])
for i = 0, n - 1 do put(ARGV[13 + 4 * i], ARGV[14 + 4 * i], KEYS[9], ARGV[15 + 4 * i], ARGV[16 + 4 * i], ARGV[11]) end
return 1`;

type OutboxItem = { t: 'put'; s: Sanction } | { t: 'notice'; u: string; id: string; n: unknown };

interface StoreRedis extends Redis {
  mgPut(...args: (string | number)[]): Promise<number>;
  mgLift(a: string, l: string, v: string, lifted: string, channel: string, maxlen: number, ...ids: string[]): Promise<string[]>;
  mgCommit(...args: (string | number)[]): Promise<number>;
}

export interface RedisSanctionStoreOptions {
  url: string;
  nodeId: string;
  log: Logger;
  /** JSON-lines file for restrictive writes made while Redis is unreachable (survives a restart). */
  outboxPath?: string;
}

export class RedisSanctionStore implements SanctionStore {
  private readonly index = new SanctionIndex();
  private readonly cmd: StoreRedis;
  private readonly sub: Redis;
  private readonly listeners: ((c: SanctionChange) => void)[] = [];
  private readonly log: Logger;
  private outbox: OutboxItem[] = [];
  private epoch: string | undefined;
  private version = 0;
  private lastId = '0-0';
  private reconciled = false;
  private pulling: Promise<void> | undefined;
  private pullAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly o: RedisSanctionStoreOptions) {
    this.log = o.log.child({ part: 'sanctions' });
    this.cmd = new Redis(o.url, fastFailRedisOptions(`modgate-sanctions-${o.nodeId}`)) as StoreRedis;
    this.cmd.defineCommand('mgPut', { numberOfKeys: 5, lua: PUT_SCRIPT });
    this.cmd.defineCommand('mgLift', { numberOfKeys: 4, lua: LIFT_SCRIPT });
    this.cmd.defineCommand('mgCommit', { numberOfKeys: 9, lua: COMMIT_SCRIPT });
    this.sub = new Redis(o.url, { ...fastFailRedisOptions(`modgate-sanctions-sub-${o.nodeId}`), enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    for (const [name, c] of [['cmd', this.cmd], ['sub', this.sub]] as const) {
      c.on('error', (e: Error) => this.log.warn({ err: e.message, conn: name }, 'sanction store redis error'));
    }
    // After any reconnect the node may have missed changes, or Redis may have come back empty.
    this.cmd.on('ready', () => {
      if (this.reconciled) this.kick('reconnect');
    });
    this.sub.on('ready', () => {
      if (this.reconciled) this.kick('subscriber reconnect');
    });
    this.sub.on('message', (_channel: string, payload: string) => this.onWake(payload));
    if (o.outboxPath && existsSync(o.outboxPath)) {
      for (const line of readFileSync(o.outboxPath, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const item = JSON.parse(line) as OutboxItem;
          this.outbox.push(item);
          if (item.t === 'put') this.index.put(item.s);
        } catch {
          this.log.error('skipping a corrupt outbox line');
        }
      }
      if (this.outbox.length) this.log.warn({ items: this.outbox.length }, 'replaying sanction outbox from a previous run');
    }
  }

  async start(): Promise<void> {
    this.cmd.connect().catch(() => {});
    this.sub.connect().catch(() => {});
    await this.sub.subscribe(KEYS.wake);
    await this.waitReady();
    await this.reconcile('start');
    this.timers.push(setInterval(() => this.pullSoon(), PULL_INTERVAL_MS), setInterval(() => void this.prune(), PRUNE_INTERVAL_MS));
    for (const t of this.timers) t.unref();
  }

  private async waitReady(): Promise<void> {
    if (this.cmd.status === 'ready') return;
    await new Promise<void>((resolve) => this.cmd.once('ready', () => resolve()));
  }

  unhealthy(): string | null {
    if (!this.reconciled) return 'sanction state not reconciled yet';
    if (this.cmd.status !== 'ready') return `sanction store redis ${this.cmd.status}`;
    if (this.sub.status !== 'ready') return `sanction subscriber ${this.sub.status}`;
    return null;
  }

  // ---- hot path ----

  active(userId: string, now = Date.now()): readonly Sanction[] {
    return this.index.active(userId, now);
  }

  banFor(device: string | undefined, ip: string | undefined, now = Date.now()): Sanction | undefined {
    return this.index.banFor(device, ip, now);
  }

  // ---- writes ----

  async put(s: Sanction): Promise<void> {
    this.applyPut(s);
    if (this.outbox.length || this.cmd.status !== 'ready') return this.enqueue({ t: 'put', s });
    try {
      await this.writePut(s);
    } catch {
      this.enqueue({ t: 'put', s });
    }
  }

  /** One sanction (and its pending notice, unless `withNotice` is false) in one script call. */
  private writePut(s: Sanction, withNotice = true): Promise<number> {
    const notice = withNotice && s.notice && s.kind !== 'shadow' ? JSON.stringify(s.notice) : '';
    return this.cmd.mgPut(KEYS.active, KEYS.log, KEYS.version, KEYS.lifted, KEYS.notices(s.userId), KEYS.wake, LOG_MAXLEN, s.id, JSON.stringify(s), s.caseId, notice, NOTICE_TTL_MS);
  }

  async lift(userId: string, sanctionId?: string): Promise<Sanction[]> {
    if (this.cmd.status !== 'ready' || this.outbox.length) throw new StoreUnavailableError('sanction store unreachable: lifting waits until it is back');
    const ids = this.index.liftable(userId, sanctionId).map((s) => s.id);
    // Also lift what Redis has that this node may not have applied yet.
    const stored = await this.cmd.hvals(KEYS.active).catch(() => {
      throw new StoreUnavailableError('sanction store unreachable');
    });
    for (const json of stored) {
      const s = JSON.parse(json) as Sanction;
      if (s.userId === userId && (!sanctionId || s.id === sanctionId) && !ids.includes(s.id)) ids.push(s.id);
    }
    if (!ids.length) return [];
    let lifted: string[];
    try {
      lifted = await this.cmd.mgLift(KEYS.active, KEYS.log, KEYS.version, KEYS.lifted, KEYS.wake, LOG_MAXLEN, ...ids);
    } catch {
      throw new StoreUnavailableError('sanction store unreachable');
    }
    const out = lifted.map((j) => JSON.parse(j) as Sanction);
    for (const s of out) this.applyLift(s.id);
    return out;
  }

  async history(userId: string): Promise<History> {
    return (await this.readHistory(userId)).history;
  }

  private async readHistory(userId: string): Promise<{ history: History; hver: string }> {
    if (this.cmd.status !== 'ready') throw new StoreUnavailableError('sanction store unreachable');
    try {
      const r = await this.cmd.multi().get(KEYS.hver(userId)).hvals(KEYS.strikes(userId)).hvals(KEYS.minors(userId)).hgetall(KEYS.counts(userId)).exec();
      const [hv, strikes, minors, counts] = (r ?? []).map(([err, v]) => {
        if (err) throw err;
        return v;
      }) as [string | null, string[], string[], Record<string, string>];
      return {
        hver: hv ?? '0',
        history: historyOf(
          strikes.map((j) => JSON.parse(j) as StrikeRecord),
          minors.map((j) => JSON.parse(j) as MinorRecord),
          { major: Number(counts.major ?? 0), livestream: Number(counts.livestream ?? 0) },
        ),
      };
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      throw new StoreUnavailableError('sanction store unreachable');
    }
  }

  async recordViolation<T>(userId: string, decide: (h: History) => { result: T; commit: ViolationCommit }): Promise<T> {
    for (let attempt = 0; attempt < MAX_DECIDE_ATTEMPTS; attempt++) {
      const { history, hver } = await this.readHistory(userId);
      const { result, commit } = decide(history);
      const args: (string | number)[] = [
        KEYS.active,
        KEYS.log,
        KEYS.version,
        KEYS.lifted,
        KEYS.hver(userId),
        KEYS.strikes(userId),
        KEYS.minors(userId),
        KEYS.counts(userId),
        KEYS.notices(userId),
        KEYS.wake,
        LOG_MAXLEN,
        hver,
        HISTORY_TTL_MS,
        commit.strike?.id ?? '',
        commit.strike ? JSON.stringify(commit.strike) : '',
        commit.minor?.id ?? '',
        commit.minor ? JSON.stringify(commit.minor) : '',
        commit.major ? '1' : '0',
        commit.livestream ? '1' : '0',
        NOTICE_TTL_MS,
        commit.sanctions.length,
      ];
      for (const s of commit.sanctions) args.push(s.id, JSON.stringify(s), s.caseId, s.notice && s.kind !== 'shadow' ? JSON.stringify(s.notice) : '');
      let ok: number;
      try {
        ok = await this.cmd.mgCommit(...args);
      } catch {
        throw new StoreUnavailableError('sanction store unreachable');
      }
      if (ok === 1) {
        for (const s of commit.sanctions) this.applyPut(s);
        return result;
      }
      // Someone else recorded a violation for this user in between: decide again on fresh history.
    }
    throw new StoreUnavailableError('too many concurrent violations for one user; try again');
  }

  // ---- notices ----

  async pushNotice(userId: string, id: string, notice: unknown): Promise<void> {
    if (this.outbox.length || this.cmd.status !== 'ready') return this.enqueue({ t: 'notice', u: userId, id, n: notice });
    try {
      await this.cmd.multi().hset(KEYS.notices(userId), id, JSON.stringify(notice)).pexpire(KEYS.notices(userId), NOTICE_TTL_MS).exec();
    } catch {
      this.enqueue({ t: 'notice', u: userId, id, n: notice });
    }
  }

  async takeNotices(userId: string): Promise<unknown[]> {
    try {
      const r = await this.cmd.multi().hvals(KEYS.notices(userId)).del(KEYS.notices(userId)).exec();
      return ((r?.[0]?.[1] as string[] | undefined) ?? []).map((j) => JSON.parse(j));
    } catch {
      return []; // still there next time
    }
  }

  async ackNotice(userId: string, id: string): Promise<void> {
    await this.cmd.hdel(KEYS.notices(userId), id).catch(() => {});
  }

  onChange(listener: (c: SanctionChange) => void): void {
    this.listeners.push(listener);
  }

  // ---- applying changes ----

  private applyPut(s: Sanction): void {
    if (this.index.put(s)) this.emit({ op: 'put', sanction: s });
  }

  private applyLift(id: string): void {
    const s = this.index.remove(id);
    if (s) this.emit({ op: 'lift', sanction: s });
  }

  private emit(c: SanctionChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'sanction listener failed');
      }
    }
  }

  // ---- outbox ----

  private enqueue(item: OutboxItem): void {
    this.outbox.push(item);
    if (this.o.outboxPath) {
      try {
        mkdirSync(dirname(this.o.outboxPath), { recursive: true });
        appendFileSync(this.o.outboxPath, JSON.stringify(item) + '\n');
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'cannot write the sanction outbox file; keeping it in memory');
      }
    }
    this.log.warn({ queued: this.outbox.length }, 'redis unreachable: sanction write queued');
  }

  /** Write queued items through, in order; stops at the first failure. */
  private async flushOutbox(): Promise<void> {
    while (this.outbox.length && this.cmd.status === 'ready') {
      const item = this.outbox[0]!;
      try {
        if (item.t === 'put') {
          await this.writePut(item.s);
        } else {
          await this.cmd.multi().hset(KEYS.notices(item.u), item.id, JSON.stringify(item.n)).pexpire(KEYS.notices(item.u), NOTICE_TTL_MS).exec();
        }
      } catch {
        return;
      }
      this.outbox.shift();
      if (this.o.outboxPath) writeFileSync(this.o.outboxPath, this.outbox.map((i) => JSON.stringify(i) + '\n').join(''));
    }
    if (!this.outbox.length) this.log.info('sanction outbox written through');
  }

  // ---- reconciling ----

  private kick(why: string): void {
    this.reconcile(why).catch((e: Error) => this.log.warn({ err: e.message, why }, 'reconcile failed; will retry'));
  }

  /**
   * Bring this node's copy up to date: check the epoch (refill an empty Redis from our copy), take
   * the snapshot, then follow the log from where the snapshot was taken.
   */
  private async reconcile(why: string): Promise<void> {
    let epoch = await this.cmd.get(KEYS.epoch);
    if (epoch === null || (this.epoch !== undefined && epoch !== this.epoch)) {
      if (this.epoch !== undefined || this.index.size > 0) {
        this.log.warn({ known: this.epoch, found: epoch }, 'redis came back without our sanction state: refilling it from this node');
        for (const s of [...this.index.all()]) {
          await this.writePut(s, false);
        }
      }
      if (epoch === null) {
        await this.cmd.set(KEYS.epoch, randomUUID(), 'NX');
        epoch = (await this.cmd.get(KEYS.epoch))!;
      }
      this.version = 0;
      this.lastId = '0-0';
    }
    this.epoch = epoch;
    await this.flushOutbox();
    // Snapshot: where the log stands, then the active set. Entries after `lastId` replay idempotently.
    const tail = await this.cmd.xrevrange(KEYS.log, '+', '-', 'COUNT', 1);
    const [version, stored] = await Promise.all([this.cmd.get(KEYS.version), this.cmd.hvals(KEYS.active)]);
    const inRedis = new Set<string>();
    for (const json of stored) {
      const s = JSON.parse(json) as Sanction;
      inRedis.add(s.id);
      this.applyPut(s);
    }
    // What Redis no longer has was lifted (or expired) while we were not looking — unless it is
    // ours and still waiting in the outbox.
    const queued = new Set(this.outbox.flatMap((i) => (i.t === 'put' ? [i.s.id] : [])));
    for (const s of [...this.index.all()]) if (!inRedis.has(s.id) && !queued.has(s.id)) this.applyLift(s.id);
    this.lastId = tail[0]?.[0] ?? '0-0';
    this.version = Number(version ?? 0);
    this.reconciled = true;
    this.log.info({ why, sanctions: this.index.size, version: this.version }, 'sanction state reconciled');
    await this.pull();
  }

  /**
   * A wake-up carries the change itself: the next one in order is applied at once (no round trip);
   * anything else (out of order, unparseable, while pulling) falls back to reading the log.
   */
  private onWake(payload: string): void {
    if (!this.reconciled || this.closed) return;
    if (!this.pulling) {
      try {
        const w = JSON.parse(payload) as { v: number; id: string; op: 'put' | 'lift'; s: Sanction };
        if (w.v === this.version + 1) {
          if (w.op === 'put') this.applyPut(w.s);
          else this.applyLift(w.s.id);
          this.version = w.v;
          this.lastId = w.id;
          return;
        }
        if (w.v <= this.version) return; // already applied
      } catch {
        // fall through to the log
      }
    }
    this.pullSoon();
  }

  private pullSoon(): void {
    if (!this.reconciled || this.closed) return;
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    this.pulling = this.pull()
      .catch(() => {})
      .finally(() => {
        this.pulling = undefined;
        if (this.pullAgain) {
          this.pullAgain = false;
          this.pullSoon();
        }
      });
  }

  /** Apply log entries after `lastId`, in order. A version gap means trimmed history: reconcile. */
  private async pull(): Promise<void> {
    if (this.cmd.status !== 'ready') return;
    if (this.outbox.length) await this.flushOutbox();
    const epoch = await this.cmd.get(KEYS.epoch);
    if (epoch !== this.epoch) return this.reconcile('epoch changed');
    for (;;) {
      const entries = await this.cmd.xrange(KEYS.log, `(${this.lastId}`, '+', 'COUNT', 500);
      for (const [id, fields] of entries) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        const v = Number(f.v);
        if (this.version > 0 && v > this.version + 1) return this.reconcile(`log gap ${this.version}→${v}`);
        const s = JSON.parse(f.s!) as Sanction;
        if (f.op === 'put') this.applyPut(s);
        else this.applyLift(s.id);
        this.lastId = id;
        this.version = Math.max(this.version, v);
      }
      if (entries.length < 500) return;
    }
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    for (const s of this.index.prune(now)) this.emit({ op: 'lift', sanction: s });
    if (this.cmd.status !== 'ready') return;
    try {
      const all = await this.cmd.hgetall(KEYS.active);
      const expired = Object.entries(all)
        .filter(([, j]) => {
          const u = (JSON.parse(j) as Sanction).until;
          return u !== undefined && u <= now;
        })
        .map(([id]) => id);
      if (expired.length) await this.cmd.hdel(KEYS.active, ...expired);
    } catch {
      // next time
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
