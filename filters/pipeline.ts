/**
 * The moderation pipeline seam: ordered checks inside a per-message latency budget.
 *
 * - Each filter states its timeout and its failure direction (`onFailure`), like Envoy's ext_authz:
 *   a throw, a timeout or a spent budget applies that direction and is counted.
 * - Synchronous filters return synchronously and the whole run stays synchronous: no microtask,
 *   no promise on the hot path unless some filter actually returns a thenable.
 * - `drop` stops the chain; `mask` rewrites the text the following filters see; `hold` is
 *   remembered and the chain continues (a later filter may still drop).
 * - `shadow` filters record findings but their verdict is forced to pass, so a new list or bank
 *   can be tried on live traffic before it enforces.
 *
 * This module never imports the gateway: outcomes leave through the `observe` hook.
 */

/**
 * What the sender is told when a message is dropped: a PROTOCOL.md error code (`blocked`,
 * `rate_limited`, `slow_mode`, `invalid`, `unavailable`...) with its details. Declared here rather
 * than imported so that filters/ never depends on gateway/.
 */
export interface ErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

export type MessageKind = 'text' | 'image';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What a detector saw. Only `rules/` turns findings into strikes and sanctions. */
export interface Finding {
  filter: string;
  category: string;
  severity?: Severity;
  score?: number;
  /** Ids of evidence: message id, hash, matched term id... never raw user content. */
  evidence?: string[];
  /** The detector saw a repeat (e.g. repeated flooding): the gateway records it as a violation. */
  repeat?: boolean;
  /** Set by the pipeline on findings of a filter in shadow mode: recorded, never enforced. */
  shadow?: boolean;
}

export type VerdictAction = 'pass' | 'mask' | 'hold' | 'drop';
export interface Verdict {
  action: VerdictAction;
  /** For `mask`: the rewritten text. */
  text?: string;
  findings?: Finding[];
  /** For `drop`: what the sender is told (default `blocked`). */
  error?: ErrorBody;
}

export interface PipelineMessage {
  kind: MessageKind;
  id: string;
  room: string;
  userId: string;
  text?: string;
  image?: Uint8Array;
}

export interface FilterContext {
  /** Milliseconds this filter may take (min of its timeout and what is left of the budget). */
  readonly deadlineMs: number;
  /** Aborted when the filter's time is up: async filters should stop work. Made on first use. */
  readonly signal: AbortSignal;
}

export type FailureDirection = 'pass' | 'hold' | 'drop';

export interface Filter {
  readonly name: string;
  readonly kinds: readonly MessageKind[];
  readonly timeoutMs: number;
  readonly onFailure: FailureDirection;
  readonly shadow?: boolean;
  /**
   * A cheap, synchronous, in-process check that runs on every message even when the budget is spent
   * (DESIGN.md: the keyword filter is never skipped). Budgets and timeouts still bound async filters.
   */
  readonly neverSkip?: boolean;
  check(msg: PipelineMessage, ctx: FilterContext): Verdict | Promise<Verdict>;
}

export type Outcome = VerdictAction | 'shadow' | 'timeout' | 'error' | 'budget';

export interface PipelineResult {
  action: VerdictAction;
  /** The text after masks (present when some filter masked). */
  text?: string;
  findings: Finding[];
  /** For drop: what to tell the sender. */
  error?: ErrorBody;
  /** Filters that failed (timeout, throw, budget) and the direction applied. */
  failures: { filter: string; outcome: 'timeout' | 'error' | 'budget'; applied: FailureDirection }[];
}

export interface PipelineOptions {
  /** Budget per message kind, in ms. */
  budgetMs: Readonly<Record<MessageKind, number>>;
  /** Called once per filter run with the outcome and its duration in seconds. */
  observe?: (filter: string, outcome: Outcome, seconds: number) => void;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * A filter run's context; the AbortController is made only if a filter asks for the signal. One
 * per message while filters answer synchronously (deadlineMs is reset for each); a filter that
 * answers with a promise keeps its own, and every later filter gets a fresh one.
 */
class RunContext implements FilterContext {
  private ac: AbortController | undefined;
  constructor(public deadlineMs: number) {}
  get signal(): AbortSignal {
    return (this.ac ??= new AbortController()).signal;
  }
  abort(): void {
    this.ac?.abort();
  }
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

const NO_FINDINGS: Finding[] = [];
/** Shared while a run has no failure (most runs): replaced by a fresh array on the first. */
const NO_FAILURES = Object.freeze([]) as unknown as PipelineResult['failures'];
const blockedDefault = (f: string): ErrorBody => ({ code: 'blocked', message: `refused by ${f}`, category: 'unknown', policy: f });
const unavailable = (f: string): ErrorBody => ({ code: 'unavailable', message: `${f} could not check this message in time` });

/** Mutable state of one run. */
interface RunState {
  action: VerdictAction;
  text: string | undefined;
  masked: boolean;
  findings: Finding[];
  error: ErrorBody | undefined;
  failures: PipelineResult['failures'];
}

export class Pipeline {
  private readonly byKind: Record<MessageKind, Filter[]>;
  private readonly now: () => number;

  constructor(
    filters: readonly Filter[],
    private readonly options: PipelineOptions,
  ) {
    this.byKind = { text: filters.filter((f) => f.kinds.includes('text')), image: filters.filter((f) => f.kinds.includes('image')) };
    this.now = options.now ?? (() => performance.now());
  }

