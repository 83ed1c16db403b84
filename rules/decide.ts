/**
 * decide(): one violation + the user's history → one Decision. Pure: no clock (`violation.at` is
 * "now"), no I/O, no randomness, inputs never mutated. The same arguments always give the same
 * Decision, so a decision can be replayed and table-tested, and a retried one is idempotent (the
 * strike it would add is not counted twice if the history already holds it).
 *
 * How a decision is made (docs/policy.md has the long form):
 *   1. the category: aliases resolved; `repeat` swaps in the category's repeat target;
 *   2. automation holds: a category marked `automation: hold` reported by automation is held for
 *      a moderator — no strike, no sanction;
 *   3. the ladder: the category's (or its tier's), or the `messaging` row's for a chat message;
 *      the step is picked by the ladder's counter (strikes, strikes in this category, minor
 *      violations in the window, or major violations), each including this violation; past the
 *      last step, the last step repeats;
 *   4. every strike also climbs the strike ladder (`strikes.ladder`): the harsher step wins, so
 *      4 active strikes ban whatever the category;
 *   5. during the user's live stream: `stream_kill`, and a stream suspension by tier indexed by
 *      earlier live-stream violations, on top of the account actions.
 *
 * Unknown categories: decide() throws `UnknownCategoryError`. Returning an empty Decision would
 * quietly under-enforce; callers validate input first with `isKnownCategory()` (the gateway answers
 * a moderator's unknown category with `invalid`), so the throw only ever signals a bug.
 */
import { compareHarshness, KIND_RANK } from './harshness.ts';
import { categoryIds, categorySettings, resolveCategory, type CategorySettings, type LadderCount, type Policy, type PolicyStep } from './policy.ts';
import { formatDuration, renderTemplate } from './template.ts';
import type { ActionSpec, Decision, DecisionNotice, History, NoticeAction, SanctionKind, StrikeRecord, Tier, Violation } from './types.ts';

/** Re-exported so callers can validate a category next to where they decide. */
export { isKnownCategory } from './policy.ts';

/** decide() was given a category the policy does not know (neither an id nor an alias). */
export class UnknownCategoryError extends Error {
  override readonly name = 'UnknownCategoryError';
  readonly code = 'unknown_category';
  constructor(
    readonly category: string,
    /** The policy's category ids, for the caller's error reply. */
    readonly known: readonly string[],
  ) {
    super(`unknown category "${category}"`);
  }
}

/** The id of the strike a violation adds: deterministic, so retries do not add a second one. */
export function strikeId(userId: string, category: string, at: number): string {
  return `${userId}:${category}:${at}`;
}

/** Which action a notice names, heaviest first. `shadow` is covert and never named. */
const NOTICE_ORDER: readonly (SanctionKind & NoticeAction)[] = ['ban', 'suspend', 'stream_suspend', 'stream_kill', 'restrict', 'mute', 'warn'];

interface Counts {
  strikes: number;
  category: number;
  minor: number;
  major: number;
}

function countOf(c: Counts, mode: LadderCount): number {
  return c[mode];
}

function stepAt(policy: Policy, ladder: string, counts: Counts): { path: string; step: PolicyStep } {
  const l = policy.ladders[ladder]!; // validated: every ladder reference resolves
  const i = Math.min(Math.max(countOf(counts, l.count) - 1, 0), l.steps.length - 1);
  return { path: `ladders.${ladder}.steps[${i}]`, step: l.steps[i]! };
}

function copyAction(a: Readonly<ActionSpec>): ActionSpec {
  return a.features ? { ...a, features: [...a.features] } : { ...a };
}

function noticeAction(actions: readonly ActionSpec[], remove: boolean): { action: NoticeAction; durationSec?: number } {
  for (const kind of NOTICE_ORDER) {
    // Of several actions of a kind, the notice names the longest.
    let found: ActionSpec | undefined;
    for (const a of actions) {
      if (a.kind === kind && (!found || (a.durationSec ?? Infinity) > (found.durationSec ?? Infinity))) found = a;
    }
    if (found) return found.durationSec !== undefined ? { action: kind, durationSec: found.durationSec } : { action: kind };
  }
  return { action: remove ? 'remove' : 'warn' };
}

/** The heaviest action of a step: what its note's {duration} refers to. */
function stepDuration(step: PolicyStep): number | undefined {
  let best: Readonly<ActionSpec> | undefined;
  for (const a of step.actions) {
    if (!best || KIND_RANK[a.kind] > KIND_RANK[best.kind]) best = a;
  }
  return best?.durationSec;
}

function appealUrl(policy: Policy, category: string): string | undefined {
  const url = policy.appeals.url;
  return url === undefined ? undefined : renderTemplate(url, { category: encodeURIComponent(category), version: encodeURIComponent(policy.version) });
}

function guidelineText(s: CategorySettings, rule: string, policy: Policy): string {
  return `${s.guideline} (${rule}, policy ${policy.version})`;
}

