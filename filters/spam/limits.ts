/**
 * The spam filter's tunables: defaults (each with the reason it has that value), the capacities
 * that bound its memory, and the one-time validation of what a caller overrides.
 *
 * Validated once at construction with zod and frozen (DESIGN.md habit 2): a bad value throws an
 * error that names the field, e.g. `limits.userBurst: Too small: expected number to be >=1`.
 */
import { z } from 'zod';

/** Every tunable of the spam rules. Times in milliseconds unless the name says otherwise. */
export interface SpamLimits {
  // ---- per-user message rate (GCRA) ----
  /** Messages a user may send back to back after being quiet. */
  userBurst: number;
  /** Sustained messages per second once the burst is spent. */
  userPerSec: number;
  /** Exempt users (moderators, owners: `isExempt`) get this many times the burst and the rate. */
  exemptMultiplier: number;

  // ---- duplicates ----
  /** A user's message equal (after normalisation) to one of theirs this recent is refused. */
  duplicateWindowMs: number;
  /** Recent messages per user compared against (ring buffer). */
  duplicateHistory: number;
  /** Near-duplicate comparison only for messages at least this long (normalised characters). */
  nearDuplicateMinChars: number;
  /** Estimated Jaccard similarity of character 3-gram sets at or above which two messages are near-duplicates. */
  nearDuplicateJaccard: number;

  // ---- floods and links ----
  /** More `@name` mentions than this in one message is a mention flood. */
  maxMentions: number;
  /** Caps rule applies to messages with at least this many cased letters. */
  capsMinLetters: number;
  /** Upper-case share of cased letters above which a long message is a caps flood. */
  capsMaxRatio: number;
  /** One character (code point) repeated more than this many times in a row is a character flood. */
  maxCharRun: number;
  /** More combining marks than this on one character ("zalgo") is a character flood. */
  maxCombiningRun: number;
  /** More links than this in one message is link spam (where links are allowed at all). */
  maxLinks: number;

  // ---- coordinated spam ----
  /** Messages shorter than this (normalised characters) never take part in coordination. */
  coordMinChars: number;
  /** Distinct users sending the same or near-same text in one room within the window: a group. */
  coordRoomUsers: number;
  /** Distinct users sending it anywhere (every room, every node) within the window: a group. */
  coordGlobalUsers: number;
  /** The coordination window. */
  coordWindowMs: number;
  /** Estimated Jaccard at or above which two messages count as the same text for coordination. */
  coordJaccard: number;

  // ---- repeated flooding → violation ----
  /** Spam refusals (slow mode excluded) within the window that make one `spam` violation. */
  violationRefusals: number;
  violationWindowMs: number;
  /** At most one violation per user per this long. */
  violationCooldownMs: number;

  // ---- cluster budget (Redis) ----
  /** A sync is started as soon as this many messages wait to be reported. */
  syncBatch: number;
  /** Otherwise the waiting messages are reported after at most this long. */
  syncIntervalMs: number;
  /** A sync not answered within this long counts as failed (the node goes local-only). */
  syncTimeoutMs: number;
}

/**
 * Defaults. Chat is bursty (a quick reply, a correction, "lol"), so the rate limit allows a short
 * burst and then a pace no person keeps up for long; everything else targets what only scripts
 * and raids do.
 */
