/**
 * Aho–Corasick over normalised symbols (normalize.ts), laid out in typed arrays so that a matcher
 * for 100k terms is a handful of buffers that a worker builds and transfers back without copying.
 *
 * Layout (states numbered in breadth-first order, so shallow states come first):
 *   - states at depth ≤ DENSE_DEPTH have a full DFA row (`dense`, one Int32 per symbol): one load
 *     per character. Text spends most of its time near the root, and these rows are few (at most
 *     1 + A + A² + A³ for an alphabet of A symbols, far fewer in practice), so they stay in cache
 *     whatever the number of terms;
 *   - deeper states keep only their own edges (`edgeSymbol`/`edgeNext`, usually one) and a
 *     failure link: on a miss the scan follows failure links until a dense state answers —
 *     amortised at most one extra step per character, and no row per deep state, which keeps
 *     100k terms at ~20 bytes per state instead of ~4·A.
 *   - transition targets are stored as `state << 1 | hit`, where `hit` says that some pattern ends
 *     at that state or at one of its suffixes: the no-match path never looks at output tables.
 * Scanning allocates nothing; the caller owns the HitList it fills.
 *
 * Codes are what normalize.ts produces (lowercase letters, digits, other scripts' letters, IL).
 * The alphabet of an automaton is a–z, IL, and whatever other codes its patterns use; any other
 * code is symbol 0, which no pattern contains.
 */
import { IL } from './normalize.ts';

/**
 * Depth up to which states get a full DFA row. 3 keeps the dense part ≤ 1+28+784+21952 rows
 * (≈2.5 MB at the Latin alphabet) and covers the depth at which English text mostly sits.
 */
export const DENSE_DEPTH = 3;

/** Everything a matcher needs, as transferable typed arrays plus a few numbers. */
export interface AutomatonTables {
  alphabetSize: number;
  stateCount: number;
  denseStates: number;
  /** Symbol of each ASCII code (0 = not in the alphabet). */
  ascii: Int32Array;
  /** Non-ASCII codes in the alphabet (IL included), sorted, and their symbols. */
  extraCodes: Int32Array;
  extraSymbols: Int32Array;
  /** denseStates × alphabetSize targets, encoded `state << 1 | hit`. */
  dense: Int32Array;
  /** Per deep state (index state − denseStates): failure link (plain state id). */
  sparseFail: Int32Array;
  /** Per deep state, + 1 at the end: first edge index. */
  sparseEdgeStart: Int32Array;
  edgeSymbol: Uint16Array;
  /** Edge targets, encoded `state << 1 | hit`. */
  edgeNext: Int32Array;
  /** Per state: first pattern ending exactly there, or −1. */
  outHead: Int32Array;
  /** Per state: nearest proper suffix state where a pattern ends, or −1. */
  dictLink: Int32Array;
  /** Per pattern: next pattern ending at the same state, or −1. */
  patternNext: Int32Array;
  /** Per pattern: its length in symbols. */
  patternLength: Int32Array;
}

