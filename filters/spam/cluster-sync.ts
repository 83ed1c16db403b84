/**
 * The cluster-wide part of the spam filter: per-user rate budgets and coordination sightings
 * shared through Redis without a Redis call per message.
 *
 * Why not lease chunks of a user's budget: a user's budget is 5 messages, so a lease could never
 * cover the ≥ 50 messages per Redis round trip we allow ourselves. Instead every node enforces
 * each user's GCRA locally (the hot path never waits for anything) and reconciles in batches:
 *
 * - each accepted message appends (time, interval) to its user's pending list;
 * - when `syncBatch` messages are pending (or `syncIntervalMs` after the first one), one EVALSHA
 *   ships all of them — every user, every coordination sighting — to a Lua script that replays
 *   them onto the cluster's GCRA state (the same arithmetic as gcraTake: tat = max(tat, t) + T)
 *   and returns each user's cluster `tat`;
 * - the node takes the later of its own tat and the cluster's (plus what it accepted since the
 *   batch left), so a user who is busy on other nodes is limited here too from then on.
 *
 * Cost: one round trip per ≥ 64 messages under load, at most 4 per second when quiet; inside the
 * script, a constant 8 commands per sync (HMGET×2, HSET, PEXPIRE for rates and for sightings),
 * because state lives in per-generation hashes instead of per-user keys.
 *
 * Accuracy: a user spread over N nodes can get ahead by at most (N - 1) × (burst + rate × sync
 * interval) before the merge; the cluster tat then makes them pay it back (they wait longer).
 * Over any longer window the cluster rate holds.
 *
 * Failure (DESIGN.md: "spam/rate limits when Redis is down: local approximation, never
 * unlimited"): a sync that fails, times out, or finds the connection not ready marks the node
 * `degraded`; every node keeps enforcing each user's full limit locally — a user on one node (the
 * usual case: one connection) sees no difference, a user spread over N nodes gets at most N×
 * while it lasts. Messages accepted meanwhile are counted (`stats.cluster.localOnly`), their
 * timing is not replayed later (`unreported`: a stale replay would punish users for the outage),
 * and the next successful sync — e.g. after Redis restarts empty — resumes the cluster budget.
 * Why not "assume 1/N of the cluster": per-user traffic normally sits on one node, so dividing
 * would cut every honest user's limit N-fold during an outage to stop a rare multi-node spammer.
 */
import type { Redis } from 'ioredis';
import { gcraReplay } from './gcra.ts';
import type { Coordination, Shipment } from './coordination.ts';
import type { SpamCapacity, SpamLimits } from './limits.ts';
import type { ClusterStats } from './types.ts';

/**
 * Rate state lives in one hash per minute (`tat:<minute>`), read from the current and previous
 * one: a cluster tat is remembered for 1-2 minutes after its last update. A user whose debt
 * reaches further than that (needs > 30 messages over the limit at the default rate) is forgiven
 * the rest — the local tat still applies.
 */
export const TAT_GENERATION_MS = 60_000;
/** While degraded, retry at most once a second (a sync attempt on a down Redis costs nothing, but
 *  the error path logs and counts). */
export const DEGRADED_RETRY_MS = 1000;
/** Users per sync: keeps the script's HMGET/HSET under Lua's 8000-argument unpack limit. The
 *  rest stay pending and go in the next sync, started at once. */
export const MAX_SYNC_USERS = 2000;
/** Coordination fields (band keys) per sync: keeps the script's HSET (2 arguments per field)
 *  under Lua's 8000-argument unpack limit. */
export const MAX_SYNC_FIELDS = 3000;

const SCRIPT_NAME = 'modgateSpamSync';

/**
 * KEYS: tat:<gen>, tat:<gen-1>, co:<gen>, co:<gen-1>
 * ARGV: now, tatTtlMs, coordWindowMs, coTtlMs, maxMembers,
 *       nUsers, { userId, nPairs, t1, T1, ..., tn, Tn } × nUsers,
 *       nKeys, { field, nSightings, { userId, at, room, msgId } × nSightings } × nKeys
 * Returns: nUsers cluster tats (strings, ms), then nKeys member maps (JSON { userId: [at, room, msgId] }).
 * User ids and fields must be distinct within one call: the script reads everything before it
 * writes (ClusterSync and Coordination.takeUnsynced guarantee it).
 */
