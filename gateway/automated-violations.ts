/**
 * Which pipeline results become policy violations, recorded by automation (POLICY.md "Default
 * automatic actions"):
 * - a message refused as `blocked` with a category by a term list or a hash bank: that category's
 *   ladder applies (the spam filter's own refusals are not violations: see below);
 * - a finding flagged `repeat` (repeated flooding): a violation of its category (spam: the minor
 *   ladder);
 * - a message held with a `self_harm` finding: the policy answers with a support notice, no penalty.
 * Masks (built-in profanity), plain holds and rate limits are not violations. Findings of filters in
 * shadow mode never are.
 */
import type { PipelineMessage, PipelineResult, Finding } from '../filters/pipeline.ts';
import { Lru } from '../filters/spam/lru.ts';

export interface AutomatedViolation {
  category: string;
  detector: string;
  score?: number;
  evidence: string[];
  repeat: boolean;
}

export function automatedViolation(msg: PipelineMessage, result: PipelineResult): AutomatedViolation | null {
  const live = result.findings.filter((f) => !f.shadow);
  const of = (f: Finding | undefined, category: string, repeat: boolean): AutomatedViolation => ({
    category,
    detector: f?.filter ?? 'pipeline',
    ...(f?.score !== undefined ? { score: f.score } : {}),
    evidence: [msg.id, ...(f?.evidence ?? [])],
    repeat,
  });
  const err = result.error as { code?: string; category?: unknown; policy?: unknown } | undefined;
  // Spam refusals (duplicates, floods, links) are refusals, not violations (POLICY.md): only the
  // spam filter's own violation flag — repeated flooding, a block-listed domain — counts, below.
  const spamRefusal = typeof err?.policy === 'string' && err.policy.startsWith('spam:');
  if (result.action === 'drop' && err?.code === 'blocked' && !spamRefusal && typeof err.category === 'string' && err.category !== 'unknown') {
    return of(live.find((f) => f.category === err.category), err.category, false);
  }
  // The spam filter's `violation` flag (repeated flooding, a block-listed domain): a violation of
  // its category — for flooding, `spam` on the minor ladder (POLICY.md). `repeat` asks the policy
  // for the category's repeat rule (e.g. repeated_spam).
  const flagged = live.find((f) => f.repeat || (f as { violation?: boolean }).violation === true);
  if (flagged) return of(flagged, flagged.category, flagged.repeat === true);
  if (result.action === 'hold') {
    const selfHarm = live.find((f) => f.category === 'self_harm');
    if (selfHarm) return of(selfHarm, 'self_harm', false);
  }
  return null;
}

/**
 * A per-user cap on automated violations, so that a burst of refused messages (a flooder, a
 * copy-paste of slurs) becomes a few decisions, not hundreds of Redis transactions: the first ones
 * already escalate the ladder. 5 per 10 s, counted per user.
 */
export const AUTOMATED_VIOLATIONS_PER_WINDOW = 5;
export const AUTOMATED_VIOLATION_WINDOW_MS = 10_000;
/** Users tracked at once by the cap (oldest forgotten first). */
const TRACKED_USERS = 100_000;

export class ViolationThrottle {
  private readonly windows = new Lru<string, { start: number; n: number }>(TRACKED_USERS);
  allow(userId: string, now: number): boolean {
    let w = this.windows.get(userId);
    if (!w || now - w.start >= AUTOMATED_VIOLATION_WINDOW_MS) {
      w = { start: now, n: 0 };
      this.windows.set(userId, w);
    }
    return ++w.n <= AUTOMATED_VIOLATIONS_PER_WINDOW;
  }
}