/** The buffers of `t`, for a `postMessage` transfer list. */
export function automatonBuffers(t: AutomatonTables): ArrayBuffer[] {
  return [t.ascii, t.extraCodes, t.extraSymbols, t.dense, t.sparseFail, t.sparseEdgeStart, t.edgeSymbol, t.edgeNext, t.outHead, t.dictLink, t.patternNext, t.patternLength].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

const A_CODE = 0x61;
/** Symbols 1..26 are a..z and 27 is IL in every automaton; others are numbered from here. */
const IL_SYMBOL = 27;
const FIRST_EXTRA_SYMBOL = 28;

/** Below this many patterns a bucket is sorted by insertion rather than by radix. */
const INSERTION_SORT_BELOW = 24;

/**
 * Pattern indices in lexicographic order of their symbols (a prefix before its extensions):
 * the leading symbols packed into an integer and radix-sorted, then most-significant-digit radix
 * sort per run of equal leading symbols (one counting pass per bucket and depth), insertion sort
 * for small buckets. Linear in the total number of symbols (for a bounded alphabet).
 */
function sortPatterns(symbols: Int32Array, offsets: Int32Array, lengths: Int32Array, A: number): Int32Array {
  const n = lengths.length;
  const keys = new Int32Array(n);
  const count = new Int32Array(A + 1);
  // First the leading symbols, packed into one integer per pattern (read in order, sorted by a
  // two-pass LSD radix sort on 16-bit digits: sequential memory, no per-level random access).
  const bits = 32 - Math.clz32(A);
  const lead = Math.max(1, Math.floor(30 / bits));
  for (let p = 0; p < n; p++) {
    const o = offsets[p]!;
    const len = lengths[p]!;
    let k = 0;
    for (let d = 0; d < lead; d++) k = (k << bits) | (d < len ? symbols[o + d]! + 1 : 0);
    keys[p] = k;
  }
  let idx = new Int32Array(n);
  let tmp = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const digit = new Int32Array(0x10001);
  for (const shift of [0, 16]) {
    digit.fill(0);
    for (let i = 0; i < n; i++) digit[((keys[idx[i]!]! >>> shift) & 0xffff) + 1]!++;
    for (let b = 0; b < 0x10000; b++) digit[b + 1]! += digit[b]!;
    for (let i = 0; i < n; i++) {
      const p = idx[i]!;
      tmp[digit[(keys[p]! >>> shift) & 0xffff]!++] = p;
    }
    const sorted = tmp;
    tmp = idx;
    idx = sorted;
  }
  // Runs of equal leading symbols that go on further are sorted from there on.
  const stack: number[] = [];
  for (let lo = 0; lo < n; ) {
    let hi = lo + 1;
    let longer = lengths[idx[lo]!]! > lead;
    while (hi < n && keys[idx[hi]!] === keys[idx[lo]!]) {
      if (lengths[idx[hi]!]! > lead) longer = true;
      hi++;
    }
    if (hi - lo > 1 && longer) stack.push(lo, hi, lead);
    lo = hi;
  }
  while (stack.length) {
    const d = stack.pop()!;
    const hi = stack.pop()!;
    const lo = stack.pop()!;
    if (hi - lo < INSERTION_SORT_BELOW) {
      for (let i = lo + 1; i < hi; i++) {
        const p = idx[i]!;
        let j = i - 1;
        while (j >= lo && comparePatterns(symbols, offsets, lengths, idx[j]!, p, d) > 0) {
          idx[j + 1] = idx[j]!;
          j--;
        }
        idx[j + 1] = p;
      }
      continue;
    }
    // Key at depth d: 0 when the pattern has ended (it sorts first), else symbol + 1.
    count.fill(0);
    for (let i = lo; i < hi; i++) {
      const p = idx[i]!;
      const k = d < lengths[p]! ? symbols[offsets[p]! + d]! + 1 : 0;
      keys[i] = k;
      count[k]!++;
    }
    let sum = lo;
    for (let b = 0; b <= A; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = lo; i < hi; i++) tmp[count[keys[i]!]!++] = idx[i]!;
    for (let i = lo; i < hi; i++) idx[i] = tmp[i]!;
    // count[b] is now the end of bucket b; bucket 0 (ended) needs no more sorting.
    let start = count[0]!;
    for (let b = 1; b <= A; b++) {
      const end = count[b]!;
      if (end - start > 1) stack.push(start, end, d + 1);
      start = end;
    }
  }
  return idx;
}

/** Compares patterns a and b from depth d on (they are equal before d). */
function comparePatterns(symbols: Int32Array, offsets: Int32Array, lengths: Int32Array, a: number, b: number, d: number): number {
  const la = lengths[a]!;
  const lb = lengths[b]!;
  const oa = offsets[a]!;
  const ob = offsets[b]!;
  const m = Math.min(la, lb);
  for (let k = d; k < m; k++) {
    const x = symbols[oa + k]! - symbols[ob + k]!;
    if (x !== 0) return x;
  }
  return la - lb;
}

/**
 * Builds the automaton for patterns given as code sequences: pattern p is
 * `codes[offsets[p] .. offsets[p + 1])`. Empty patterns are not allowed.
 */
export function buildAutomaton(codes: Int32Array, offsets: Int32Array): AutomatonTables {
  const patternCount = offsets.length - 1;
  // Alphabet.
  const ascii = new Int32Array(128);
  for (let c = 0; c < 26; c++) ascii[A_CODE + c] = c + 1;
  const extra = new Map<number, number>([[IL, IL_SYMBOL]]);
  let alphabetSize = FIRST_EXTRA_SYMBOL;
  const symbols = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    let s: number;
    if (c === IL) s = IL_SYMBOL;
    else if (c < 128) {
      s = ascii[c]!;
      if (s === 0) s = ascii[c] = alphabetSize++;
    } else {
      s = extra.get(c) ?? 0;
      if (s === 0) extra.set(c, (s = alphabetSize++));
    }
    symbols[i] = s;
  }
  const A = alphabetSize;

  // Trie from the patterns in sorted order: a pattern shares with the previous one exactly their
  // common prefix, and every node after it is new — no child lookup at all, and children are
  // created in symbol order. (Sorting is an MSD radix sort over symbols: linear in the input.)
  const patternNext = new Int32Array(patternCount).fill(-1);
  const patternLength = new Int32Array(patternCount);
  let maxLength = 0;
  for (let p = 0; p < patternCount; p++) {
    const len = offsets[p + 1]! - offsets[p]!;
    if (len <= 0) throw new RangeError(`pattern ${p} is empty`);
    patternLength[p] = len;
    if (len > maxLength) maxLength = len;
  }
  const sorted = sortPatterns(symbols, offsets, patternLength, A);
  // The patterns' symbols gathered in sorted order, so the two passes below read memory in order.
  const seq = new Int32Array(symbols.length);
  const seqStart = new Int32Array(patternCount + 1);
  for (let q = 0, at = 0; q < patternCount; q++) {
    const p = sorted[q]!;
    const from = offsets[p]!;
    const len = patternLength[p]!;
    seqStart[q] = at;
    for (let d = 0; d < len; d++) seq[at + d] = symbols[from + d]!;
    at += len;
    seqStart[q + 1] = at;
  }
  // Shared prefix with the previous pattern in order; the node count follows exactly, so the
  // node arrays are allocated once at their size.
  const shared = new Int32Array(patternCount);
  let S = 1;
  for (let q = 0; q < patternCount; q++) {
    const a0 = seqStart[q]!;
    const len = seqStart[q + 1]! - a0;
    let lcp = 0;
    if (q > 0) {
      const b0 = seqStart[q - 1]!;
      const limit = Math.min(a0 - b0, len);
      while (lcp < limit && seq[a0 + lcp] === seq[b0 + lcp]) lcp++;
    }
    shared[q] = lcp;
    S += len - lcp;
  }
  const parent = new Int32Array(S);
  const inSymbol = new Uint16Array(S);
  const outHeadOld = new Int32Array(S).fill(-1);
  const path = new Int32Array(maxLength + 1);
  let states = 1;
  for (let q = 0; q < patternCount; q++) {
    const p = sorted[q]!;
    const from = seqStart[q]!;
    const len = seqStart[q + 1]! - from;
    let s = path[shared[q]!]!;
    for (let d = shared[q]!; d < len; d++) {
      const child = states++;
      parent[child] = s;
      inSymbol[child] = seq[from + d]!;
      s = path[d + 1] = child;
    }
    patternNext[p] = outHeadOld[s]!;
    outHeadOld[s] = p;
  }

  // Children of each node, contiguous (counting sort by parent).
  const childStart = new Int32Array(S + 1);
  for (let u = 1; u < S; u++) childStart[parent[u]! + 1]!++;
  for (let s = 0; s < S; s++) childStart[s + 1]! += childStart[s]!;
  const childList = new Int32Array(Math.max(0, S - 1));
  const fillAt = childStart.slice(0, S);
  for (let u = 1; u < S; u++) childList[fillAt[parent[u]!]!++] = u;

  // Breadth-first renumbering: children of one state get consecutive ids, so the edge that leads
  // to state u is edge u − 1 and the edges of a state are a contiguous range.
  const order = new Int32Array(S); // new id → old id
  const depth = new Uint8Array(S);
  const edgeStart = new Int32Array(S + 1);
  const edgeSymbolAll = new Uint16Array(Math.max(0, S - 1));
  let tail = 1;
  for (let head = 0; head < S; head++) {
    const old = order[head]!;
    edgeStart[head] = tail - 1;
    const d = depth[head]! < 255 ? depth[head]! + 1 : 255;
    for (let c = childStart[old]!, c1 = childStart[old + 1]!; c < c1; c++) {
      const u = childList[c]!;
      order[tail] = u;
      depth[tail] = d;
      edgeSymbolAll[tail - 1] = inSymbol[u]!;
      tail++;
    }
  }
  edgeStart[S] = S - 1;
  let denseStates = 1;
  while (denseStates < S && depth[denseStates]! <= DENSE_DEPTH) denseStates++;

  const outHead = new Int32Array(S);
  for (let s = 0; s < S; s++) outHead[s] = outHeadOld[order[s]!]!;

  // Failure links, dense rows and dictionary links, in breadth-first order (a state's failure
  // target is shallower, so it is complete when needed).
  const fail = new Int32Array(S);
  const dictLink = new Int32Array(S).fill(-1);
  const dense = new Int32Array(denseStates * A);
  for (let s = 0; s < S; s++) {
    const e0 = edgeStart[s]!;
    const e1 = edgeStart[s + 1]!;
    if (s < denseStates) {
      const row = s * A;
      if (s !== 0) dense.copyWithin(row, fail[s]! * A, fail[s]! * A + A);
      for (let e = e0; e < e1; e++) dense[row + edgeSymbolAll[e]!] = e + 1;
    }
    for (let e = e0; e < e1; e++) {
      const u = e + 1;
      let f = 0;
      if (s !== 0) {
        // δ(fail[s], symbol): follow failure links until a state has the edge or is dense.
        const sym = edgeSymbolAll[e]!;
        let t = fail[s]!;
        for (;;) {
          if (t < denseStates) {
            f = dense[t * A + sym]!;
            break;
          }
          let x = edgeStart[t]!;
          const x1 = edgeStart[t + 1]!;
          while (x < x1 && edgeSymbolAll[x] !== sym) x++;
          if (x < x1) {
            f = x + 1;
            break;
          }
          t = fail[t]!;
        }
      }
      fail[u] = f;
      dictLink[u] = outHead[f]! >= 0 ? f : dictLink[f]!;
    }
  }
  const hit = new Uint8Array(S);
  for (let s = 0; s < S; s++) hit[s] = outHead[s]! >= 0 || dictLink[s]! >= 0 ? 1 : 0;
  for (let i = 0; i < dense.length; i++) dense[i] = (dense[i]! << 1) | hit[dense[i]!]!;

  const deep = S - denseStates;
  const firstDeepEdge = edgeStart[denseStates]!;
  const sparseFail = fail.slice(denseStates);
  const sparseEdgeStart = new Int32Array(deep + 1);
  for (let s = denseStates; s <= S; s++) sparseEdgeStart[s - denseStates] = edgeStart[s]! - firstDeepEdge;
  const edgeSymbol = edgeSymbolAll.slice(firstDeepEdge);
  const edgeNext = new Int32Array(edgeSymbol.length);
  for (let e = 0; e < edgeNext.length; e++) {
    const u = firstDeepEdge + e + 1;
    edgeNext[e] = (u << 1) | hit[u]!;
  }

  const extraCodes = Int32Array.from([...extra.keys()].sort((x, y) => x - y));
  const extraSymbols = Int32Array.from(extraCodes, (c) => extra.get(c)!);
  return {
    alphabetSize: A,
    stateCount: S,
    denseStates,
    ascii,
    extraCodes,
    extraSymbols,
    dense,
    sparseFail,
    sparseEdgeStart,
    edgeSymbol,
    edgeNext,
    outHead,
    dictLink,
    patternNext,
    patternLength,
  };
}

