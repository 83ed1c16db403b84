/**
 * The spam filter's vocabulary: its rules, the findings it reports, the coordinated groups it
 * detects, and the counters it keeps for metrics.
 */
import type { Finding } from '../pipeline.ts';

/**
 * Every rule, as it appears in `policy: 'spam:<rule>'` and in `stats.drops`.
 * `rate` and `slow_mode` refuse with their own error codes; the others with `blocked`.
 */
export const SPAM_RULES = [
  'rate',
  'slow_mode',
  'duplicate',
  'near_duplicate',
  'mention_flood',
  'caps_flood',
  'char_flood',
  'link_flood',
  'links_not_allowed',
  'domain_blocked',
  'coordinated',
] as const;
export type SpamRule = (typeof SPAM_RULES)[number];

/** Rules a finding can name: the refusal rules plus the violation that repeated refusals make. */
export type SpamFindingRule = Exclude<SpamRule, 'rate' | 'slow_mode'> | 'repeated_flooding';

/**
 * A Finding with the spam filter's details. `violation: true` marks the findings the caller should
 * turn into a policy violation (rules/ `Violation` with this `category`): `repeated_flooding`
 * (a `spam` minor violation) and `domain_blocked` (the list entry's category, e.g. `fraud_scam`).
 * Every other finding documents a refusal and is not a violation by itself.
 */
export interface SpamFinding extends Finding {
  filter: 'spam';
  rule: SpamFindingRule;
  violation: boolean;
  /** coordinated: the group (content-derived id, the same on every node for the same text). */
  groupId?: string;
  /** coordinated: the member user ids known when this message was refused (capped). */
  members?: string[];
  /** coordinated: `room` (≥ coordRoomUsers in one room) or `global` (≥ coordGlobalUsers anywhere). */
  scope?: 'room' | 'global';
  /** repeated_flooding: refusals counted in the window. */
  refusals?: number;
}

export interface GroupMember {
  userId: string;
  room: string;
  messageId: string;
  at: number;
}

/** A coordinated group, as reported once per node through `onGroup`. */
export interface CoordinatedGroup {
  id: string;
  scope: 'room' | 'global';
  /** For scope `room`. */
  room?: string;
  /** Members at detection, including those whose messages were delivered before it (capped). */
  members: GroupMember[];
  /** Messages of the group that were delivered before it was detected (this node's knowledge). */
  deliveredBeforeDetection: number;
  detectedAt: number;
  detectedBy: string;
}

/** Counters for metrics. Plain numbers, mutated in place: read them, do not write them. */
export interface SpamStats {
  /** Messages checked (both kinds). */
  messages: number;
  /** Messages refused, by rule. */
  drops: Record<SpamRule, number>;
  /** Violation findings emitted (repeated_flooding and domain_blocked). */
  violations: number;
  /** Coordinated groups detected on this node (per scope and id). */
  groups: number;
  /** Group messages delivered before their group was detected (the price of not knowing yet). */
  groupDeliveredBeforeDetection: number;
  /** Exceptions thrown by the caller's hooks (caught). */
  hookErrors: number;
  /** LRU evictions, per structure. */
  evicted: { users: number; slowMode: number; coordination: number };
  /** Entries held now, per structure (gauges; each at most its capacity). */
  tracked: { users: number; slowMode: number; coordination: number };
  cluster: ClusterStats;
}

export interface ClusterStats {
  /** Whether a Redis was given at all. */
  enabled: boolean;
  /** True while the last sync failed (or Redis is not connected): limits are local only. */
  degraded: boolean;
  /** Sync round trips sent to Redis (each is one EVALSHA; the script's first load adds one EVAL). */
  syncs: number;
  /** Syncs that failed or timed out. */
  syncFailures: number;
  /** Syncs not attempted because the connection was not ready. */
  syncSkipped: number;
  /** Messages whose timing reached Redis. */
  messagesSynced: number;
  /** Coordination sightings that reached Redis, counted once per band key they were filed under. */
  sightingsSynced: number;
  /**
   * Messages accepted while degraded: the cluster budget was unavailable and the node's local
   * limiter decided alone (the counted approximation: limited per node, never unlimited).
   */
  localOnly: number;
  /** Messages whose timing never reached Redis (failed or skipped sync, pending cap). */
  unreported: number;
}

/** Live sizes for `evicted` and `tracked` (objects with getters, read when the caller reads). */
export interface StatsSources {
  evicted: SpamStats['evicted'];
  tracked: SpamStats['tracked'];
}

const ZERO_SIZES: StatsSources = {
  evicted: { users: 0, slowMode: 0, coordination: 0 },
  tracked: { users: 0, slowMode: 0, coordination: 0 },
};

/** The counters, created in one literal: a hot object must not change shape later (V8 would
 *  turn it into a slow dictionary, and every `stats.messages++` would pay for it). */
export function createSpamStats(clusterEnabled: boolean, sizes: StatsSources = ZERO_SIZES): SpamStats {
  const drops = {} as Record<SpamRule, number>;
  for (const r of SPAM_RULES) drops[r] = 0;
  return {
    messages: 0,
    drops,
    violations: 0,
    groups: 0,
    groupDeliveredBeforeDetection: 0,
    hookErrors: 0,
    evicted: sizes.evicted,
    tracked: sizes.tracked,
    cluster: {
      enabled: clusterEnabled,
      degraded: false,
      syncs: 0,
      syncFailures: 0,
      syncSkipped: 0,
      messagesSynced: 0,
      sightingsSynced: 0,
      localOnly: 0,
      unreported: 0,
    },
  };
}