export const SYNC_LUA = `
local now = tonumber(ARGV[1])
local tatTtl = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local coTtl = tonumber(ARGV[4])
local maxMembers = tonumber(ARGV[5])
local nUsers = tonumber(ARGV[6])
local i = 7
local out = {}
if nUsers > 0 then
  local ids, starts, counts = {}, {}, {}
  for u = 1, nUsers do
    ids[u] = ARGV[i]
    counts[u] = tonumber(ARGV[i + 1])
    starts[u] = i + 2
    i = i + 2 + 2 * counts[u]
  end
  local cur = redis.call('HMGET', KEYS[1], unpack(ids))
  local prev = redis.call('HMGET', KEYS[2], unpack(ids))
  local hset = {}
  for u = 1, nUsers do
    local v = cur[u]
    if not v then v = prev[u] end
    local tat = 0
    if v then tat = tonumber(v) or 0 end
    local p = starts[u]
    for k = 0, counts[u] - 1 do
      local t = tonumber(ARGV[p + 2 * k])
      if tat < t then tat = t end
      tat = tat + tonumber(ARGV[p + 2 * k + 1])
    end
    local s = string.format('%.3f', tat)
    hset[#hset + 1] = ids[u]
    hset[#hset + 1] = s
    out[u] = s
  end
  redis.call('HSET', KEYS[1], unpack(hset))
  redis.call('PEXPIRE', KEYS[1], tatTtl)
end
local nKeys = tonumber(ARGV[i])
i = i + 1
if nKeys > 0 then
  local fields, starts, counts = {}, {}, {}
  for k = 1, nKeys do
    fields[k] = ARGV[i]
    counts[k] = tonumber(ARGV[i + 1])
    starts[k] = i + 2
    i = i + 2 + 4 * counts[k]
  end
  local cur = redis.call('HMGET', KEYS[3], unpack(fields))
  local prev = redis.call('HMGET', KEYS[4], unpack(fields))
  local cutoff = now - window
  local hset = {}
  for k = 1, nKeys do
    local members = {}
    local n = 0
    local function put(uid, at, room, msg)
      local m = members[uid]
      if not m then
        n = n + 1
        members[uid] = {at, room, msg}
      elseif m[1] < at then
        members[uid] = {at, room, msg}
      end
    end
    for _, v in ipairs({prev[k] or '', cur[k] or ''}) do
      if v ~= '' then
        local ok, obj = pcall(cjson.decode, v)
        if ok and type(obj) == 'table' then
          for uid, s in pairs(obj) do
            local at = tonumber(s[1])
            if at and at >= cutoff then put(uid, at, s[2], s[3]) end
          end
        end
      end
    end
    local p = starts[k]
    for q = 0, counts[k] - 1 do
      put(ARGV[p + 4 * q], tonumber(ARGV[p + 4 * q + 1]), ARGV[p + 4 * q + 2], ARGV[p + 4 * q + 3])
    end
    if n > maxMembers then
      local list = {}
      for uid, m in pairs(members) do list[#list + 1] = {uid, m} end
      table.sort(list, function(a, b) return a[2][1] > b[2][1] end)
      members = {}
      for x = 1, maxMembers do members[list[x][1]] = list[x][2] end
    end
    local enc = cjson.encode(members)
    hset[#hset + 1] = fields[k]
    hset[#hset + 1] = enc
    out[nUsers + k] = enc
  end
  redis.call('HSET', KEYS[3], unpack(hset))
  redis.call('PEXPIRE', KEYS[3], coTtl)
end
return out
`;

/** The per-user record the sync reads and updates (the filter's user state). */
export interface SyncUser {
  readonly id: string;
  tat: number;
  /** Accepted messages not yet shipped, flat: time, interval, time, interval, ... */
  pending: number[] | undefined;
}

type SyncRedis = Redis & { [SCRIPT_NAME](...args: (string | number)[]): Promise<unknown> };

export interface ClusterSyncOptions {
  keyPrefix: string;
  limits: Readonly<SpamLimits>;
  capacity: Readonly<SpamCapacity>;
  now: () => number;
  stats: ClusterStats;
  coordination: Coordination;
}

