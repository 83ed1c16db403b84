/**
 * The `spam` filter: message rate, slow mode, duplicates, floods, links, coordinated campaigns.
 *
 * Synchronous and O(message length) per message, memory bounded by LRU caps (limits.ts). In the
 * order it checks (cheapest and most common refusals first):
 *
 *  1. slow mode (room `slowModeSec`, exempt users skip)              → `slow_mode` + retryAfterMs
 *  2. per-user rate, GCRA; cluster-wide with Redis (cluster-sync.ts) → `rate_limited` + retryAfterMs
 *  then on the text (a text message, or an image's caption):
 *  3. block-listed domain (everyone, exempt users too: accounts get stolen) → `blocked`, the entry's category
 *  4. exempt users stop here; for the others:
 *     links where the room disallows them, more than `maxLinks` links, mention flood, caps flood,
 *     character flood (runs, zalgo), duplicate / near-duplicate of the user's recent messages,
 *     coordinated campaign                                              → `blocked`, category `spam`
 *
 * A message refused by the rate check does not use up budget; one refused by a content rule
 * does (it was sent). Slow mode is measured from the user's last accepted message in the room.
 *
 * Findings (types.ts `SpamFinding`): every `blocked` refusal carries one (rule, evidence ids,
 * `violation: false`); the caller turns into a policy violation only those flagged
 * `violation: true` — repeated flooding (≥ `violationRefusals` refusals in `violationWindowMs`,
 * slow mode excluded, at most one per `violationCooldownMs`: a `spam` minor violation per
 * POLICY.md) and block-listed domains (the entry's category, e.g. `fraud_scam`). The same
 * findings also reach `onViolation(userId, finding, msg)`, called synchronously.
 */
import type { Redis } from 'ioredis';
import type { ErrorBody, Filter, PipelineMessage, Verdict } from '../pipeline.ts';
import { ClusterSync } from './cluster-sync.ts';
import { Coordination, type CoordHit } from './coordination.ts';
import { classifyHost, DomainList, type BlockCategory, type DomainEntry, type DomainListApi } from './domain-list.ts';
import { Fingerprinter, SIG_BINS, similarityAtLeastAt } from './fingerprint.ts';
import { gcraParams, gcraTake, type GcraParams } from './gcra.ts';
import { resolveCapacity, resolveLimits, type SpamCapacity, type SpamLimits } from './limits.ts';
import { extractLinks, type LinkMatch } from './links.ts';
import { ItemLru, Lru, type LruItem } from './lru.ts';
import { analyzeShape, emptyShape } from './text-shape.ts';
import { createSpamStats, type CoordinatedGroup, type SpamFinding, type SpamFindingRule, type SpamRule, type SpamStats } from './types.ts';

/** The room settings the filter reads (PROTOCOL.md `room:settings`). */
export interface RoomSpamSettings {
  slowModeSec: number;
  linksAllowed: boolean;
}

export interface SpamFilterOptions {
  /** Shared state for the cluster budget and coordination. Absent: purely local. The caller owns
   *  the connection (use `enableOfflineQueue: false` and a `commandTimeout`, DESIGN.md). */
  redis?: Redis | undefined;
  /** This node's id (in group reports). */
  nodeId: string;
  /** Called per message; undefined = defaults (no slow mode, links allowed). Must be cheap. */
  roomSettings: (room: string) => RoomSpamSettings | undefined;
  /** Moderators and room owners: skip slow mode and the content rules except block-listed
   *  domains; get `exemptMultiplier` × the rate. Called per message; must be cheap. */
  isExempt?: ((userId: string, room: string) => boolean) | undefined;
  limits?: Partial<SpamLimits> | undefined;
  capacity?: Partial<SpamCapacity> | undefined;
  /** Wall clock in ms (Date.now): nodes compare times through Redis. Tests inject their own. */
  now?: (() => number) | undefined;
  /** Called synchronously for each finding flagged `violation: true`. Exceptions are caught and counted. */
  onViolation?: ((userId: string, finding: SpamFinding, msg: PipelineMessage) => void) | undefined;
  /** Called once per node when a coordinated group is detected. Exceptions are caught and counted. */
  onGroup?: ((group: CoordinatedGroup) => void) | undefined;
  /** Initial domain lists (the lists stay editable through `domains`). */
  domains?: { allow?: readonly string[]; block?: readonly (string | DomainEntry)[] } | undefined;
  /** Redis key prefix (default `modgate:spam:`). */
  keyPrefix?: string | undefined;
  /** Findings only, verdicts forced to pass by the pipeline (trying new limits on live traffic). */
  shadow?: boolean | undefined;
}

