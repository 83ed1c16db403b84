/**
 * Properties of decide() over generated violations and histories (fast-check), against the shipped
 * policy: deterministic, order-blind, never milder for a worse history, blind to expired strikes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../rules/decide.ts';
import { compareHarshness } from '../../rules/harshness.ts';
import { categoryIds, categorySettings } from '../../rules/policy.ts';
import { TIERS, type History, type StrikeRecord, type Tier, type Violation } from '../../rules/types.ts';
import { DAY_MS, policy, resolvePath, T0 } from './fixtures.ts';

const ids = categoryIds(policy);
const names = [...ids, ...Object.keys(policy.aliases)];
const tiered = ids.filter((c) => categorySettings(policy, c)!.tier !== 'special');
const EXPIRY = policy.strikes.expirySec * 1000;

const violationArb: fc.Arbitrary<Violation> = fc.record(
  {
    userId: fc.constantFrom('u1', 'u2'),
    category: fc.constantFrom(...names),
    at: fc.integer({ min: T0 - 400 * DAY_MS, max: T0 + 400 * DAY_MS }),
    source: fc.constantFrom('automation', 'moderator'),
    live: fc.boolean(),
    messageId: fc.constantFrom('m1', 'm2'),
    room: fc.constant('r1'),
    repeat: fc.boolean(),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['userId', 'category', 'at', 'source'] },
);

/** A strike relative to the violation time: `ageDays` before it, expiring per the policy or as given. */
const strikeArb = (at: number): fc.Arbitrary<StrikeRecord> =>
  fc
    .record({
      n: fc.nat(),
      category: fc.constantFrom(...tiered),
      ageMs: fc.integer({ min: 0, max: 300 * DAY_MS }),
      expiryMs: fc.option(fc.integer({ min: -10 * DAY_MS, max: 200 * DAY_MS }), { nil: undefined }),
    })
    .map(({ n, category, ageMs, expiryMs }) => {
      const s = categorySettings(policy, category)!;
      const sAt = at - ageMs;
      return { id: `s${n}`, category, tier: s.tier as Tier, at: sAt, expiresAt: sAt + (expiryMs ?? EXPIRY) };
    });

const historyArb = (at: number): fc.Arbitrary<History> =>
  fc.record(
    {
      strikes: fc.array(strikeArb(at), { maxLength: 8 }),
      minorViolations: fc.array(
        fc.record({ category: fc.constantFrom('spam', 'misleading', 'low_risk'), at: fc.integer({ min: at - 200 * DAY_MS, max: at }) }),
        { maxLength: 6 },
      ),
      majorViolations: fc.nat({ max: 5 }),
      livestreamViolations: fc.nat({ max: 5 }),
    },
    { requiredKeys: ['strikes', 'minorViolations'] },
  );

const caseArb = violationArb.chain((v) => historyArb(v.at).map((h) => [v, h] as const));

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

const NUM_RUNS = 500;

describe('decide() properties', () => {
  it('is deterministic and does not touch its inputs', () => {
    fc.assert(
      fc.property(caseArb, ([v, h]) => {
        const frozenV = deepFreeze(structuredClone(v));
        const frozenH = deepFreeze(structuredClone(h));
        // Frozen inputs: any write would throw (ES modules are strict).
        expect(decide(policy, frozenV, frozenH)).toEqual(decide(policy, v, h));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('does not depend on the order of the history', () => {
    const reorderedArb = caseArb.chain(([v, h]) =>
      fc
        .tuple(
          fc.shuffledSubarray(h.strikes, { minLength: h.strikes.length, maxLength: h.strikes.length }),
          fc.shuffledSubarray(h.minorViolations, { minLength: h.minorViolations.length, maxLength: h.minorViolations.length }),
        )
        .map(([strikes, minorViolations]) => [v, h, { ...h, strikes, minorViolations }] as const),
    );
    fc.assert(
      fc.property(reorderedArb, ([v, h, reordered]) => {
        expect(decide(policy, v, reordered)).toEqual(decide(policy, v, h));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never gives a milder sanction for one more active strike', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...tiered), ([v, h], category) => {
        const extra: StrikeRecord = { id: 'extra', category, tier: categorySettings(policy, category)!.tier as Tier, at: v.at - 1, expiresAt: v.at + 1 };
        const before = decide(policy, v, h);
        const after = decide(policy, v, { ...h, strikes: [...h.strikes, extra] });
        expect(compareHarshness(after.actions, before.actions)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never gives a milder sanction for more minor, major or live-stream violations', () => {
    fc.assert(
      fc.property(caseArb, ([v, h]) => {
        const before = decide(policy, v, h);
        // Without a stored count, major violations are counted from the strike records.
        const priorMajors = h.majorViolations ?? h.strikes.filter((s) => policy.strikes.majorTiers.includes(s.tier)).length;
        const after = decide(policy, v, {
          ...h,
          minorViolations: [...h.minorViolations, { category: 'misleading', at: v.at - 1 }],
          majorViolations: priorMajors + 1,
          livestreamViolations: (h.livestreamViolations ?? 0) + 1,
        });
        expect(compareHarshness(after.actions, before.actions)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ignores expired strikes (when the store counts major violations itself)', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.integer({ min: 0, max: 500 * DAY_MS }), { minLength: 1, maxLength: 5 }), ([v, h], ages) => {
        const withCount = { ...h, majorViolations: h.majorViolations ?? 0 };
        const expired = ages.map((age, i): StrikeRecord => ({ id: `x${i}`, category: 'hate_speech', tier: 'moderate', at: v.at - age - EXPIRY, expiresAt: v.at - age }));
        expect(decide(policy, v, { ...withCount, strikes: [...withCount.strikes, ...expired] })).toEqual(decide(policy, v, withCount));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('always names a rule that exists, the policy version, and a well-formed sanction', () => {
    fc.assert(
      fc.property(caseArb, ([v, h]) => {
        const d = decide(policy, v, h);
        expect(d.policyVersion).toBe(policy.version);
        expect(d.rules[0]).toBe(d.rule);
        for (const r of d.rules) expect(resolvePath(policy, r)).toBeDefined();
        for (const a of d.actions) {
          if (a.durationSec !== undefined) expect(Number.isSafeInteger(a.durationSec) && a.durationSec > 0).toBe(true);
          if (a.kind === 'stream_kill' || a.kind === 'stream_suspend') expect(v.live).toBe(true);
        }
        // A strike exactly when the tier adds one and automation did not hold it.
        expect(d.strike !== null).toBe(d.tier !== 'special' && !d.hold && categorySettings(policy, d.category)!.strike);
        if (d.strike) expect(d.strike.expiresAt - d.strike.at).toBe(EXPIRY);
        if (d.tier === 'critical') expect(d.notice.appealable).toBe(false);
        expect(TIERS.includes(d.tier as Tier) || d.tier === 'special').toBe(true);
        // The notice names a duration only with an action that has one.
        if (d.notice.durationSec !== undefined) expect(d.actions.some((a) => a.durationSec === d.notice.durationSec)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
