/**
 * The run-time term lists: one global list and one per room, changed while the gateway runs.
 *
 * Mutations are synchronous and cheap (structural validation, a map update); listeners hear
 * which scope changed and rebuild that scope's matcher off the event loop. `snapshot()` is plain
 * JSON, so the gateway can store it and propagate changes between nodes (e.g. through Redis) and
 * `restore()` it on the other side.
 */
import { assertScope, isScope, TermListError, termKey, validateTerms, type Scope, type Term, type TermInput } from './terms.ts';

export interface TermListsSnapshot {
  version: 1;
  /** Scope (`global`, `room:<id>`) → its terms in insertion order. */
  lists: Record<string, Term[]>;
}

export interface AddResult {
  added: number;
  /** Terms whose canonical string was already listed: replaced (id, category, action...). */
  updated: number;
}

export type ChangeListener = (scope: Scope) => void;

/**
 * Terms validated per turn of the event loop by the async variants: ~2k terms is a few
 * milliseconds of validation, so a 100k-term import never holds the loop for long.
 */
export const VALIDATE_SLICE = 2_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** validateTerms in slices, yielding to the event loop between them; throws like validateTerms. */
async function validateSliced(input: unknown, idPrefix: string): Promise<Term[]> {
  if (!Array.isArray(input) || input.length <= VALIDATE_SLICE) return validateTerms(input, idPrefix);
  const out: Term[] = [];
  const issues: string[] = [];
  for (let from = 0; from < input.length; from += VALIDATE_SLICE) {
    if (from > 0) await nextTurn();
    try {
      for (const t of validateTerms(input, idPrefix, from, from + VALIDATE_SLICE)) out.push(t);
    } catch (err) {
      if (!(err instanceof TermListError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (issues.length) throw new TermListError(issues);
  return out;
}

export class TermLists {
  private readonly lists = new Map<Scope, Map<string, Term>>();
  private readonly listeners = new Set<ChangeListener>();
  /** Bumped on every change of a scope (see addMany). */
  private readonly versions = new Map<Scope, number>();

  /** Adds or replaces terms (keyed by their canonical string); throws TermListError if invalid. */
  add(scope: Scope, terms: readonly TermInput[]): AddResult {
    assertScope(scope);
    return this.commit(scope, validateTerms(terms, scope));
  }

  /**
   * `add` for big imports: validates a slice at a time with a turn of the event loop between
   * slices, assembles the new list the same way, then applies everything at once (nothing
   * changes if any term is invalid).
   */
  async addMany(scope: Scope, terms: readonly TermInput[]): Promise<AddResult> {
    assertScope(scope);
    const valid = await validateSliced(terms, scope);
    // The new list is assembled beside the live one, a slice at a time, then swapped in.
    const version = this.versionOf(scope);
    const next = new Map<string, Term>();
    let n = 0;
    for (const [key, t] of this.lists.get(scope) ?? []) {
      next.set(key, t);
      if (++n % VALIDATE_SLICE === 0) await nextTurn();
    }
    let added = 0;
    let updated = 0;
    for (const t of valid) {
      if (next.has(t.term)) updated++;
      else added++;
      next.set(t.term, t);
      if (++n % VALIDATE_SLICE === 0) await nextTurn();
    }
    // Changed meanwhile by a synchronous add/remove: apply on top of that instead.
    if (this.versionOf(scope) !== version) return this.commit(scope, valid);
    if (valid.length === 0) return { added, updated };
    this.lists.set(scope, next);
    this.emit(scope);
    return { added, updated };
  }

  private commit(scope: Scope, valid: Term[]): AddResult {
    let list = this.lists.get(scope);
    if (!list) {
      list = new Map();
      this.lists.set(scope, list);
    }
    let added = 0;
    let updated = 0;
    for (const t of valid) {
      if (list.has(t.term)) updated++;
      else added++;
      list.set(t.term, t);
    }
    if (valid.length) this.emit(scope);
    return { added, updated };
  }

  /** Removes terms by their listed string (wildcards included, any case); returns how many. */
  remove(scope: Scope, termStrings: readonly string[]): number {
    assertScope(scope);
    if (!Array.isArray(termStrings)) throw new TermListError(['termStrings: expected an array of strings']);
    const list = this.lists.get(scope);
    if (!list) return 0;
    let removed = 0;
    for (const s of termStrings) {
      if (typeof s === 'string' && list.delete(termKey(s))) removed++;
    }
    if (list.size === 0) this.lists.delete(scope);
    if (removed) this.emit(scope);
    return removed;
  }

  /** The terms of a scope (copies), in insertion order. */
  list(scope: Scope): Term[] {
    assertScope(scope);
    return [...(this.lists.get(scope)?.values() ?? [])].map((t) => ({ ...t }));
  }

  /** The terms of a scope without copying, for building its matcher. */
  termsOf(scope: Scope): Iterable<Term> {
    return this.lists.get(scope)?.values() ?? [];
  }

  size(scope: Scope): number {
    return this.lists.get(scope)?.size ?? 0;
  }

  /** Scopes that have at least one term. */
  scopes(): Scope[] {
    return [...this.lists.keys()];
  }

  snapshot(): TermListsSnapshot {
    const lists: Record<string, Term[]> = {};
    for (const [scope, list] of this.lists) lists[scope] = [...list.values()].map((t) => ({ ...t }));
    return { version: 1, lists };
  }

  /**
   * Replaces every list with the snapshot's (validated first: on error nothing changes); every
   * scope that changed, appeared or disappeared is announced.
   */
  restore(snapshot: unknown): void {
    const next = new Map<Scope, Map<string, Term>>();
    const issues: string[] = [];
    for (const [scope, terms] of snapshotEntries(snapshot)) {
      try {
        addValid(next, scope, validateTerms(terms, scope));
      } catch (err) {
        issues.push(...scopedIssues(err, scope));
      }
    }
    this.replaceAll(next, issues);
  }

  /** `restore` for big snapshots: validates in slices, yielding to the event loop between them. */
  async restoreAsync(snapshot: unknown): Promise<void> {
    const next = new Map<Scope, Map<string, Term>>();
    const issues: string[] = [];
    for (const [scope, terms] of snapshotEntries(snapshot)) {
      try {
        const valid = await validateSliced(terms, scope);
        if (valid.length === 0) continue;
        const list = new Map<string, Term>();
        for (let i = 0; i < valid.length; i++) {
          list.set(valid[i]!.term, valid[i]!);
          if ((i + 1) % VALIDATE_SLICE === 0) await nextTurn();
        }
        next.set(scope, list);
      } catch (err) {
        issues.push(...scopedIssues(err, scope));
      }
    }
    this.replaceAll(next, issues);
  }

  private replaceAll(next: Map<Scope, Map<string, Term>>, issues: string[]): void {
    if (issues.length) throw new TermListError(issues);
    const changed = new Set<Scope>();
    for (const scope of new Set([...this.lists.keys(), ...next.keys()])) {
      if (!sameList(this.lists.get(scope), next.get(scope))) changed.add(scope);
    }
    this.lists.clear();
    for (const [scope, list] of next) this.lists.set(scope, list);
    for (const scope of changed) this.emit(scope);
  }

  /** Calls `listener` after every change of a scope; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private versionOf(scope: Scope): number {
    return this.versions.get(scope) ?? 0;
  }

  private emit(scope: Scope): void {
    this.versions.set(scope, this.versionOf(scope) + 1);
    for (const l of this.listeners) l(scope);
  }
}

/** The (scope, terms) pairs of a snapshot; throws TermListError on a bad shape or scope. */
function snapshotEntries(snapshot: unknown): [Scope, unknown][] {
  const s = snapshot as Partial<TermListsSnapshot> | null;
  if (s === null || typeof s !== 'object' || s.version !== 1 || s.lists === null || typeof s.lists !== 'object') {
    throw new TermListError(['snapshot: expected { version: 1, lists: { [scope]: Term[] } }']);
  }
  const bad = Object.keys(s.lists).filter((k) => !isScope(k));
  if (bad.length) throw new TermListError(bad.map((k) => `lists[${JSON.stringify(k)}]: not a scope ("global" or "room:<id>")`));
  return Object.entries(s.lists) as [Scope, unknown][];
}

function addValid(next: Map<Scope, Map<string, Term>>, scope: Scope, terms: Term[]): void {
  if (terms.length === 0) return;
  const list = new Map<string, Term>();
  for (const t of terms) list.set(t.term, t);
  next.set(scope, list);
}

function scopedIssues(err: unknown, scope: Scope): string[] {
  if (!(err instanceof TermListError)) throw err;
  return err.issues.map((i) => `lists[${JSON.stringify(scope)}].${i}`);
}

function sameList(a: Map<string, Term> | undefined, b: Map<string, Term> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  if (!a || !b) return true;
  const ia = a.values();
  for (const tb of b.values()) {
    const ta = ia.next().value as Term;
    if (ta.term !== tb.term || ta.id !== tb.id || ta.action !== tb.action || ta.category !== tb.category || ta.severity !== tb.severity) return false;
  }
  return true;
}