export const DEFAULT_SPAM_LIMITS: Readonly<SpamLimits> = Object.freeze({
  // 5 back to back, then one per 2 s (5 per 10 s): a fast typist in a busy chat sends about one
  // message every 3-5 s; a burst of 5 covers a reply plus corrections. Scripts exceed it at once.
  userBurst: 5,
  userPerSec: 0.5,
  // Twitch grants moderators and broadcasters 100 messages / 30 s against 20 for viewers (5×):
  // they answer many people at once, and are accountable.
  exemptMultiplier: 5,

  // 30 s: the window Twitch users already know ("you cannot send the same message twice").
  duplicateWindowMs: 30_000,
  // Past the burst a user sends at most ~15 messages in 30 s; 8 remembered catches a bot cycling
  // through a handful of variants, and bounds per-user memory.
  duplicateHistory: 8,
  // Under ~16 characters a one-letter edit changes too large a share of the 3-grams to tell an
  // edit from a different short message ("ok thanks" vs "no thanks").
  nearDuplicateMinChars: 16,
  // 0.75: a nonce, emoji, punctuation, a typo or one swapped word estimate 0.78-1.0 on chat-length
  // text; distinct chat lines, even on one topic, ≤ 0.65 (test/filters/spam/fingerprint.test.ts
  // holds both tables). Per user and within 30 s, so a false hit costs one refused message.
  nearDuplicateJaccard: 0.75,

  // Greeting a few friends mentions 2-4 names; tagging many at once is a raid / notification spam.
  maxMentions: 5,
  // Short shouting ("GG", "LETS GOOO") is livestream culture; long all-caps walls are not.
  capsMinLetters: 20,
  capsMaxRatio: 0.7,
  // "noooooooooooo" and "!!!!!!!!!!" are normal; a run of 25+ of one character is a wall.
  maxCharRun: 24,
  // Accented letters carry 1-2 combining marks (Vietnamese up to 2-3 decomposed); zalgo stacks dozens.
  maxCombiningRun: 4,
  // Sharing a link or two is conversation; more in one message is link dumping.
  maxLinks: 3,

  // Short phrases ("gg", "lol", emote walls, "first!") are repeated by many honest viewers at once.
  coordMinChars: 20,
  // 5 accounts posting the same 20+ character text in one room within a minute is a raid, not a
  // meme; across the whole platform a higher bar (popular copypasta spreads between rooms).
  coordRoomUsers: 5,
  coordGlobalUsers: 8,
  coordWindowMs: 60_000,
  // A little looser than near-duplicates: it only matters once ≥ 5 accounts agree, and bots
  // vary their copies more than one person repeating themselves does.
  coordJaccard: 0.7,

  // Six refusals in a minute means five "retry after" replies were ignored: flooding, not impatience.
  violationRefusals: 6,
  violationWindowMs: 60_000,
  // One burst of flooding is one violation, not six: the minor ladder (warning, final warning)
  // must not be used up by a single outburst.
  violationCooldownMs: 60_000,

  // 64 ≥ 50: at most one Redis round trip per 64 messages under load (BENCHMARKS.md #8 bar ≤ 1/50).
  syncBatch: 64,
  // Bounds how long a user spread over several nodes can run ahead of the cluster budget: at most
  // one burst + 250 ms of rate per extra node before the payback (docs/spam-filter.md).
  syncIntervalMs: 250,
  // Redis answers in < 1 ms here; 500 ms means it is down or frozen (DESIGN.md: ioredis defaults
  // hang far longer), and the node limits locally meanwhile.
  syncTimeoutMs: 500,
});

/** Memory bounds. Each structure is a two-generation LRU (lru.ts): at most `capacity` entries. */
export interface SpamCapacity {
  /** Users with rate, duplicate and refusal state on this node. */
  users: number;
  /** (room, user) pairs remembered for slow mode. */
  slowMode: number;
  /** Slots of the first-sighting sketch for coordinated spam (rounded up to a power of two). */
  coordinationSketch: number;
  /** Index slots for texts seen from ≥ 2 accounts (6 per text: one per band). */
  coordination: number;
  /** Members remembered per coordinated group (evidence); counting saturates there too. */
  groupMembers: number;
  /** Messages waiting to be reported to Redis (when Redis lags, older ones are not reported). */
  pendingMessages: number;
  /** Entries per domain list. */
  domains: number;
}

