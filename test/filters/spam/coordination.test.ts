import { describe, expect, it } from 'vitest';
import { Coordination } from '../../../filters/spam/coordination.ts';
import { bandKey, SIG_BINS, type Signature } from '../../../filters/spam/fingerprint.ts';
import { DEFAULT_SPAM_CAPACITY, DEFAULT_SPAM_LIMITS } from '../../../filters/spam/limits.ts';

const T = 1_700_000_000_000;

/** A signature of distinct bins (the flag bit fingerprint.ts sets on every bin included). */
function signature(seed: number): Signature {
  return Array.from({ length: SIG_BINS }, (_, k) => (((seed * 7919 + k * 104_729) & 0x07ffffff) | 0x08000000));
}

/** The cluster's answer for one band key: four other users' sightings in room `r`. */
const ANSWER = JSON.stringify({ u1: [T, 'r', 'm1'], u2: [T, 'r', 'm2'], u4: [T, 'r', 'm4'], u5: [T, 'r', 'm5'] });

/** Node state after shipping u1's loose sighting of `a` and merging the cluster's answer for band 0. */
function afterMerge(a: Signature): Coordination {
  const c = new Coordination(DEFAULT_SPAM_LIMITS, DEFAULT_SPAM_CAPACITY, true);
  expect(c.observe(a, 'u1', 'r', 'm1', T)).toBeUndefined();
  const band0 = c.takeUnsynced(100).find((s) => s.field === String(bandKey(a, 0)));
  expect(band0).toBeDefined();
  band0!.merge(ANSWER, T + 1);
  return c;
}

describe('coordination: candidates made from the cluster\'s sightings', () => {
  it('a similar local message joins the candidate (5 accounts in the room: a group)', () => {
    const a = signature(1);
    const c = afterMerge(a);
    expect(c.observe(a, 'u3', 'r', 'm3', T + 2)).toMatchObject({ first: true, count: 5 });
  });

  it('a message that shares only one band with it does not join', () => {
    const a = signature(1);
    const b = signature(2);
    for (let k = 0; k < 4; k++) b[k] = a[k]!; // band 0 (bins 0-3) alike, the rest unrelated
    expect(bandKey(b, 0)).toBe(bandKey(a, 0));
    const c = afterMerge(a);
    expect(c.observe(b, 'u3', 'r', 'm3', T + 2)).toBeUndefined();
  });
});
