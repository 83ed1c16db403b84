/**
 * GCRA (generic cell rate algorithm), the rate check of the spam filter.
 *
 * The whole state of one limited key is one number, the theoretical arrival time `tat`: when the
 * key would be back to "quiet" if it kept sending at exactly the sustained rate. A message at
 * `now` conforms iff `tat - now <= tau` (tau = the burst tolerance); it then moves `tat` forward
 * by one emission interval. Consequence used by the tests: among conforming messages at times
 * t1 <= ... <= tn, tn - t1 >= (n - burst) * T, i.e. in any window of length w at most
 * burst + w / T messages get through.
 *
 * Compared with a token bucket: same behaviour, but no refill arithmetic and no second field,
 * and a reconciliation with other nodes is just "take the later tat" (cluster-budget.ts).
 */

export interface GcraParams {
  /** Emission interval: ms between messages at the sustained rate. */
  readonly intervalMs: number;
  /** Burst tolerance in ms: (burst - 1) intervals. */
  readonly tauMs: number;
  readonly burst: number;
  readonly perSec: number;
}

export function gcraParams(burst: number, perSec: number): GcraParams {
  if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be >= 1, got ${burst}`);
  if (!(perSec > 0) || !Number.isFinite(perSec)) throw new RangeError(`perSec must be > 0, got ${perSec}`);
  const intervalMs = 1000 / perSec;
  return Object.freeze({ intervalMs, tauMs: intervalMs * (burst - 1), burst, perSec });
}

/** Anything carrying a `tat` (the filter keeps it on its per-user record). */
export interface GcraState {
  tat: number;
}

/**
 * One message at `now`. Returns 0 and advances `state.tat` when it conforms; otherwise leaves the
 * state alone and returns how many ms to wait until it would conform (always > 0).
 */
export function gcraTake(state: GcraState, now: number, p: GcraParams): number {
  const tat = state.tat > now ? state.tat : now;
  const early = tat - p.tauMs - now;
  if (early > 0) return early;
  state.tat = tat + p.intervalMs;
  return 0;
}

/** Replays conforming messages (time, interval pairs) on top of `tat`, as `gcraTake` would have. */
export function gcraReplay(tat: number, pairs: readonly number[]): number {
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const t = pairs[i]!;
    if (tat < t) tat = t;
    tat += pairs[i + 1]!;
  }
  return tat;
}