/** Pattern hits of one scan: pattern index and the index of its last symbol. */
export class HitList {
  count = 0;
  pattern: Int32Array;
  end: Int32Array;

  constructor(capacity = 64) {
    this.pattern = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
  }

  push(pattern: number, end: number): void {
    if (this.count === this.pattern.length) {
      const p = new Int32Array(this.count * 2);
      p.set(this.pattern);
      this.pattern = p;
      const e = new Int32Array(this.count * 2);
      e.set(this.end);
      this.end = e;
    }
    this.pattern[this.count] = pattern;
    this.end[this.count] = end;
    this.count++;
  }
}

export class AhoCorasick {
  private readonly A: number;
  private readonly nDense: number;
  private readonly dense: Int32Array;
  private readonly sparseFail: Int32Array;
  private readonly sparseEdgeStart: Int32Array;
  private readonly edgeSymbol: Uint16Array;
  private readonly edgeNext: Int32Array;
  private readonly outHead: Int32Array;
  private readonly dictLink: Int32Array;
  private readonly patternNext: Int32Array;
  private readonly ascii: Int32Array;
  private readonly extra: Map<number, number>;

  constructor(readonly tables: AutomatonTables) {
    this.A = tables.alphabetSize;
    this.nDense = tables.denseStates;
    this.dense = tables.dense;
    this.sparseFail = tables.sparseFail;
    this.sparseEdgeStart = tables.sparseEdgeStart;
    this.edgeSymbol = tables.edgeSymbol;
    this.edgeNext = tables.edgeNext;
    this.outHead = tables.outHead;
    this.dictLink = tables.dictLink;
    this.patternNext = tables.patternNext;
    this.ascii = tables.ascii;
    this.extra = new Map();
    for (let i = 0; i < tables.extraCodes.length; i++) this.extra.set(tables.extraCodes[i]!, tables.extraSymbols[i]!);
  }

