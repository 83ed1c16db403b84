/**
 * What a scenario module (loadtest/scenarios/NN-name.ts, default export) provides to the harness,
 * and what it gets back from it.
 */
import type { CpuPlan } from './proc.ts';

/** `{ variant: { metric: value } }`, as bench-results.json carries it. */
export type Figures = Record<string, Record<string, number>>;

export interface BenchContext {
  /** `--quick`: reduced counts and rounds (aimed at a minute; ~1.5–2 min on the 2-core dev VM). */
  quick: boolean;
  repoRoot: string;
  /** Scratch directory for logs and raw per-run data (git-ignored `.bench-tmp/`). */
  tmpDir: string;
  /** Which CPUs the server and the load generator are pinned to. */
  cpus: CpuPlan;
  /** Progress line on stderr. */
  log(line: string): void;
}

export interface ScenarioResult {
  id: number;
  name: string;
  figures: Figures;
  /** The figure the bar is about; null when it could not be measured (e.g. a variant unavailable). */
  ratio: number | null;
  /** Spread (min, max) of `ratio` over rounds, for the markdown table. */
  ratioSpread?: [number, number] | undefined;
  bar: string;
  met: boolean;
  /** Markdown body for docs/benchmarks.md: load, table, method notes, invalid runs. */
  markdown: string;
  /** Per-run detail, written to .bench-tmp/ only (not part of bench-results.json). */
  raw: unknown;
}

export interface Scenario {
  /** Number in BENCHMARKS.md's scenario table. */
  id: number;
  name: string;
  /** One-line description of what is compared. */
  title: string;
  bar: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