/** Turns a violation and the user's history into a Decision. See the module comment. */
export function decide(policy: Policy, violation: Violation, history: History): Decision {
  if (typeof violation.at !== 'number' || !Number.isFinite(violation.at)) {
    throw new TypeError(`violation.at must be a finite number of milliseconds, got ${String(violation.at)}`);
  }
  const at = violation.at;
  const rules: string[] = [];

  // 1. The category.
  let id = resolveCategory(policy, violation.category);
  if (id === undefined) throw new UnknownCategoryError(violation.category, categoryIds(policy));
  let s = categorySettings(policy, id)!;
  if (violation.repeat && s.repeat !== undefined) {
    rules.push(`categories.${id}.repeat`);
    id = s.repeat;
    s = categorySettings(policy, id)!;
  }
  const tier = s.tier;
  const review = { priority: s.review, targetSec: policy.review.targetSec[s.review] };

  // 2. Automation holds.
  if (violation.source === 'automation' && s.automation === 'hold') {
    const rule = `categories.${id}.automation`;
    return {
      policyVersion: policy.version,
      rule,
      rules: [rule, ...rules],
      category: id,
      tier,
      strike: null,
      records: { minorViolation: false, majorViolation: false, livestreamViolation: false },
      remove: false,
      hold: true,
      actions: [],
      notify: false,
      notice: {
        action: 'remove',
        category: id,
        reason: renderTemplate(policy.review.heldReason, { title: s.title, category: id }),
        policy: guidelineText(s, rule, policy),
        appealable: false,
      },
      review,
    };
  }

  // 3. Counts, each including this violation.
  const ownStrikeId = strikeId(violation.userId, id, at);
  const active = history.strikes.filter((x) => x.expiresAt > at && x.id !== ownStrikeId);
  const addsStrike = s.strike && tier !== 'special';
  const isMinor = tier === 'minor';
  const majorTiers: readonly string[] = policy.strikes.majorTiers;
  const isMajor = tier !== 'special' && majorTiers.includes(tier);
  const windowStart = at - policy.minor.windowSec * 1000;
  const priorMinor = history.minorViolations.filter((m) => m.at > windowStart && !(m.at === at && m.category === id)).length;
  const priorMajor = history.majorViolations ?? history.strikes.filter((x) => majorTiers.includes(x.tier) && x.id !== ownStrikeId).length;
  const counts: Counts = {
    strikes: active.length + (addsStrike ? 1 : 0),
    category: active.filter((x) => x.category === id).length + (addsStrike ? 1 : 0),
    minor: priorMinor + (isMinor ? 1 : 0),
    major: priorMajor + (isMajor ? 1 : 0),
  };

  // The ladder: the messaging row's for a chat message, else the category's.
  let ladder = s.ladder;
  let removeOverride = s.remove;
  if (violation.messageId !== undefined && Object.hasOwn(policy.messaging, id)) {
    const row = policy.messaging[id]!;
    rules.push(`messaging.${id}`);
    if (row.ladder !== undefined) ladder = row.ladder;
    if (row.remove !== undefined) removeOverride = row.remove;
  }
  let chosen = stepAt(policy, ladder, counts);

  // 4. Every strike climbs the strike ladder too; the harsher step wins (ties: the category's).
  if (addsStrike && ladder !== policy.strikes.ladder) {
    const viaStrikes = stepAt(policy, policy.strikes.ladder, counts);
    if (compareHarshness(viaStrikes.step.actions, chosen.step.actions) > 0) chosen = viaStrikes;
  }
  const { step } = chosen;
  const actions = step.actions.map(copyAction);
  const remove = removeOverride ?? step.remove ?? true;
  const hold = step.hold ?? false;

  const vars = {
    title: s.title,
    category: id,
    strikes: counts.strikes,
    duration: formatDuration(stepDuration(step)),
    expiry: formatDuration(policy.strikes.expirySec),
    window: formatDuration(policy.minor.windowSec),
  };
  const reason = [renderTemplate(s.reason, vars)];
  if (step.note) reason.push(renderTemplate(step.note, vars));

  // 5. Live streams.
  const live = violation.live === true;
  if (live) {
    const ls = policy.livestream;
    if (ls.kill) {
      actions.push({ kind: 'stream_kill' });
      rules.push('livestream.kill');
      if (ls.notes.kill) reason.push(renderTemplate(ls.notes.kill, vars));
    }
    const list = ls.suspend[tier];
    if (list && list.length) {
      const i = Math.min(Math.max(history.livestreamViolations ?? 0, 0), list.length - 1);
      const d = list[i]!;
      actions.push(d === null ? { kind: 'stream_suspend' } : { kind: 'stream_suspend', durationSec: d });
      rules.push(`livestream.suspend.${tier}[${i}]`);
      if (ls.notes.suspend) reason.push(renderTemplate(ls.notes.suspend, { ...vars, duration: formatDuration(d) }));
    }
  }

  const named = step.notice !== undefined ? { action: step.notice } : noticeAction(actions, remove);
  let strike: StrikeRecord | null = null;
  if (addsStrike) strike = { id: ownStrikeId, category: id, tier: tier as Tier, at, expiresAt: at + policy.strikes.expirySec * 1000 };

  const notice: DecisionNotice = {
    action: named.action,
    category: id,
    reason: reason.join(' '),
    policy: guidelineText(s, chosen.path, policy),
    appealable: s.appealable,
  };
  if (named.durationSec !== undefined) notice.durationSec = named.durationSec;
  if (addsStrike) notice.strikes = counts.strikes;
  const url = s.appealable ? appealUrl(policy, id) : undefined;
  if (url !== undefined) notice.appealUrl = url;

  const covert = actions.length > 0 && actions.every((a) => a.kind === 'shadow') && !remove && !hold;
  return {
    policyVersion: policy.version,
    rule: chosen.path,
    rules: [chosen.path, ...rules],
    category: id,
    tier,
    strike,
    records: { minorViolation: isMinor, majorViolation: isMajor, livestreamViolation: live },
    remove,
    hold,
    actions,
    notify: !covert,
    notice,
    review,
  };
}