  get filters(): readonly Filter[] {
    return [...new Set([...this.byKind.text, ...this.byKind.image])];
  }

  /**
   * Run the filters for `msg`. Synchronous unless some filter returns a promise. The hot path of
   * every chat message: one clock read per filter (a filter's end is the next one's start) and
   * one context object per message.
   */
  run(msg: PipelineMessage): PipelineResult | Promise<PipelineResult> {
    const filters = this.byKind[msg.kind];
    const state: RunState = { action: 'pass', text: msg.text, masked: false, findings: NO_FINDINGS, error: undefined, failures: NO_FAILURES };
    const start = this.now();
    const budget = this.options.budgetMs[msg.kind];
    let t0 = start;
    let ctx: RunContext | undefined;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      const left = budget - (t0 - start);
      if (left <= 0 && !f.neverSkip) {
        this.fail(state, f, 'budget', 0);
        if (state.action === 'drop') return this.result(state);
        continue;
      }
      const deadline = Math.max(0, Math.min(f.timeoutMs, left));
      if (ctx) ctx.deadlineMs = deadline;
      else ctx = new RunContext(deadline);
      let v: Verdict | Promise<Verdict>;
      try {
        v = f.check(state.masked ? { ...msg, text: state.text } : msg, ctx);
      } catch {
        const t1 = this.now();
        this.fail(state, f, 'error', (t1 - t0) / 1000);
        t0 = t1;
        if (state.action === 'drop') return this.result(state);
        continue;
      }
      if (isThenable(v)) return this.continueAsync(msg, filters, i, v, t0, ctx, state, start, budget);
      const t1 = this.now();
      if (this.apply(state, f, v, (t1 - t0) / 1000)) return this.result(state);
      t0 = t1;
    }
    return this.result(state);
  }

  private async continueAsync(
    msg: PipelineMessage,
    filters: Filter[],
    index: number,
    first: Promise<Verdict>,
    t0: number,
    ctx: RunContext,
    state: RunState,
    start: number,
    budget: number,
  ): Promise<PipelineResult> {
    let pending: Promise<Verdict> | undefined = first;
    for (let i = index; i < filters.length; i++) {
      const f = filters[i]!;
      if (!pending) {
        const left = budget - (this.now() - start);
        if (left <= 0 && !f.neverSkip) {
          this.fail(state, f, 'budget', 0);
          if (state.action === 'drop') return this.result(state);
          continue;
        }
        ctx = new RunContext(Math.max(0, Math.min(f.timeoutMs, left)));
        t0 = this.now();
        try {
          const v = f.check(state.masked ? { ...msg, text: state.text } : msg, ctx);
          if (!isThenable(v)) {
            if (this.apply(state, f, v, (this.now() - t0) / 1000)) return this.result(state);
            continue;
          }
          pending = v;
        } catch {
          this.fail(state, f, 'error', (this.now() - t0) / 1000);
          if (state.action === 'drop') return this.result(state);
          continue;
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, ctx.deadlineMs));
      });
      let outcome: Verdict | 'timeout' | 'error';
      try {
        outcome = await Promise.race([pending, timeout]);
      } catch {
        outcome = 'error';
      } finally {
        clearTimeout(timer);
      }
      pending = undefined;
      const seconds = (this.now() - t0) / 1000;
      if (outcome === 'timeout' || outcome === 'error') {
        ctx.abort();
        this.fail(state, f, outcome, seconds);
        if (state.action === 'drop') return this.result(state);
        continue;
      }
      if (this.apply(state, f, outcome, seconds)) return this.result(state);
    }
    return this.result(state);
  }

  /** Apply a verdict; returns true when the chain stops (drop). */
  private apply(state: RunState, f: Filter, v: Verdict, seconds: number): boolean {
    if (v.findings?.length) {
      const found = f.shadow ? v.findings.map((x) => ({ ...x, shadow: true })) : v.findings;
      state.findings = state.findings === NO_FINDINGS ? [...found] : state.findings.concat(found);
    }
    if (f.shadow) {
      this.options.observe?.(f.name, v.action === 'pass' ? 'pass' : 'shadow', seconds);
      return false;
    }
    this.options.observe?.(f.name, v.action, seconds);
    switch (v.action) {
      case 'pass':
        return false;
      case 'mask':
        if (v.text !== undefined) {
          state.text = v.text;
          state.masked = true;
        }
        if (state.action === 'pass') state.action = 'mask';
        return false;
      case 'hold':
        state.action = 'hold';
        return false;
      case 'drop':
        state.action = 'drop';
        state.error = v.error ?? blockedDefault(f.name);
        return true;
    }
  }

  private fail(state: RunState, f: Filter, outcome: 'timeout' | 'error' | 'budget', seconds: number): void {
    this.options.observe?.(f.name, outcome, seconds);
    if (state.failures === NO_FAILURES) state.failures = [];
    state.failures.push({ filter: f.name, outcome, applied: f.onFailure });
    if (f.shadow || f.onFailure === 'pass') return;
    if (f.onFailure === 'hold') {
      if (state.action !== 'drop') state.action = 'hold';
      return;
    }
    state.action = 'drop';
    state.error = unavailable(f.name);
  }

  private result(state: RunState): PipelineResult {
    const r: PipelineResult = { action: state.action, findings: state.findings, failures: state.failures };
    if (state.masked) r.text = state.text;
    if (state.error) r.error = state.error;
    return r;
  }
}
