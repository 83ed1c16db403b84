/**
 * The live matchers of a keyword filter: one for built-in + global terms, one per room that has a
 * list. A change to a list schedules a rebuild of that scope in the build worker; until it
 * arrives the previous matcher keeps serving, and the swap is one reference assignment. Changes
 * made while a scope is building are coalesced into one more build after it.
 */
import type { MatcherBuilder } from './matcher-builder.ts';
import { MODE_CODE, TermMatcher, type CompileSpec, type MatcherTables } from './term-matcher.ts';
import type { TermLists } from './term-lists.ts';
import type { ListName, Scope, Term } from './terms.ts';

/** Allow precedence: an allow entry suppresses matches of terms of equal or lower rank. */
const RANK_BUILTIN = 0;
const RANK_GLOBAL = 1;
const RANK_ROOM = 2;
/** A failed build is retried once: the usual cause is a lost worker, which the builder replaces. */
const BUILD_RETRIES = 1;

export interface MatcherSetHooks {
  onBuildError?: (scope: Scope, error: Error) => void;
  /** Terms a build dropped because they normalise to fewer than two letters. */
  onRejected?: (scope: Scope, terms: Term[]) => void;
  /** A scope's matcher was swapped in (build time in the worker, in ms). */
  onSwap?: (scope: Scope, info: { terms: number; buildMs: number; states: number }) => void;
}

function textOf(t: Term): string {
  switch (t.mode) {
    case 'word':
      return t.term;
    case 'prefix':
      return t.term.slice(0, -1);
    case 'suffix':
      return t.term.slice(1);
    case 'anywhere':
      return t.term.slice(1, -1);
  }
}

/** Terms turned into a build request per turn of the event loop (a few ms each). */
const SPEC_SLICE = 10_000;

/** The build request for a list (synchronous: small lists, user filters). */
export function compileSpec(terms: readonly Term[], rankOf: (index: number) => number): CompileSpec {
  const spec = newSpec(terms.length);
  fillSpec(spec, terms, rankOf, 0, terms.length);
  return finishSpec(spec);
}

/** The same, a slice per turn of the event loop: a 100k-term list never holds the loop long. */
async function compileSpecSliced(terms: readonly Term[], rankOf: (index: number) => number): Promise<CompileSpec> {
  const spec = newSpec(terms.length);
  for (let from = 0; from < terms.length; from += SPEC_SLICE) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    fillSpec(spec, terms, rankOf, from, Math.min(terms.length, from + SPEC_SLICE));
  }
  return finishSpec(spec);
}

interface SpecDraft {
  texts: string[];
  modes: Uint8Array;
  allow: Uint8Array;
  ranks: Uint8Array;
}

function newSpec(n: number): SpecDraft {
  return { texts: new Array<string>(n), modes: new Uint8Array(n), allow: new Uint8Array(n), ranks: new Uint8Array(n) };
}

function fillSpec(spec: SpecDraft, terms: readonly Term[], rankOf: (index: number) => number, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const t = terms[i]!;
    spec.texts[i] = textOf(t);
    spec.modes[i] = MODE_CODE[t.mode];
    spec.allow[i] = t.action === 'allow' ? 1 : 0;
    spec.ranks[i] = rankOf(i);
  }
}

function finishSpec(spec: SpecDraft): CompileSpec {
  return { texts: spec.texts.join('\n'), modes: spec.modes, allow: spec.allow, ranks: spec.ranks };
}

export class MatcherSet {
  /** Built-in terms first (indices < builtinCount), then the global list. */
  global: TermMatcher<Term>;
  readonly builtinCount: number;
  /** Room id → the matcher of that room's list. */
  readonly rooms = new Map<string, TermMatcher<Term>>();
  private readonly dirty = new Set<Scope>();
  private readonly building = new Set<Scope>();
  private flushQueued = false;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private failures: Error[] = [];
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly lists: TermLists,
    private readonly builtin: readonly Term[],
    private readonly builder: MatcherBuilder,
    private readonly hooks: MatcherSetHooks = {},
  ) {
    this.builtinCount = builtin.length;
    // The built-in list is small (a few hundred spellings): built here, so the filter enforces
    // from the first message; the global list, if any, follows from the worker.
    this.global = TermMatcher.compile(compileSpec(builtin, () => RANK_BUILTIN), builtin);
    this.unsubscribe = lists.onChange((scope) => this.markDirty(scope));
    for (const scope of lists.scopes()) this.markDirty(scope);
  }

  /** Which list term `index` of a match came from: source 0 is the global matcher, 1 the room's. */
  listOf(source: number, index: number, room: string): ListName {
    if (source === 1) return `room:${room}`;
    return index < this.builtinCount ? 'builtin' : 'global';
  }

  /** Resolves once every change made so far is built and swapped in; rejects if a build failed. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.settle();
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.dirty.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  private markDirty(scope: Scope): void {
    if (this.closed) return;
    this.dirty.add(scope);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Coalesce the changes of one tick (several add() calls) into one build per scope.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private flush(): void {
    for (const scope of [...this.dirty]) {
      if (this.building.has(scope)) continue;
      this.dirty.delete(scope);
      this.start(scope, BUILD_RETRIES);
    }
    this.settle();
  }

  private start(scope: Scope, retries: number): void {
    const room = scope === 'global' ? undefined : scope.slice('room:'.length);
    if (room !== undefined && this.lists.size(scope) === 0) {
      this.rooms.delete(room);
      return;
    }
    this.building.add(scope);
    const terms: Term[] = room === undefined ? [...this.builtin, ...this.lists.termsOf('global')] : [...this.lists.termsOf(scope)];
    const rankOf = room !== undefined ? () => RANK_ROOM : (i: number) => (i < this.builtinCount ? RANK_BUILTIN : RANK_GLOBAL);
    compileSpecSliced(terms, rankOf)
      .then((spec) => this.builder.build(spec))
      .then(
        (tables) => {
          this.building.delete(scope);
          if (!this.closed) this.swap(scope, room, tables, terms);
          this.flush();
        },
        (err: Error) => {
          this.building.delete(scope);
          if (this.closed) return;
          if (retries > 0) this.start(scope, retries - 1);
          else {
            this.failures.push(err);
            this.hooks.onBuildError?.(scope, err);
            this.flush();
          }
        },
      );
  }

  private swap(scope: Scope, room: string | undefined, tables: MatcherTables, terms: Term[]): void {
    const m = new TermMatcher(tables, terms);
    if (room === undefined) this.global = m;
    else if (m.empty) this.rooms.delete(room);
    else this.rooms.set(room, m);
    if (tables.rejected.length) this.hooks.onRejected?.(scope, [...tables.rejected].map((i) => terms[i]!));
    this.hooks.onSwap?.(scope, { terms: terms.length, buildMs: tables.buildMs, states: tables.automaton.stateCount });
  }

  private settle(): void {
    if (this.dirty.size || this.building.size || this.flushQueued || this.waiters.length === 0) return;
    const waiters = this.waiters;
    const failures = this.failures;
    this.waiters = [];
    this.failures = [];
    for (const w of waiters) {
      if (failures.length) w.reject(failures[0]!);
      else w.resolve();
    }
  }
}