export class ClusterSync {
  private readonly users = new Set<SyncUser>();
  private pendingMessages = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inflight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly o: ClusterSyncOptions,
  ) {
    if (typeof (redis as unknown as Record<string, unknown>)[SCRIPT_NAME] !== 'function') {
      redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 4, lua: SYNC_LUA });
    }
  }

  /** Hot path: one accepted message of `user` at `at`, costing `intervalMs` of its budget. */
  record(user: SyncUser, at: number, intervalMs: number): void {
    const st = this.o.stats;
    if (st.degraded) st.localOnly++;
    if (this.pendingMessages >= this.o.capacity.pendingMessages) {
      st.unreported++;
      return;
    }
    if (user.pending === undefined) {
      user.pending = [at, intervalMs];
      this.users.add(user);
    } else {
      user.pending.push(at, intervalMs);
    }
    this.pendingMessages++;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.inflight) return; // a finishing sync reschedules
    if (this.pendingMessages >= this.o.limits.syncBatch && !this.o.stats.degraded) {
      if (this.immediate === undefined) {
        // After the current I/O callbacks: the message that fills the batch does not pay for it.
        this.immediate = setImmediate(() => {
          this.immediate = undefined;
          void this.sync();
        });
        this.immediate.unref();
      }
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          void this.sync();
        },
        this.o.stats.degraded ? DEGRADED_RETRY_MS : this.o.limits.syncIntervalMs,
      );
      this.timer.unref();
    }
  }

  /** Ships everything pending (as many syncs as it takes) and applies the answers. Never rejects. */
  async flush(): Promise<void> {
    // Each sync takes up to MAX_SYNC_USERS users off the pending set, or drops them: this ends.
    do await this.sync();
    while (this.pendingMessages > 0 && !this.closed);
  }

  /** One sync: ships up to MAX_SYNC_USERS users' pending messages and applies the answer. Never rejects. */
  async sync(): Promise<void> {
    while (this.inflight) await this.inflight;
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.pendingMessages === 0) {
      // Sightings always come with a message; nothing pending means nothing to ship.
      return;
    }
    const st = this.o.stats;
    const r = this.redis as unknown as SyncRedis;
    if (r.status !== 'ready') {
      if (r.status === 'wait') r.connect().catch(() => {});
      st.syncSkipped++;
      this.discard();
      st.degraded = true;
      return;
    }
    const now = this.o.now();
    const users: SyncUser[] = [];
    for (const u of this.users) {
      if (users.length >= MAX_SYNC_USERS) break;
      users.push(u);
      this.users.delete(u);
    }
    const { limits, capacity } = this.o;
    const args: (string | number)[] = [now, 2 * TAT_GENERATION_MS, limits.coordWindowMs, 2 * limits.coordWindowMs, capacity.groupMembers, users.length];
    let messages = 0;
    for (const u of users) {
      const p = u.pending ?? [];
      u.pending = undefined;
      messages += p.length / 2;
      args.push(u.id, p.length / 2);
      for (const x of p) args.push(x);
    }
    this.pendingMessages -= messages;
    const co = this.o.coordination.takeUnsynced(MAX_SYNC_FIELDS);
    let sightings = 0;
    args.push(co.length);
    for (const c of co) {
      args.push(c.field, c.sightings.length / 4);
      for (const x of c.sightings) args.push(x);
      sightings += c.sightings.length / 4;
    }
    const p = this.o.keyPrefix;
    const tatGen = Math.floor(now / TAT_GENERATION_MS);
    const coGen = Math.floor(now / limits.coordWindowMs);
    const keys = [`${p}tat:${tatGen}`, `${p}tat:${tatGen - 1}`, `${p}co:${coGen}`, `${p}co:${coGen - 1}`];
    st.syncs++;
    this.inflight = this.exchange(r, keys, args, users, co, messages, sightings).finally(() => {
      this.inflight = undefined;
      if (this.pendingMessages > 0) this.schedule();
    });
    return this.inflight;
  }

  private async exchange(r: SyncRedis, keys: string[], args: (string | number)[], users: SyncUser[], co: Shipment[], messages: number, sightings: number): Promise<void> {
    const st = this.o.stats;
    try {
      const reply = await withTimeout(r[SCRIPT_NAME](...keys, ...args), this.o.limits.syncTimeoutMs);
      if (!Array.isArray(reply)) throw new Error('unexpected sync reply');
      const now = this.o.now();
      for (let i = 0; i < users.length; i++) {
        const cluster = Number(reply[i]);
        if (!Number.isFinite(cluster)) continue;
        const u = users[i]!;
        // The cluster's tat includes this batch; replay what this node accepted since it left.
        const tat = gcraReplay(cluster, u.pending ?? []);
        if (tat > u.tat) u.tat = tat;
      }
      for (let j = 0; j < co.length; j++) {
        const json = reply[users.length + j];
        if (typeof json === 'string') co[j]!.merge(json, now);
      }
      st.messagesSynced += messages;
      st.sightingsSynced += sightings;
      st.degraded = false;
    } catch {
      st.syncFailures++;
      st.unreported += messages;
      st.degraded = true;
    }
  }

  /** Forgets what is pending (Redis unavailable): counted, never replayed late. */
  private discard(): void {
    for (const u of this.users) u.pending = undefined;
    this.users.clear();
    this.o.stats.unreported += this.pendingMessages;
    this.pendingMessages = 0;
    this.o.coordination.discardUnsynced();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.users.clear();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  p.catch(() => {}); // a late failure after the timeout must not become an unhandled rejection
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sync timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
