/**
 * Live sanction state: what each node enforces on every message without asking anyone.
 *
 * One interface, two real implementations that pass one contract suite
 * (test/gateway/sanction-store.contract.ts): `MemorySanctionStore` (embedded default, one node) and
 * `RedisSanctionStore` (many nodes). Reads on the hot path (`active`, `banFor`) are synchronous
 * lookups in this node's copy; writes return promises.
 *
 * Restrictive writes (`put`) apply to the local copy at once and are never lost; lifting writes
 * (`lift`) take effect only once the shared store has them, so a node cut off from Redis can make
 * enforcement stricter, never weaker.
 */
import type { Feature, History, SanctionKind, StrikeRecord } from '../rules/types.ts';
import type { Notice } from './protocol.ts';
import { Lru } from '../filters/spam/lru.ts';

export type { Feature, SanctionKind };

export interface Actor {
  type: 'user' | 'automation';
  id: string;
  detector?: string;
  score?: number;
}

export interface Sanction {
  id: string;
  userId: string;
  kind: SanctionKind;
  /** For a mute: the one room it applies to (absent = everywhere). */
  room?: string;
  /** For restrict: the features taken away. */
  features?: Feature[];
  /** For ban: also refuse this device id / IP address (ban evasion). */
  device?: string;
  ip?: string;
  /** For stream_kill: the stream. */
  streamId?: string;
  actor: Actor;
  reason: string;
  category?: string;
  /** The policy rule that fired and the policy version (automated or policy-driven actions). */
  policy?: string;
  policyVersion?: string;
  caseId: string;
  /** ms since epoch. */
  start: number;
  /** ms since epoch; absent = permanent. */
  until?: number;
  appealable?: boolean;
  /** The statement of reasons sent to the user (every node delivers it to live connections). */
  notice?: Notice;
}

export type SanctionChange = { op: 'put'; sanction: Sanction } | { op: 'lift'; sanction: Sanction };

/** A recorded violation that did not add a strike (minor-ladder bookkeeping). */
export interface MinorRecord {
  id: string;
  category: string;
  at: number;
}

export interface ViolationCommit {
  userId: string;
  /** The strike the decision adds, if any (idempotent by id). */
  strike: StrikeRecord | null;
  minor: MinorRecord | null;
  /** Lifetime counters the decision bumps (major violations, violations during a live stream). */
  major?: boolean;
  livestream?: boolean;
  /** Sanctions the decision issues (idempotent by id). */
  sanctions: Sanction[];
}

/** Raised by writes that cannot be made safely right now (lifting while the shared store is down). */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface SanctionStore {
  /** Load state (reconcile) before the node reports ready. */
  start(): Promise<void>;
  /** null when the node's copy is current and writes can reach the shared store; else why not. */
  unhealthy(): string | null;

  // ---- hot path: synchronous, local ----
  /** Unexpired sanctions of a user. */
  active(userId: string, now?: number): readonly Sanction[];
  /** An unexpired ban on this device or IP, if any. */
  banFor(device: string | undefined, ip: string | undefined, now?: number): Sanction | undefined;

  // ---- writes ----
  /**
   * Issue a restrictive sanction: local at once, shared as soon as possible. Idempotent by id. A
   * sanction carrying a `notice` also records it as pending for the user, in the same step.
   */
  put(s: Sanction): Promise<void>;
  /** Lift sanctions (all of the user's, or one). Waits for the shared store; returns what was lifted. */
  lift(userId: string, sanctionId?: string): Promise<Sanction[]>;
  /**
   * Strike-and-decide, atomically: `decide` sees the user's history; its commit is applied only if
   * that history is still current (else `decide` runs again on the fresh one).
   */
  recordViolation<T>(userId: string, decide: (h: History) => { result: T; commit: ViolationCommit }): Promise<T>;
  history(userId: string): Promise<History>;

  // ---- notices for users who were offline ----
  pushNotice(userId: string, id: string, notice: unknown): Promise<void>;
  /** Remove and return a user's pending notices. */
  takeNotices(userId: string): Promise<unknown[]>;
  /** Forget a pending notice delivered live. */
  ackNotice(userId: string, id: string): Promise<void>;

  /** Called for every change this node applies, local or from other nodes. */
  onChange(listener: (c: SanctionChange) => void): void;
  close(): Promise<void>;
}

