/**
 * Terms → a matcher over normalised text.
 *
 * `compileMatcherTables` (pure, typed arrays only — it runs in the build worker) normalises each
 * term exactly as messages are normalised, records per position what the text must show there
 * (a real double letter, a gap the term allows or requires), expands the "i or l" class, and
 * builds one Aho–Corasick automaton for the whole list. `TermMatcher` (main thread) scans a
 * message once, then checks each hit against those positions and the term's mode, and drops
 * hits that an allow entry contains.
 *
 * Judging a hit (symbols a..b of the message):
 *   - a position that needs a double letter needs a run of ≥ 2 ("ass" does not match "as");
 *     otherwise any run length matches ("fuuuck"). A run at either end of the hit may be used
 *     only partly ("a a s s": the a run spans two one-letter words, the hit starts with the
 *     second);
 *   - gaps (separators) inside the hit that the term did not write (as a space) are evasion or
 *     coincidence: only punctuation → judged as one word ("f.u.c.k", "f*ck", "sh.it");
 *     whitespace → only when every letter of the hit is a word of its own ("f u c k"), which
 *     keeps "this hit" from reading as "shit" and "an alligator" as "anal";
 *   - then the mode: word needs a word start and a word end at the hit's ends, prefix a start,
 *     suffix an end, anywhere nothing.
 */
import { AhoCorasick, automatonBuffers, buildAutomaton, HitList, type AutomatonTables } from './aho-corasick.ts';
import {
  F_CS,
  F_IG,
  F_IS,
  F_MULTI,
  F_MULTI_FIRST,
  F_MULTI_LAST,
  F_WE,
  F_WS,
  IL,
  NormalizedText,
  normalizeInto,
  WORD_START_BITS,
} from './normalize.ts';
import type { TermMode } from './terms.ts';

// Per-position requirements of a term.
/** The text needs a run of two or more here. */
const T_DOUBLE = 1;
/** The term has a separator before this position: a gap is fine (terms)... */
const T_GAP_OK = 2;
/** ... or, in an allow entry, required: any separator where it wrote punctuation... */
const T_GAP_REQUIRED = 4;
/** ... whitespace where it wrote a space. */
const T_SPACE_REQUIRED = 8;
/** The same for a separator inside this run ("big guy"). */
const T_INNER_OK = 16;
const T_INNER_REQUIRED = 32;
const T_INNER_SPACE_REQUIRED = 64;

export const MODE_CODE: Readonly<Record<TermMode, number>> = { word: 0, prefix: 1, suffix: 2, anywhere: 3 };
const M_WORD = 0;
const M_PREFIX = 1;
const M_SUFFIX = 2;

/**
 * At most this many spellings of one term through the "i or l" class (1, |, capital I): 16
 * covers four ambiguous letters, beyond which the remaining i/l positions match only themselves.
 * Every spelling is another path in the automaton; four covers nearly all real terms, and most
 * terms have one or two (≈2.6 spellings per term on average in the 100k-term benchmark list).
 */
export const MAX_IL_VARIANTS = 16;
/** Hits examined per message and matcher: a bound on work for text built to hit everything. */
export const MAX_HITS_PER_SCAN = 4096;
/** Word starts remembered at the end of an earlier text (see `find`): one bit per symbol. */
export const EARLIER_STARTS_BITS = WORD_START_BITS;
/** Fewest letters a term must keep after normalisation. */
const MIN_TERM_LETTERS = 2;

/** What the build worker receives: one entry per term, texts without wildcards. */
export interface CompileSpec {
  /** Term texts joined by "\n" (terms have no control characters). */
  texts: string;
  /** MODE_CODE per term. */
  modes: Uint8Array;
  /** 1 for an allow entry. */
  allow: Uint8Array;
  /** Precedence: an allow entry suppresses matches of terms whose rank is ≤ its own. */
  ranks: Uint8Array;
}

export interface MatcherTables {
  automaton: AutomatonTables;
  patternTerm: Int32Array;
  termMode: Uint8Array;
  termAllow: Uint8Array;
  termRank: Uint8Array;
  /** Per pattern + 1: offset of its positions in patternFlags. */
  patternStart: Int32Array;
  /** Per pattern position: T_* requirements. */
  patternFlags: Uint8Array;
  /** Indices of terms dropped because they normalise to fewer than two letters. */
  rejected: Int32Array;
  maxPatternLength: number;
  /** Time the build took where it ran (ms). */
  buildMs: number;
}