export interface SpamFilter {
  /** The pipeline filter (`name: 'spam'`, kinds text and image). */
  readonly filter: Filter;
  /** Run-time managed lists; the block list's default category is `spam`. */
  readonly domains: { readonly allow: DomainListApi; readonly block: DomainListApi };
  /** Live counters (read-only for the caller). */
  readonly stats: Readonly<SpamStats>;
  readonly limits: Readonly<SpamLimits>;
  /** Ships pending cluster state now and applies the answer (tests, shutdown). Never rejects. */
  sync(): Promise<void>;
  /** Stops the sync timers. The Redis connection is the caller's to close. */
  close(): void;
}

/** Separates room and user in slow-mode keys; room ids never contain it (PROTOCOL.md room id pattern). */
const SEP = '\x1f';
const DEFAULT_KEY_PREFIX = 'modgate:spam:';
/** Synchronous filter: this is the budget it states, not a timer (the pipeline never waits on it). */
const TIMEOUT_MS = 2;

const PASS: Verdict = Object.freeze({ action: 'pass' }) as Verdict;
/** First bin of a history item without a signature (bins are never negative). */
const NO_SIG = -1;
const NO_LINKS: readonly LinkMatch[] = Object.freeze([]);

/** What the sender reads; clients match on `code` and `policy`, never on this text. */
const RULE_MESSAGES: Readonly<Record<SpamRule, string>> = {
  rate: 'you are sending messages too fast',
  slow_mode: 'slow mode is on in this room',
  duplicate: 'you already sent this message',
  near_duplicate: 'you already sent a very similar message',
  mention_flood: 'too many mentions in one message',
  caps_flood: 'too many capital letters',
  char_flood: 'too many repeated characters',
  link_flood: 'too many links in one message',
  links_not_allowed: 'links are not allowed in this room',
  domain_blocked: 'this link is not allowed',
  coordinated: 'this message matches a spam campaign',
};

/** Everything the filter remembers about one user (one LRU entry). */
class UserState implements LruItem {
  lruUsed = false;
  /** GCRA theoretical arrival time (ms), merged with the cluster's. */
  tat = 0;
  /** Accepted messages not yet reported to Redis: time, interval, ... */
  pending: number[] | undefined = undefined;
  /**
   * Recent accepted texts, a ring of `duplicateHistory` items kept in a few flat arrays (item i:
   * `historyMeta[2i]` exact hash, `[2i + 1]` time; `historySig[i × SIG_BINS ...]` its signature,
   * or NO_SIG in its first bin; `historyIds[i]` its message id), so that recording a message
   * writes a few contiguous cache lines rather than an object and an array of its own. Items
   * are filled in order up to the ring size, then overwritten from `historyNext`.
   */
  historyLength = 0;
  historyNext = 0;
  historyMeta: number[] | undefined = undefined;
  historySig: number[] | undefined = undefined;
  historyIds: string[] | undefined = undefined;
  /** Latest time ever written to the history: when it is out of the window, every item is, and
   *  the duplicate check needs to look at none of them (most users, most of the time). */
  historyNewest = -Infinity;
  refusals = 0;
  refusalsSince = 0;
  lastViolationAt = -Infinity;
  constructor(readonly id: string) {}
}