export const DEFAULT_SPAM_CAPACITY: Readonly<SpamCapacity> = Object.freeze({
  // ≈ 0.6 KB per active user with a full duplicate history: ≤ ~60 MB at the cap. A forgotten user
  // starts over with a fresh burst, so churning the LRU buys an attacker one burst per eviction —
  // and needs 100k active accounts on one node to do it.
  users: 100_000,
  // ≈ 100 B per entry; a pair only matters for slowModeSec (≤ hours) after the user's last message.
  slowMode: 100_000,
  // 64k slots ≈ 2.5 MB (16 B per slot, 88 B per ring place, one ring place per 4 slots), nothing
  // allocated per message. 6 slots per long message: a first sighting
  // is remembered ~110 s at 100 long messages/s on a node (more than the 60 s window), ~11 s at
  // 1000/s — a raid repeats its text faster than that.
  coordinationSketch: 65_536,
  // 10k texts sent by ≥ 2 accounts within a minute (≈ 0.5 KB each with members).
  coordination: 60_000,
  // Far above any threshold (5/8): enough evidence for a moderator, bounded per group.
  groupMembers: 64,
  // 16 B each (1 MB). One sync is in flight at a time and takes up to 2000 users, so at peak the
  // pending messages pile up while Redis answers; 64k is ~0.5 s of a very busy node (measured:
  // 16k overflowed in the bench on this loaded 2-core machine at ~150k messages/s). Beyond it the
  // overflow is limited locally only (counted as unreported).
  pendingMessages: 65_536,
  domains: 100_000,
});

const positiveInt = z.number().int().min(1);
const ms = z.number().int().min(1).max(7 * 24 * 3600 * 1000);
const share = z.number().gt(0).max(1);

const limitsSchema = z.strictObject({
  userBurst: positiveInt.max(1_000_000),
  userPerSec: z.number().gt(0).max(1_000_000),
  exemptMultiplier: z.number().min(1).max(1000),
  duplicateWindowMs: ms,
  duplicateHistory: positiveInt.max(64),
  nearDuplicateMinChars: positiveInt.max(10_000),
  nearDuplicateJaccard: share,
  maxMentions: z.number().int().min(0).max(10_000),
  capsMinLetters: positiveInt.max(100_000),
  capsMaxRatio: share,
  maxCharRun: positiveInt.max(100_000),
  maxCombiningRun: positiveInt.max(100_000),
  maxLinks: z.number().int().min(0).max(10_000),
  coordMinChars: positiveInt.max(10_000),
  coordRoomUsers: z.number().int().min(2).max(10_000),
  coordGlobalUsers: z.number().int().min(2).max(10_000),
  coordWindowMs: ms,
  coordJaccard: share,
  violationRefusals: positiveInt.max(10_000),
  violationWindowMs: ms,
  violationCooldownMs: z.number().int().min(0).max(7 * 24 * 3600 * 1000),
  syncBatch: positiveInt.max(100_000),
  syncIntervalMs: ms,
  syncTimeoutMs: ms,
});

const capacitySchema = z.strictObject({
  users: positiveInt.max(100_000_000),
  slowMode: positiveInt.max(100_000_000),
  coordinationSketch: positiveInt.max(1 << 24),
  coordination: positiveInt.max(100_000_000),
  groupMembers: positiveInt.max(10_000),
  pendingMessages: positiveInt.max(10_000_000),
  domains: positiveInt.max(10_000_000),
});

function describe(prefix: string, err: z.ZodError): string {
  return err.issues.map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

/** Defaults overlaid with `partial`, validated, frozen. Throws a TypeError naming the bad fields. */
export function resolveLimits(partial: Partial<SpamLimits> = {}): Readonly<SpamLimits> {
  const r = limitsSchema.safeParse({ ...DEFAULT_SPAM_LIMITS, ...partial });
  if (!r.success) throw new TypeError(`invalid spam filter options: ${describe('limits', r.error)}`);
  if (r.data.coordGlobalUsers < r.data.coordRoomUsers) {
    throw new TypeError('invalid spam filter options: limits.coordGlobalUsers: must be >= limits.coordRoomUsers');
  }
  return Object.freeze(r.data);
}

export function resolveCapacity(partial: Partial<SpamCapacity> = {}, limits: Readonly<SpamLimits> = DEFAULT_SPAM_LIMITS): Readonly<SpamCapacity> {
  const r = capacitySchema.safeParse({ ...DEFAULT_SPAM_CAPACITY, ...partial });
  if (!r.success) throw new TypeError(`invalid spam filter options: ${describe('capacity', r.error)}`);
  if (r.data.groupMembers < limits.coordGlobalUsers) {
    throw new TypeError('invalid spam filter options: capacity.groupMembers: must be >= limits.coordGlobalUsers (counting saturates at the cap)');
  }
  return Object.freeze(r.data);
}