export function isActive(s: Sanction, now: number): boolean {
  return s.start <= now && (s.until === undefined || s.until > now);
}

/** The user's state, indexed for the hot path. Shared by both stores. */
export class SanctionIndex {
  private readonly byUser = new Map<string, Sanction[]>();
  private readonly byId = new Map<string, Sanction>();
  private readonly bans = new Map<string, Sanction>(); // 'd:<device>' / 'i:<ip>' → ban
  /** Ids lifted or expired here: a replayed put (outbox, late wake-up) must not revive them.
   *  The most recent are kept (bounded: see Lru for why not a Map that deletes its oldest). */
  private readonly ended = new Lru<string, true>(ENDED_KEEP);

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Sanction | undefined {
    return this.byId.get(id);
  }

  /** Known now, or ended here (a put of it would be ignored). */
  has(id: string): boolean {
    return this.byId.has(id) || this.ended.peek(id) !== undefined;
  }

  all(): IterableIterator<Sanction> {
    return this.byId.values();
  }

  /** Returns false when the sanction was already there (idempotent). */
  put(s: Sanction): boolean {
    if (this.byId.has(s.id) || this.ended.peek(s.id) !== undefined) return false;
    this.byId.set(s.id, s);
    const list = this.byUser.get(s.userId);
    if (list) list.push(s);
    else this.byUser.set(s.userId, [s]);
    if (s.kind === 'ban') {
      if (s.device) this.bans.set(`d:${s.device}`, s);
      if (s.ip) this.bans.set(`i:${s.ip}`, s);
    }
    return true;
  }

  remove(id: string): Sanction | undefined {
    const s = this.byId.get(id);
    if (!s) return undefined;
    this.byId.delete(id);
    this.ended.set(id, true);
    const list = this.byUser.get(s.userId)?.filter((x) => x.id !== id);
    if (list?.length) this.byUser.set(s.userId, list);
    else this.byUser.delete(s.userId);
    if (s.device && this.bans.get(`d:${s.device}`)?.id === id) this.bans.delete(`d:${s.device}`);
    if (s.ip && this.bans.get(`i:${s.ip}`)?.id === id) this.bans.delete(`i:${s.ip}`);
    return s;
  }

  active(userId: string, now: number): readonly Sanction[] {
    const list = this.byUser.get(userId);
    if (!list) return EMPTY;
    let expired = false;
    for (const s of list) if (!isActive(s, now)) expired = true;
    return expired ? list.filter((s) => isActive(s, now)) : list;
  }

  banFor(device: string | undefined, ip: string | undefined, now: number): Sanction | undefined {
    const d = device !== undefined ? this.bans.get(`d:${device}`) : undefined;
    if (d && isActive(d, now)) return d;
    const i = ip !== undefined ? this.bans.get(`i:${ip}`) : undefined;
    if (i && isActive(i, now)) return i;
    return undefined;
  }

  /** Drop sanctions that ended before `now`; returns them. */
  prune(now: number): Sanction[] {
    const gone: Sanction[] = [];
    for (const s of this.byId.values()) if (s.until !== undefined && s.until <= now) gone.push(s);
    for (const s of gone) this.remove(s.id);
    return gone;
  }

  liftable(userId: string, sanctionId: string | undefined): Sanction[] {
    const list = this.byUser.get(userId) ?? [];
    return sanctionId ? list.filter((s) => s.id === sanctionId) : [...list];
  }
}

const EMPTY: readonly Sanction[] = Object.freeze([]);
/** Ended ids remembered (oldest forgotten first): far more than the lifts of any replay window. */
const ENDED_KEEP = 100_000;