export function matcherBuffers(t: MatcherTables): ArrayBuffer[] {
  return [
    ...automatonBuffers(t.automaton),
    ...[t.patternTerm, t.patternStart, t.patternFlags, t.termMode, t.termAllow, t.termRank, t.rejected].map((a) => a.buffer as ArrayBuffer),
  ];
}

/** A growable Int32Array (or Uint8Array: `bytes`). */
class IntVec {
  a: Int32Array | Uint8Array;
  n = 0;
  constructor(
    capacity = 1024,
    private readonly bytes = false,
  ) {
    this.a = bytes ? new Uint8Array(Math.max(16, capacity)) : new Int32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    this.reserve(1);
    this.a[this.n++] = v;
  }
  /** Room for `k` more values. */
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    let cap = this.a.length * 2;
    while (cap < this.n + k) cap *= 2;
    const b = this.bytes ? new Uint8Array(cap) : new Int32Array(cap);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  /** A copy of the values (its own buffer, to transfer). */
  take(): Int32Array {
    const out = new Int32Array(this.n);
    out.set(this.a.subarray(0, this.n));
    return out;
  }
  /** The values as a view (no copy; for use in this thread). */
  view(): Int32Array {
    return this.a.subarray(0, this.n) as Int32Array;
  }
  takeBytes(): Uint8Array {
    const out = new Uint8Array(this.n);
    out.set(this.a.subarray(0, this.n));
    return out;
  }
}

const CODE_I = 0x69;
const CODE_L = 0x6c;

/** A gap before a position becomes a gap inside the run when two positions merge into one. */
function gapToInner(p: number): number {
  return (p & T_GAP_OK ? T_INNER_OK : 0) | (p & T_GAP_REQUIRED ? T_INNER_REQUIRED : 0) | (p & T_SPACE_REQUIRED ? T_INNER_SPACE_REQUIRED : 0);
}

