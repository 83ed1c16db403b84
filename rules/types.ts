/**
 * The vocabulary of `rules/`: what a violation is, what a user's history holds, and the Decision
 * that `decide()` returns. Types only — no imports from gateway/ (DESIGN.md: imports run one way),
 * so the notice shape is restated here; it is the PROTOCOL.md notice minus what only the caller
 * knows (`caseId`, and `until`, which is `at + durationSec`).
 */

/** Severity tiers of POLICY.md "Categories and severity tiers". */
export const TIERS = ['minor', 'moderate', 'severe', 'critical'] as const;
export type Tier = (typeof TIERS)[number];

/** Account and stream sanctions (PROTOCOL.md `user:sanction` actions plus the livestream ones). */
export const SANCTION_KINDS = ['warn', 'mute', 'restrict', 'suspend', 'ban', 'shadow', 'stream_kill', 'stream_suspend'] as const;
export type SanctionKind = (typeof SANCTION_KINDS)[number];

/** Features a `restrict` can take away (PROTOCOL.md `user:sanction` `features`). */
export const FEATURES = ['chat', 'dm', 'livestream', 'upload', 'report'] as const;
export type Feature = (typeof FEATURES)[number];

/** PROTOCOL.md notice `action` values. */
export const NOTICE_ACTIONS = ['warn', 'remove', 'mute', 'restrict', 'suspend', 'ban', 'stream_kill', 'stream_suspend', 'support'] as const;
export type NoticeAction = (typeof NOTICE_ACTIONS)[number];

/** Review queue priorities (POLICY.md "Due process": critical 2 h, high 24 h, standard 48–72 h). */
export const REVIEW_PRIORITIES = ['critical', 'high', 'standard'] as const;
export type ReviewPriority = (typeof REVIEW_PRIORITIES)[number];

export interface Violation {
  userId: string;
  /** A category id or alias of the policy (see `isKnownCategory`). */
  category: string;
  /** When it happened, ms since the epoch. decide() has no clock: this is "now". */
  at: number;
  room?: string;
  /** Set when the violation is a chat message: the policy's `messaging` table applies. */
  messageId?: string;
  /** During the user's own live stream: the `livestream` ladder applies too. */
  live?: boolean;
  source: 'automation' | 'moderator';
  detector?: string;
  score?: number;
  evidence?: string[];
  /** The detector saw a repeat (e.g. repeated flooding): the category's `repeat` target applies. */
  repeat?: boolean;
}

export interface StrikeRecord {
  id: string;
  category: string;
  tier: Tier;
  at: number;
  expiresAt: number;
}

/** What the store knows about the user before this violation. */
export interface History {
  /** May include expired strikes: decide() ignores those with `expiresAt <= violation.at`. */
  strikes: StrikeRecord[];
  /** Minor violations; decide() counts those inside the policy's `minor.window`. */
  minorViolations: { category: string; at: number }[];
  /** Lifetime count of major violations (tiers in `strikes.majorTiers`). Absent: counted from `strikes`. */
  majorViolations?: number;
  /** Lifetime count of violations during the user's live streams. */
  livestreamViolations?: number;
}

export interface ActionSpec {
  kind: SanctionKind;
  /** Absent = permanent (for `suspend` of an under-age account: until lifted after verification). */
  durationSec?: number;
  features?: Feature[];
  /** `room`: only in `violation.room` (a room mute). Absent = global. */
  scope?: 'global' | 'room';
  /** Also ban the device id of the token (`device` claim). */
  device?: boolean;
  /** Also block the IP address. */
  ip?: boolean;
}

export interface DecisionNotice {
  action: NoticeAction;
  category: string;
  reason: string;
  /** The guideline applied, with the rule path and policy version. */
  policy: string;
  durationSec?: number;
  /** Active strikes including the one this violation adds (only when it adds one). */
  strikes?: number;
  appealable: boolean;
  /** The appeal URL template with `{category}` filled; `{caseId}` is left for the caller (see `toNotice`). */
  appealUrl?: string;
}

export interface Decision {
  policyVersion: string;
  /** Path, in the policy document, of the rule that fired, e.g. "ladders.strikes.steps[2]". */
  rule: string;
  /** Every rule path that shaped this decision, `rule` first (repeat, messaging, livestream...). */
  rules: string[];
  /** The canonical category (aliases and `repeat` resolved). */
  category: string;
  tier: Tier | 'special';
  /** The strike this violation adds (id `${userId}:${category}:${at}`), null when it adds none. */
  strike: StrikeRecord | null;
  /** What the caller appends to History besides the strike. */
  records: { minorViolation: boolean; majorViolation: boolean; livestreamViolation: boolean };
  /** Remove the content. */
  remove: boolean;
  /** Hold the content for human review instead of acting on it. */
  hold: boolean;
  actions: ActionSpec[];
  /** Send the notice to the user (false only for automation holds and covert shadow restrictions). */
  notify: boolean;
  notice: DecisionNotice;
  /** Where this category goes in the review queue (holds, appeals, reports). */
  review: { priority: ReviewPriority; targetSec: number };
}

/** The PROTOCOL.md notice, as `toNotice()` completes it for the wire. */
export interface PolicyNotice {
  caseId: string;
  action: NoticeAction;
  category: string;
  reason: string;
  policy: string;
  until?: string;
  strikes?: number;
  appealable: boolean;
  appealUrl?: string;
}