/** Strike history bookkeeping shared by both stores. */
export function historyOf(strikes: StrikeRecord[], minors: MinorRecord[], counts: { major?: number; livestream?: number } = {}): History {
  return {
    strikes,
    minorViolations: minors.map((m) => ({ category: m.category, at: m.at })),
    ...(counts.major !== undefined ? { majorViolations: counts.major } : {}),
    ...(counts.livestream !== undefined ? { livestreamViolations: counts.livestream } : {}),
  };
}

/** In-memory store: the embedded default (single node, nothing survives a restart). */
export class MemorySanctionStore implements SanctionStore {
  private readonly index = new SanctionIndex();
  private readonly strikes = new Map<string, StrikeRecord[]>();
  private readonly minors = new Map<string, MinorRecord[]>();
  private readonly counts = new Map<string, { major: number; livestream: number }>();
  private readonly notices = new Map<string, Map<string, unknown>>();
  private readonly listeners: ((c: SanctionChange) => void)[] = [];

  async start(): Promise<void> {}
  unhealthy(): null {
    return null;
  }

  active(userId: string, now = Date.now()): readonly Sanction[] {
    return this.index.active(userId, now);
  }

  banFor(device: string | undefined, ip: string | undefined, now = Date.now()): Sanction | undefined {
    return this.index.banFor(device, ip, now);
  }

  async put(s: Sanction): Promise<void> {
    if (this.index.has(s.id)) return;
    if (s.notice && s.kind !== 'shadow') await this.pushNotice(s.userId, s.caseId, s.notice);
    if (this.index.put(s)) this.emit({ op: 'put', sanction: s });
  }

  async lift(userId: string, sanctionId?: string): Promise<Sanction[]> {
    const lifted = this.index.liftable(userId, sanctionId);
    for (const s of lifted) {
      this.index.remove(s.id);
      this.emit({ op: 'lift', sanction: s });
    }
    return lifted;
  }

  async recordViolation<T>(userId: string, decide: (h: History) => { result: T; commit: ViolationCommit }): Promise<T> {
    const counts = this.counts.get(userId) ?? { major: 0, livestream: 0 };
    const { result, commit } = decide(historyOf(this.strikes.get(userId) ?? [], this.minors.get(userId) ?? [], counts));
    this.counts.set(userId, { major: counts.major + (commit.major ? 1 : 0), livestream: counts.livestream + (commit.livestream ? 1 : 0) });
    if (commit.strike) {
      const list = (this.strikes.get(userId) ?? []).filter((s) => s.id !== commit.strike!.id);
      list.push(commit.strike);
      this.strikes.set(userId, list);
    }
    if (commit.minor) {
      const list = this.minors.get(userId) ?? [];
      if (!list.some((m) => m.id === commit.minor!.id)) list.push(commit.minor);
      this.minors.set(userId, list);
    }
    for (const s of commit.sanctions) await this.put(s);
    return result;
  }

  async history(userId: string): Promise<History> {
    return historyOf([...(this.strikes.get(userId) ?? [])], [...(this.minors.get(userId) ?? [])], this.counts.get(userId) ?? { major: 0, livestream: 0 });
  }

  async pushNotice(userId: string, id: string, notice: unknown): Promise<void> {
    let m = this.notices.get(userId);
    if (!m) this.notices.set(userId, (m = new Map()));
    m.set(id, notice);
  }

  async takeNotices(userId: string): Promise<unknown[]> {
    const m = this.notices.get(userId);
    this.notices.delete(userId);
    return m ? [...m.values()] : [];
  }

  async ackNotice(userId: string, id: string): Promise<void> {
    this.notices.get(userId)?.delete(id);
  }

  onChange(listener: (c: SanctionChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(c: SanctionChange): void {
    for (const l of this.listeners) l(c);
  }

  async close(): Promise<void> {}
}
