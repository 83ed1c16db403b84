/** Shared fixtures for the rules tests: the shipped policy, a fixed clock, history builders. */
import { loadPolicy, type Policy } from '../../rules/policy.ts';
import type { History, StrikeRecord, Tier, Violation } from '../../rules/types.ts';

export const policy: Policy = loadPolicy();

export const SEC = 1000;
export const HOUR = 3_600;
export const DAY = 86_400;
export const DAY_MS = DAY * SEC;
/** "Now" for every table test: decide() has no clock, so the tests pick one. */
export const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

export const EMPTY: History = Object.freeze({ strikes: [], minorViolations: [] }) as History;

export function violation(category: string, extra: Partial<Violation> = {}): Violation {
  return { userId: 'u1', category, at: T0, source: 'moderator', ...extra };
}

let seq = 0;
/** A strike issued `daysAgo` days before T0 that expires after the policy's expiry (or `expiresAt`). */
export function strike(daysAgo: number, category = 'harassment', tier: Tier = 'moderate', expiresAt?: number): StrikeRecord {
  const at = T0 - daysAgo * DAY_MS;
  return { id: `old-${++seq}`, category, tier, at, expiresAt: expiresAt ?? at + policy.strikes.expirySec * SEC };
}

/** `n` active strikes, one a day before T0. */
export function activeStrikes(n: number, category = 'harassment', tier: Tier = 'moderate'): StrikeRecord[] {
  return Array.from({ length: n }, (_, i) => strike(i + 1, category, tier));
}

export function history(h: Partial<History> = {}): History {
  return { strikes: [], minorViolations: [], ...h };
}

/** `n` minor violations, one a day before T0. */
export function minors(n: number, category = 'misleading', daysAgo = 1): { category: string; at: number }[] {
  return Array.from({ length: n }, (_, i) => ({ category, at: T0 - (daysAgo + i) * DAY_MS }));
}

/** Follows a rule path such as `ladders.strikes.steps[2]` or `livestream.suspend.minor[0]` in the policy. */
export function resolvePath(root: unknown, path: string): unknown {
  const segs = [...path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  let v: unknown = root;
  for (const s of segs) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}
