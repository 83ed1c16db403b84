/**
 * A total order on sanctions, so that ladders can be checked for de-escalation at load time and
 * decide() can pick the harsher of two applicable steps. An action's weight is its kind's rank,
 * then its duration (permanent is longest); a set of actions weighs what its heaviest action does.
 */
import type { ActionSpec, SanctionKind } from './types.ts';

/**
 * Kind ranks, lightest first. Account-wide locks outrank stream sanctions, which outrank feature
 * limits; `shadow` sits just above a warning because the user keeps every feature.
 */
export const KIND_RANK: Readonly<Record<SanctionKind, number>> = Object.freeze({
  warn: 1,
  shadow: 2,
  mute: 3,
  restrict: 4,
  stream_kill: 5,
  stream_suspend: 6,
  suspend: 7,
  ban: 8,
});

/** [kind rank, duration in seconds (Infinity when permanent)]; [0, 0] for no action at all. */
export type Weight = readonly [number, number];

export function actionWeight(a: Pick<ActionSpec, 'kind' | 'durationSec'>): Weight {
  return [KIND_RANK[a.kind], a.durationSec ?? Number.POSITIVE_INFINITY];
}

export function compareWeight(a: Weight, b: Weight): number {
  return a[0] - b[0] || (a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1);
}

/** The weight of the heaviest action of the set. */
export function harshness(actions: readonly Pick<ActionSpec, 'kind' | 'durationSec'>[]): Weight {
  let max: Weight = [0, 0];
  for (const a of actions) {
    const w = actionWeight(a);
    if (compareWeight(w, max) > 0) max = w;
  }
  return max;
}

/** < 0 when `a` is milder than `b`, 0 when equal, > 0 when harsher. */
export function compareHarshness(a: readonly Pick<ActionSpec, 'kind' | 'durationSec'>[], b: readonly Pick<ActionSpec, 'kind' | 'durationSec'>[]): number {
  return compareWeight(harshness(a), harshness(b));
}