  get patternLength(): Int32Array {
    return this.tables.patternLength;
  }

  /**
   * Scans codes[from, to) starting in state `start` (the root, or a state returned by an earlier
   * scan to continue a stream), appends every pattern occurrence to `hits` and returns the state
   * reached. Stops early once `hits` holds `maxHits` (a bound on work for pathological input).
   */
  scan(codes: Int32Array, from: number, to: number, hits: HitList, maxHits = Infinity, start = 0): number {
    const { A, nDense, dense, sparseFail, sparseEdgeStart, edgeSymbol, edgeNext, ascii, extra } = this;
    let v = start << 1;
    for (let i = from; i < to; i++) {
      const c = codes[i]!;
      // IL (every capital I) is common enough to skip the map for.
      const sym = c < 128 ? ascii[c]! : c === IL ? IL_SYMBOL : (extra.get(c) ?? 0);
      let s = v >>> 1;
      for (;;) {
        if (s < nDense) {
          v = dense[s * A + sym]!;
          break;
        }
        const d = s - nDense;
        let e = sparseEdgeStart[d]!;
        const e1 = sparseEdgeStart[d + 1]!;
        while (e < e1 && edgeSymbol[e] !== sym) e++;
        if (e < e1) {
          v = edgeNext[e]!;
          break;
        }
        s = sparseFail[d]!;
      }
      if ((v & 1) === 0) continue;
      this.report(v >>> 1, i, hits);
      if (hits.count >= maxHits) break;
    }
    return v >>> 1;
  }

  /** Whether some pattern ends at `state` (the state a scan returned). */
  isHit(state: number): boolean {
    return this.outHead[state]! >= 0 || this.dictLink[state]! >= 0;
  }

  private report(state: number, end: number, hits: HitList): void {
    const { outHead, dictLink, patternNext } = this;
    for (let t = outHead[state]! >= 0 ? state : dictLink[state]!; t >= 0; t = dictLink[t]!) {
      for (let p = outHead[t]!; p >= 0; p = patternNext[p]!) hits.push(p, end);
    }
  }
}
