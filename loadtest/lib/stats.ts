/** Median and spread of a metric over the valid runs of a variant. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Rounds for JSON: keeps 4 significant digits, which is more than the noise allows. */
export function round4(x: number): number {
  return Number(x.toPrecision(4));
}

/** a ÷ b per round where both have a value (variants run side by side in time), as a spread. */
export function roundRatios(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): Spread | undefined {
  const ratios: number[] = [];
  for (const [round, x] of a) {
    const y = b.get(round);
    if (y !== undefined && y > 0) ratios.push(x / y);
  }
  return spread(ratios);
}

/** `key`, `keyMin`, `keyMax` of a spread into a figures record (nothing when there is none). */
export function addSpread(into: Record<string, number>, key: string, s: Spread | undefined): void {
  if (!s) return;
  into[key] = round4(s.median);
  into[`${key}Min`] = round4(s.min);
  into[`${key}Max`] = round4(s.max);
}

export const fmt = (x: number, digits = 2): string => x.toFixed(digits);

/** A markdown cell: "median (min–max)", or the median alone for one value, or — for none. */
export const cell = (s: Spread | undefined, digits = 2): string =>
  s ? (s.n > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits)) : '—';

