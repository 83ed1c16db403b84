import { describe, expect, it } from 'vitest';
import { compareHarshness, harshness } from '../../rules/harshness.ts';
import type { ActionSpec } from '../../rules/types.ts';

describe('harshness', () => {
  // Each row is milder than the next.
  const ladder: ActionSpec[][] = [
    [],
    [{ kind: 'warn' }],
    [{ kind: 'mute', durationSec: 600 }],
    [{ kind: 'restrict', durationSec: 3_600, features: ['chat'] }],
    [{ kind: 'restrict', durationSec: 72 * 3_600, features: ['dm'] }],
    [{ kind: 'stream_suspend', durationSec: 86_400 }],
    [{ kind: 'warn' }, { kind: 'suspend', durationSec: 86_400 }],
    [{ kind: 'suspend', durationSec: 30 * 86_400 }],
    [{ kind: 'suspend' }],
    [{ kind: 'ban' }],
  ];
  it.each(ladder.slice(1).map((b, i) => [i, ladder[i]!, b] as const))('step %i is milder than the next', (_i, a, b) => {
    expect(compareHarshness(a, b)).toBeLessThan(0);
    expect(compareHarshness(b, a)).toBeGreaterThan(0);
    expect(compareHarshness(a, a)).toBe(0);
  });

  it('a set weighs what its heaviest action does', () => {
    expect(harshness([{ kind: 'warn' }, { kind: 'ban' }, { kind: 'mute', durationSec: 1 }])).toEqual(harshness([{ kind: 'ban' }]));
  });
});