/** Builds the tables for a list. Pure; runs in the build worker (or in process for small lists). */
export function compileMatcherTables(spec: CompileSpec): MatcherTables {
  const t0 = performance.now();
  const texts = spec.texts.length ? spec.texts.split('\n') : [];
  const n = texts.length;
  const patCodes = new IntVec(spec.texts.length * 3);
  const patFlags = new IntVec(spec.texts.length * 3, true);
  const patOffsets = new IntVec(n * 3);
  const patTerm = new IntVec(n * 3);
  const rejected = new IntVec();
  const nt = new NormalizedText(64);
  const flags = new Int32Array(256);
  const variant = new Int32Array(256);
  const ambPos = new Int32Array(8);
  let maxPatternLength = 0;
  patOffsets.push(0);

  for (let t = 0; t < n; t++) {
    normalizeInto(nt, texts[t]!);
    let letters = 0;
    for (let k = 0; k < nt.length; k++) letters += nt.runs[k]!;
    if (letters < MIN_TERM_LETTERS) {
      rejected.push(t);
      continue;
    }
    const allow = spec.allow[t] === 1;
    const m = Math.min(nt.length, variant.length);
    for (let k = 0; k < m; k++) {
      const f = nt.flags[k]!;
      let p = nt.runs[k]! >= 2 ? T_DOUBLE : 0;
      if (k > 0 && f & F_WS) p |= !allow ? T_GAP_OK : f & F_CS ? T_SPACE_REQUIRED : T_GAP_REQUIRED;
      if (f & F_IG) p |= !allow ? T_INNER_OK : f & F_IS ? T_INNER_SPACE_REQUIRED : T_INNER_REQUIRED;
      flags[k] = p;
    }
    // "i or l" spellings: positions holding i, l or IL, as many as fit in MAX_IL_VARIANTS.
    let amb = 0;
    let variants = 1;
    for (let k = 0; k < m && amb < ambPos.length; k++) {
      const c = nt.codes[k]!;
      if (c !== CODE_I && c !== CODE_L && c !== IL) continue;
      const options = c === IL ? 3 : 2;
      if (variants * options > MAX_IL_VARIANTS) break;
      variants *= options;
      ambPos[amb++] = k;
    }
    if (amb === 0) {
      // One spelling, as normalised: no merging to consider.
      patCodes.reserve(m);
      patFlags.reserve(m);
      const at = patCodes.n;
      for (let k = 0; k < m; k++) {
        patCodes.a[at + k] = nt.codes[k]!;
        patFlags.a[at + k] = flags[k]!;
      }
      patCodes.n = patFlags.n = at + m;
      patOffsets.push(at + m);
      patTerm.push(t);
      if (m > maxPatternLength) maxPatternLength = m;
      continue;
    }
    for (let v = 0; v < variants; v++) {
      for (let k = 0; k < m; k++) variant[k] = nt.codes[k]!;
      let rest = v;
      let changed = 0;
      // The last ambiguous position varies fastest, so consecutive spellings share the longest
      // prefix (the automaton build skips what the previous pattern already laid down).
      for (let j = amb - 1; j >= 0; j--) {
        const k = ambPos[j]!;
        const c = nt.codes[k]!;
        const options = c === IL ? 3 : 2;
        const pick = rest % options;
        rest = (rest - pick) / options;
        if (pick === 0) continue;
        variant[k] = c === IL ? (pick === 1 ? CODE_I : CODE_L) : IL;
        changed |= 1 << j;
      }
      // Where a spelling puts IL next to IL ("kill" as k-IL-IL, typed "k111"), the text has one
      // run there, so the two positions become one that needs a double.
      patCodes.reserve(m);
      patFlags.reserve(m);
      const pc = patCodes.a;
      const pf = patFlags.a;
      let at = patCodes.n;
      const first = at;
      let j = 0;
      let prevChanged = false;
      for (let k = 0; k < m; k++) {
        const isChanged = j < amb && ambPos[j] === k ? (changed >> j++) & 1 : 0;
        const merge = at > first && variant[k] === pc[at - 1] && (isChanged === 1 || prevChanged);
        prevChanged = isChanged === 1;
        if (merge) {
          pf[at - 1] = pf[at - 1]! | T_DOUBLE | gapToInner(flags[k]!) | (flags[k]! & (T_INNER_OK | T_INNER_REQUIRED | T_INNER_SPACE_REQUIRED));
          continue;
        }
        pc[at] = variant[k]!;
        pf[at] = flags[k]!;
        at++;
      }
      const len = at - first;
      patCodes.n = patFlags.n = at;
      patOffsets.push(patCodes.n);
      patTerm.push(t);
      if (len > maxPatternLength) maxPatternLength = len;
    }
  }
  const offsets = patOffsets.take();
  const automaton = buildAutomaton(patCodes.view(), offsets);
  return {
    automaton,
    patternTerm: patTerm.take(),
    patternStart: offsets,
    patternFlags: patFlags.takeBytes(),
    termMode: spec.modes.slice(),
    termAllow: spec.allow.slice(),
    termRank: spec.ranks.slice(),
    rejected: rejected.take(),
    maxPatternLength,
    buildMs: performance.now() - t0,
  };
}

/**
 * Verified matches: term index, first and last symbol, the UTF-16 span of the text they cover
 * (`from`/`to`), and which matcher (`source`) found it.
 */
export class MatchList {
  count = 0;
  term = new Int32Array(16);
  start = new Int32Array(16);
  end = new Int32Array(16);
  from = new Int32Array(16);
  to = new Int32Array(16);
  source = new Uint8Array(16);

  push(term: number, start: number, end: number, source: number, from = -1, to = -1): void {
    if (this.count === this.term.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.term = grow(this.term, (n) => new Int32Array(n));
      this.start = grow(this.start, (n) => new Int32Array(n));
      this.end = grow(this.end, (n) => new Int32Array(n));
      this.from = grow(this.from, (n) => new Int32Array(n));
      this.to = grow(this.to, (n) => new Int32Array(n));
      this.source = grow(this.source, (n) => new Uint8Array(n));
    }
    this.term[this.count] = term;
    this.start[this.count] = start;
    this.end[this.count] = end;
    this.from[this.count] = from;
    this.to[this.count] = to;
    this.source[this.count] = source;
    this.count++;
  }
}

let matcherIds = 0;

// Scratch shared by all matchers (matching is synchronous and single-threaded).
const hits = new HitList(256);
const allowed = new MatchList();