export function createSpamFilter(opts: SpamFilterOptions): SpamFilter {
  if (typeof opts.nodeId !== 'string' || opts.nodeId.length === 0) throw new TypeError('invalid spam filter options: nodeId: must be a non-empty string');
  if (typeof opts.roomSettings !== 'function') throw new TypeError('invalid spam filter options: roomSettings: must be a function');
  const limits = resolveLimits(opts.limits);
  const capacity = resolveCapacity(opts.capacity, limits);
  const now = opts.now ?? Date.now;
  const { roomSettings, isExempt, onViolation, onGroup, nodeId } = opts;

  const userParams: GcraParams = gcraParams(limits.userBurst, limits.userPerSec);
  const exemptParams: GcraParams = gcraParams(Math.round(limits.userBurst * limits.exemptMultiplier), limits.userPerSec * limits.exemptMultiplier);
  const sigMinChars = Math.min(limits.nearDuplicateMinChars, limits.coordMinChars);

  const users = new ItemLru<string, UserState>(capacity.users);
  const slow = new Lru<string, number>(capacity.slowMode);
  const coordination = new Coordination(limits, capacity, opts.redis !== undefined);
  const allow = new DomainList(undefined, capacity.domains);
  const block = new DomainList('spam', capacity.domains);
  for (const d of opts.domains?.allow ?? []) if (!allow.add(d)) throw new TypeError(`invalid spam filter options: domains.allow: not a domain: ${d}`);
  for (const d of opts.domains?.block ?? []) {
    const ok = typeof d === 'string' ? block.add(d) : block.add(d.domain, d.category);
    if (!ok) throw new TypeError(`invalid spam filter options: domains.block: not a domain: ${typeof d === 'string' ? d : d.domain}`);
  }

  const stats = createSpamStats(opts.redis !== undefined, {
    evicted: Object.freeze({
      get users() {
        return users.evicted;
      },
      get slowMode() {
        return slow.evicted;
      },
      get coordination() {
        return coordination.evicted;
      },
    }),
    tracked: Object.freeze({
      get users() {
        return users.size;
      },
      get slowMode() {
        return slow.size;
      },
      get coordination() {
        return coordination.size;
      },
    }),
  });
  const cluster = opts.redis
    ? new ClusterSync(opts.redis, { keyPrefix: opts.keyPrefix ?? DEFAULT_KEY_PREFIX, limits, capacity, now, stats: stats.cluster, coordination })
    : undefined;

  const fp = new Fingerprinter();
  const shape = emptyShape();

  const hook = <A extends unknown[]>(fn: ((...a: A) => void) | undefined, ...args: A) => {
    if (!fn) return;
    try {
      fn(...args);
    } catch {
      stats.hookErrors++;
    }
  };

  /** Counts a refusal towards repeated flooding; returns the violation finding when it is one. */
  const refuse = (user: UserState, msg: PipelineMessage, t: number): SpamFinding | undefined => {
    if (t - user.refusalsSince > limits.violationWindowMs) {
      user.refusalsSince = t;
      user.refusals = 0;
    }
    user.refusals++;
    if (user.refusals < limits.violationRefusals || t - user.lastViolationAt < limits.violationCooldownMs) return undefined;
    const finding: SpamFinding = {
      filter: 'spam',
      category: 'spam',
      severity: 'low',
      score: 1,
      evidence: [`msg:${msg.id}`],
      rule: 'repeated_flooding',
      violation: true,
      refusals: user.refusals,
    };
    user.lastViolationAt = t;
    user.refusals = 0;
    user.refusalsSince = t;
    stats.violations++;
    hook(onViolation, user.id, finding, msg);
    return finding;
  };

  /** Optional parts of a refusal's finding. */
  interface Detail {
    score?: number;
    /** Added after `msg:<id>` of this message. */
    evidence?: readonly string[];
    /** Used as is (shared and frozen: a raid refuses many messages against one list). */
    sharedEvidence?: readonly string[];
    groupId?: string;
    scope?: 'room' | 'global';
    members?: readonly string[];
  }

  const blocked = (msg: PipelineMessage, user: UserState, t: number, rule: SpamFindingRule & SpamRule, category: BlockCategory, detail?: Detail): Verdict => {
    stats.drops[rule]++;
    const violation = rule === 'domain_blocked';
    const own = `msg:${msg.id}`;
    const finding: SpamFinding = {
      filter: 'spam',
      category,
      severity: category === 'fraud_scam' ? 'critical' : rule === 'coordinated' ? 'medium' : 'low',
      score: detail?.score ?? 1,
      evidence: (detail?.sharedEvidence as string[] | undefined) ?? (detail?.evidence ? [own].concat(detail.evidence) : [own]),
      rule,
      violation,
    };
    if (detail?.groupId !== undefined) {
      finding.groupId = detail.groupId;
      finding.scope = detail.scope!;
      finding.members = detail.members as string[];
    }
    if (violation) {
      stats.violations++;
      hook(onViolation, user.id, finding, msg);
    }
    const extra = refuse(user, msg, t);
    const error: ErrorBody = { code: 'blocked', message: RULE_MESSAGES[rule], category, policy: `spam:${rule}` };
    return { action: 'drop', error, findings: extra ? [finding, extra] : [finding] };
  };

  const coordinated = (msg: PipelineMessage, user: UserState, t: number, hit: CoordHit): Verdict => {
    const group = hit.entry.group!;
    const { members, ids, evidence } = coordination.members(hit.entry);
    if (hit.first) {
      stats.groups++;
      let earlier = 0;
      for (const m of members) if (m.userId !== msg.userId) earlier++;
      stats.groupDeliveredBeforeDetection += earlier;
      const report: CoordinatedGroup = {
        id: group.id,
        scope: group.scope,
        ...(group.room !== undefined ? { room: group.room } : {}),
        members: [...members],
        deliveredBeforeDetection: earlier,
        detectedAt: t,
        detectedBy: nodeId,
      };
      hook(onGroup, report);
    }
    return blocked(msg, user, t, 'coordinated', 'spam', {
      groupId: group.id,
      scope: group.scope,
      members: ids,
      score: Math.min(1, hit.count / (group.scope === 'room' ? limits.coordRoomUsers : limits.coordGlobalUsers)),
      sharedEvidence: evidence,
    });
  };

  /** The content rules; undefined = pass. */
  const content = (msg: PipelineMessage, text: string, user: UserState, settings: RoomSpamSettings | undefined, exempt: boolean, t: number): Verdict | undefined => {
    const s = analyzeShape(text, shape);
    const links = s.maybeLink ? extractLinks(text) : NO_LINKS;
    let linkCount = 0;
    for (let i = 0; i < links.length; i++) {
      const l = links[i]!;
      const v = classifyHost(allow, block, l.host);
      if (v?.kind === 'block') {
        return blocked(msg, user, t, 'domain_blocked', v.entry.category ?? 'spam', { evidence: [`domain:${v.entry.domain}`] });
      }
      if (v === undefined && l.kind !== 'email') linkCount++;
    }
    if (exempt) return undefined;
    if (linkCount > 0 && settings !== undefined && !settings.linksAllowed) return blocked(msg, user, t, 'links_not_allowed', 'spam');
    if (linkCount > limits.maxLinks) return blocked(msg, user, t, 'link_flood', 'spam');
    if (s.mentions > limits.maxMentions) return blocked(msg, user, t, 'mention_flood', 'spam');
    if (s.cased >= limits.capsMinLetters && s.upper > limits.capsMaxRatio * s.cased) return blocked(msg, user, t, 'caps_flood', 'spam');
    if (s.maxRun > limits.maxCharRun || s.maxCombining > limits.maxCombiningRun) return blocked(msg, user, t, 'char_flood', 'spam');

    fp.compute(text, sigMinChars);
    const nearOk = fp.hasSig && fp.length >= limits.nearDuplicateMinChars;
    const since = t - limits.duplicateWindowMs;
    const meta = user.historyMeta;
    if (meta !== undefined && user.historyNewest >= since) {
      const sigs = user.historySig!;
      let near = -1;
      let nearScore = 0;
      for (let i = 0; i < user.historyLength; i++) {
        if (meta[2 * i + 1]! < since) continue;
        if (meta[2 * i] === fp.exact) return blocked(msg, user, t, 'duplicate', 'spam', { evidence: [`msg:${user.historyIds![i]}`] });
        if (nearOk && near < 0 && sigs[i * SIG_BINS] !== NO_SIG) {
          const sim = similarityAtLeastAt(sigs, i * SIG_BINS, fp.sig, limits.nearDuplicateJaccard);
          if (sim >= 0) {
            near = i;
            nearScore = sim;
          }
        }
      }
      if (near >= 0) return blocked(msg, user, t, 'near_duplicate', 'spam', { score: nearScore, evidence: [`msg:${user.historyIds![near]}`] });
    }
    if (fp.hasSig && fp.length >= limits.coordMinChars) {
      const hit = coordination.observe(fp.sig, user.id, msg.room, msg.id, t);
      if (hit) return coordinated(msg, user, t, hit);
    }
    if (t > user.historyNewest) user.historyNewest = t;
    if (user.historyLength < limits.duplicateHistory) {
      // Filling: the arrays grow with the user's messages (a user who writes once stays small).
      if (meta === undefined) {
        user.historyMeta = [fp.exact, t];
        user.historySig = [];
        user.historyIds = [msg.id];
      } else {
        meta.push(fp.exact, t);
        user.historyIds!.push(msg.id);
      }
      const sigs = user.historySig!;
      if (nearOk) for (let k = 0; k < SIG_BINS; k++) sigs.push(fp.sig[k]!);
      else for (let k = 0; k < SIG_BINS; k++) sigs.push(k === 0 ? NO_SIG : 0);
      user.historyLength++;
    } else {
      // Full ring: overwrite the oldest in place (no allocation once a user is warm).
      const i = user.historyNext;
      user.historyNext = (i + 1) % limits.duplicateHistory;
      meta![2 * i] = fp.exact;
      meta![2 * i + 1] = t;
      user.historyIds![i] = msg.id;
      const sigs = user.historySig!;
      const o = i * SIG_BINS;
      if (nearOk) for (let k = 0; k < SIG_BINS; k++) sigs[o + k] = fp.sig[k]!;
      else sigs[o] = NO_SIG;
    }
    return undefined;
  };

  const filter: Filter = {
    name: 'spam',
    kinds: ['text', 'image'],
    timeoutMs: TIMEOUT_MS,
    // A throw here is a bug, not a dependency failure (Redis is never awaited): chat keeps flowing,
    // and the pipeline counts the error (filter_outcome_total{filter="spam",outcome="error"}).
    onFailure: 'pass',
    ...(opts.shadow ? { shadow: true } : {}),
    check(msg: PipelineMessage): Verdict {
      const t = now();
      stats.messages++;
      const settings = roomSettings(msg.room);
      const exempt = isExempt !== undefined && isExempt(msg.userId, msg.room);
      let slowKey: string | undefined;
      if (!exempt && settings !== undefined && settings.slowModeSec > 0) {
        slowKey = msg.room + SEP + msg.userId;
        const last = slow.get(slowKey);
        if (last !== undefined) {
          const wait = last + settings.slowModeSec * 1000 - t;
          if (wait > 0) {
            stats.drops.slow_mode++;
            return { action: 'drop', error: { code: 'slow_mode', message: RULE_MESSAGES.slow_mode, retryAfterMs: Math.ceil(wait), slowModeSec: settings.slowModeSec } };
          }
        }
      }
      let user = users.get(msg.userId);
      if (user === undefined) {
        user = new UserState(msg.userId);
        users.add(msg.userId, user);
      }
      const params = exempt ? exemptParams : userParams;
      const wait = gcraTake(user, t, params);
      if (wait > 0) {
        stats.drops.rate++;
        const v = refuse(user, msg, t);
        const error: ErrorBody = { code: 'rate_limited', message: RULE_MESSAGES.rate, retryAfterMs: Math.ceil(wait) };
        return v ? { action: 'drop', error, findings: [v] } : { action: 'drop', error };
      }
      cluster?.record(user, t, params.intervalMs);
      const text = msg.text;
      if (text !== undefined && text.length > 0) {
        const v = content(msg, text, user, settings, exempt, t);
        if (v !== undefined) return v;
      }
      if (slowKey !== undefined) slow.set(slowKey, t);
      return PASS;
    },
  };

  return {
    filter: Object.freeze(filter),
    domains: Object.freeze({ allow, block }),
    stats,
    limits,
    sync: () => cluster?.flush() ?? Promise.resolve(),
    close: () => cluster?.close(),
  };
}
