import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcraParams, gcraReplay, gcraTake, type GcraParams } from '../../../filters/spam/gcra.ts';

/** Runs arrivals through one GCRA state; returns the accepted times and the waits of refusals. */
function run(p: GcraParams, times: number[]) {
  const s = { tat: 0 };
  const accepted: number[] = [];
  const refusals: { at: number; wait: number }[] = [];
  const pairs: number[] = [];
  for (const t of times) {
    const w = gcraTake(s, t, p);
    if (w === 0) {
      accepted.push(t);
      pairs.push(t, p.intervalMs);
    } else refusals.push({ at: t, wait: w });
  }
  return { accepted, refusals, tat: s.tat, pairs };
}

describe('gcra', () => {
  it.each([
    // burst, perSec, arrival times (ms), accepted count, first refusal wait
    { name: 'default 5 / 0.5 s: a burst of 5, the 6th waits one interval', burst: 5, perSec: 0.5, times: [0, 0, 0, 0, 0, 0], accepted: 5, wait: 2000 },
    { name: 'a burst of 1 is a strict pace', burst: 1, perSec: 1, times: [0, 500, 1000], accepted: 2, wait: 500 },
    { name: 'sending at the sustained rate is never refused', burst: 1, perSec: 2, times: [0, 500, 1000, 1500, 2000], accepted: 5, wait: undefined },
    { name: 'quiet time refills the burst', burst: 3, perSec: 1, times: [0, 0, 0, 10_000, 10_000, 10_000, 10_000], accepted: 6, wait: 1000 },
  ])('$name', ({ burst, perSec, times, accepted, wait }) => {
    const r = run(gcraParams(burst, perSec), times);
    expect(r.accepted).toHaveLength(accepted);
    expect(r.refusals[0]?.wait).toBe(wait);
  });

  it('rejects nonsensical parameters', () => {
    expect(() => gcraParams(0, 1)).toThrow(RangeError);
    expect(() => gcraParams(1, 0)).toThrow(RangeError);
    expect(() => gcraParams(1, Number.NaN)).toThrow(RangeError);
  });

  const arbParams = fc.record({ burst: fc.integer({ min: 1, max: 20 }), perSec: fc.double({ min: 0.05, max: 50, noNaN: true }) });
  const arbTimes = fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 150 }).map((xs) => xs.sort((a, b) => a - b));

  it('never accepts more than burst + rate × t in any window of length t (property)', () => {
    fc.assert(
      fc.property(arbParams, arbTimes, ({ burst, perSec }, times) => {
        const { accepted } = run(gcraParams(burst, perSec), times);
        for (let i = 0; i < accepted.length; i++) {
          for (let j = i; j < accepted.length; j++) {
            const window = accepted[j]! - accepted[i]!;
            expect(j - i + 1).toBeLessThanOrEqual(burst + (perSec * window) / 1000 + 1e-9);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a refused message conforms exactly after the wait it was told (property)', () => {
    fc.assert(
      fc.property(arbParams, arbTimes, ({ burst, perSec }, times) => {
        const p = gcraParams(burst, perSec);
        const s = { tat: 0 };
        for (const t of times) {
          const w = gcraTake(s, t, p);
          if (w > 0) {
            expect(w).toBeLessThanOrEqual(p.intervalMs + 1e-9); // never asked to wait more than one interval
            const probe = { tat: s.tat };
            expect(gcraTake(probe, t + w, p)).toBe(0);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('replaying the accepted (time, interval) pairs reproduces the state (the cluster sync relies on it)', () => {
    fc.assert(
      fc.property(arbParams, arbTimes, ({ burst, perSec }, times) => {
        const r = run(gcraParams(burst, perSec), times);
        expect(gcraReplay(0, r.pairs)).toBeCloseTo(r.tat, 6);
      }),
    );
  });
});