/** A compiled list. `T` is whatever the owner keeps per term (id, category, action...). */
export class TermMatcher<T = unknown> {
  private readonly ac: AhoCorasick;
  private readonly patternTerm: Int32Array;
  private readonly patternLength: Int32Array;
  private readonly termMode: Uint8Array;
  private readonly termAllow: Uint8Array;
  private readonly termRank: Uint8Array;
  private readonly patternStart: Int32Array;
  private readonly patternFlags: Uint8Array;
  private readonly hasAllow: boolean;
  readonly maxPatternLength: number;
  /** Identity of this build, to tell a cached automaton state from another matcher's. */
  readonly id = ++matcherIds;
  /** Set by `find`: the automaton state after the scan, and whether a hit reached before `from`. */
  endState = 0;
  crossing = false;
  // UTF-16 span of the last verified hit (fields rather than a returned object: no allocation).
  private spanFrom = 0;
  private spanTo = 0;

  constructor(
    readonly tables: MatcherTables,
    /** Per term index, as given to the build. */
    readonly terms: readonly T[],
  ) {
    this.ac = new AhoCorasick(tables.automaton);
    this.patternTerm = tables.patternTerm;
    this.patternLength = tables.automaton.patternLength;
    this.termMode = tables.termMode;
    this.termAllow = tables.termAllow;
    this.termRank = tables.termRank;
    this.patternStart = tables.patternStart;
    this.patternFlags = tables.patternFlags;
    this.hasAllow = tables.termAllow.includes(1);
    this.maxPatternLength = tables.maxPatternLength;
  }

  /** Builds in process (small lists, tests); big lists go through the build worker instead. */
  static compile<T>(spec: CompileSpec, terms: readonly T[]): TermMatcher<T> {
    return new TermMatcher(compileMatcherTables(spec), terms);
  }

  /** Whether a pattern ends at `state` (an `endState`). */
  isHitState(state: number): boolean {
    return this.ac.isHit(state);
  }

  /** Whether this matcher has any pattern at all. */
  get empty(): boolean {
    return this.patternTerm.length === 0;
  }

  /**
   * Appends to `out` the matches in `nt` from symbol `from` on whose last symbol is ≥ `minEnd`,
   * minus those an allow entry contains; returns the number appended.
   *
   * `startState` continues a stream: the state a previous scan ended in (`endState`), e.g. after
   * the same user's last message. A hit that would start before `from` then belongs partly to
   * that earlier text and cannot be judged here: it is not appended, and `crossing` is set —
   * unless `earlierStarts` shows it cannot be a match: bit i set = a word starts i + 1 symbols
   * before `from`, and a whole-word or prefix term must start at one (−1: unknown, no check).
   */
  find(nt: NormalizedText, from: number, minEnd: number, out: MatchList, source: number, startState = 0, earlierStarts = -1): number {
    const base = out.count;
    this.crossing = false;
    this.endState = startState;
    if (this.patternTerm.length === 0 || nt.length <= from) return 0;
    hits.count = 0;
    this.endState = this.ac.scan(nt.codes, from, nt.length, hits, MAX_HITS_PER_SCAN, startState);
    if (hits.count === 0) return 0;
    allowed.count = 0;
    for (let h = 0; h < hits.count; h++) {
      const b = hits.end[h]!;
      if (b < minEnd) continue;
      const p = hits.pattern[h]!;
      const t = this.patternTerm[p]!;
      const a = b - this.patternLength[p]! + 1;
      if (a < from) {
        // An allow entry reaching back matters only if a term does too, which says so itself.
        if (this.termAllow[t] === 1) continue;
        const x = from - a;
        const mode = this.termMode[t]!;
        if (earlierStarts !== -1 && (mode === M_WORD || mode === M_PREFIX) && x <= EARLIER_STARTS_BITS && ((earlierStarts >>> (x - 1)) & 1) === 0) continue;
        this.crossing = true;
        continue;
      }
      if (!this.verify(p, t, a, b, nt)) continue;
      if (this.termAllow[t] === 1) allowed.push(t, a, b, source);
      else out.push(t, a, b, source, this.spanFrom, this.spanTo);
    }
    if (this.hasAllow && allowed.count > 0) this.suppress(out, base);
    return out.count - base;
  }

  /** Removes matches (from `base` on) that an allow entry of equal or higher rank contains. */
  private suppress(out: MatchList, base: number): void {
    let w = base;
    for (let r = base; r < out.count; r++) {
      const a = out.start[r]!;
      const b = out.end[r]!;
      const rank = this.termRank[out.term[r]!]!;
      let keep = true;
      for (let k = 0; k < allowed.count && keep; k++) {
        if (allowed.start[k]! <= a && b <= allowed.end[k]! && this.termRank[allowed.term[k]!]! >= rank) keep = false;
      }
      if (!keep) continue;
      out.term[w] = out.term[r]!;
      out.start[w] = a;
      out.end[w] = b;
      out.from[w] = out.from[r]!;
      out.to[w] = out.to[r]!;
      out.source[w] = out.source[r]!;
      w++;
    }
    out.count = w;
  }

  /**
   * Does the hit of `pattern` (a spelling of term `t`) on symbols a..b meet its positions, gaps and mode? Sets
   * spanFrom/spanTo to the text it covers.
   *
   * A run at either end of the hit that spans words (it has a gap inside: "a a s s", "a.ss.s")
   * is used only for its word part next to the hit — the part after its last gap at the start,
   * before its first gap at the end — when that part has the letters the term needs there.
   */
  private verify(pattern: number, t: number, a: number, b: number, nt: NormalizedText): boolean {
    const flags = nt.flags;
    const runs = nt.runs;
    const tf = this.patternFlags;
    const off = this.patternStart[pattern]! - a;
    const allow = this.termAllow[t] === 1;
    const partialStart = a < b && (flags[a]! & F_IG) !== 0 && ((tf[off + a]! & T_DOUBLE) === 0 || nt.lastRun[a]! >= 2);
    const partialEnd = a < b && (flags[b]! & F_IG) !== 0 && ((tf[off + b]! & T_DOUBLE) === 0 || nt.firstRun[b]! >= 2);
    let unexpectedGap = false;
    let unexpectedSpace = false;
    let multi = false;
    for (let k = a; k <= b; k++) {
      const p = tf[off + k]!;
      const f = flags[k]!;
      if (k > a) {
        if (f & F_WS) {
          if (p & T_SPACE_REQUIRED && (f & F_CS) === 0) return false;
          // A gap the term did not write: punctuation is tolerated, whitespace judged below.
          if ((p & (T_GAP_OK | T_GAP_REQUIRED | T_SPACE_REQUIRED)) === 0) {
            unexpectedGap = true;
            if (f & F_CS) unexpectedSpace = true;
          }
        } else if (p & (T_GAP_REQUIRED | T_SPACE_REQUIRED)) return false;
      }
      if (k === a && partialStart) {
        if (f & F_MULTI_LAST) multi = true;
        continue;
      }
      if (k === b && partialEnd) {
        if (f & F_MULTI_FIRST) multi = true;
        continue;
      }
      if (p & T_DOUBLE && runs[k]! < 2) return false;
      if (f & F_IG) {
        if (p & T_INNER_SPACE_REQUIRED && (f & F_IS) === 0) return false;
        if ((p & (T_INNER_OK | T_INNER_REQUIRED | T_INNER_SPACE_REQUIRED)) === 0) {
          unexpectedGap = true;
          if (f & F_IS) unexpectedSpace = true;
        }
      } else if (p & (T_INNER_REQUIRED | T_INNER_SPACE_REQUIRED)) return false;
      if (f & F_MULTI) multi = true;
    }
    const wordStart = partialStart || (flags[a]! & F_WS) !== 0;
    const wordEnd = partialEnd || (flags[b]! & F_WE) !== 0;
    this.spanFrom = partialStart ? nt.lastStart[a]! : nt.start[a]!;
    this.spanTo = partialEnd ? nt.firstEnd[b]! : nt.end[b]!;
    // An allow entry is literal about separators: a legitimate word broken up is evasion.
    if (allow && unexpectedGap) return false;
    // Spaced-out letters: only when each letter is a word of its own, aligned on the hit's ends.
    if (unexpectedSpace) return !multi && wordStart && wordEnd;
    const mode = this.termMode[t]!;
    if (mode === M_WORD) return wordStart && wordEnd;
    if (mode === M_PREFIX) return wordStart;
    if (mode === M_SUFFIX) return wordEnd;
    return true;
  }
}
