/**
 * Text normalisation for term matching, in linear time, with a map back to the original text.
 *
 * The output is a stream of *symbols*: each symbol is one run of equal letters after
 *   1. compatibility decomposition (NFKD, per character: fullwidth, mathematical alphanumerics,
 *      circled and superscript letters, ligatures) with combining marks stripped — the same
 *      letters NFKC + mark stripping gives, but per character so that positions survive;
 *   2. homoglyph folding (confusables.ts: Cyrillic/Greek look-alikes, small capitals, ...);
 *   3. case folding;
 *   4. leetspeak (4→a, 3→e, 0→o, 5/$→s, 7/+→t, @→a, !→i, ( →c, 2→z, 6/9→g, 8→b; 1, | and capital
 *      I are the ambiguous "i or l" class `IL`, which terms match through both letters);
 *   5. removal of invisible and format characters (zero-width space/joiners, bidi marks, soft
 *      hyphen, variation selectors, Hangul fillers) — removed, not turned into separators, so
 *      "f\u200Buck" is one word;
 *   6. repeat collapsing: "fuuuuck" is four symbols f u c k with the u run's length kept (capped),
 *      so a term that needs a real double ("ass") can still insist on one. A run continues across
 *      punctuation ("a.s.s") and across whitespace only between one-letter words ("a s s"). An
 *      IL run followed by an i joins it ("Iii"); otherwise IL stays its own symbol ("ILL",
 *      "ki11"). Not handled: a
 *      double spelled half in leet or half in capitals ("ki1l", "naziII": either letter could be
 *      meant, and the run is split in two).
 * Everything that is not a letter is a *separator*: whitespace, or a "joiner" (punctuation,
 * symbols, emoji). Separators are not symbols, but every symbol carries flags saying where words
 * (letters between any separators) and chunks (letters between whitespace) start and end, which
 * is what whole-word terms and spaced-out evasions ("f u c k", "f.u.c.k") are judged on.
 *
 * Leetspeak is contextual, because digits and punctuation are far more often just that:
 *   - digits are read as letters only in a chunk that has a real letter and does not look like a
 *     number ("a55", "sh1t", "5h1t" yes; "455", "1990s", "45s" no — a chunk that starts with a
 *     digit needs at least as many letters as digits), and even then not in a word of two or
 *     more digits and nothing else ("t=1234.717", "v2.10": numbers between punctuation). Otherwise
 *     they stay digits, which are symbols too (so a term can be "1488");
 *   - leet punctuation is a letter only between letters ("b!tch"), or at the start of a word for
 *     @ $ | ("@ss", "$hit"), or at its end for $ ("a$$"); "shit!" keeps its "!" as punctuation;
 *   - a word of three or more leet characters led by @ $ | is all letters ("@$$", "@80").
 *
 * Each symbol maps back to the UTF-16 span [start, end) of the original text that produced it
 * (removed characters are attached to the letter before them), so masks replace exactly what
 * matched.
 *
 * Buffers are reused: normalising a message allocates nothing once the buffers have grown to the
 * longest message seen (only the first sighting of a non-ASCII character costs a decomposition,
 * cached afterwards).
 */
import { confusableOf, IL_TARGET } from './confusables.ts';

/** The "i or l" class: 1, |, capital I and their look-alikes. Outside Unicode on purpose. */
export const IL = 0x110000;
const CODE_I = 0x69;

// ── Symbol flags ────────────────────────────────────────────────────────────────────────────
/** The run's first letter starts a word (a separator or the text start before it). */
export const F_WS = 1 << 0;
/** The run's first letter starts a chunk (whitespace or the text start before it). */
export const F_CS = 1 << 1;
/** The run's last letter ends a word. */
export const F_WE = 1 << 2;
/**
 * A separator lies inside the run ("s.s", "a s s"): the run spans words, so its part after the
 * last gap starts a word and its part before the first gap ends one. Runs cross whitespace only
 * between one-letter words.
 */
export const F_IG = 1 << 3;
/** Whitespace lies inside the run ("s s"). */
export const F_IS = 1 << 4;
/** Some letter of the run belongs to a word of two letters or more. */
export const F_MULTI = 1 << 5;
/** The run's first letter belongs to a word of two letters or more. */
export const F_MULTI_FIRST = 1 << 6;
/** The run's last letter belongs to a word of two letters or more. */
export const F_MULTI_LAST = 1 << 7;

/** Symbols at the end of a text whose word starts are summarised in `NormalizedText.wordStarts`. */
export const WORD_START_BITS = 30;
const WORD_START_MASK = (1 << WORD_START_BITS) - 1;

/** Longest run length kept: enough to tell single from double, and bounded for a Uint8Array. */
const MAX_RUN = 255;

// ── Character units (pass 1) ────────────────────────────────────────────────────────────────
const K_REMOVED = 0;
const K_LETTER = 1;
const K_DIGIT = 2;
const K_SPACE = 3;
const K_JOINER = 4;
/** Leet punctuation read as a letter only between letters. */
const K_SYM = 5;
/** ... or at the start of a word. */
const K_SYM_LEAD = 6;
/** ... or at the start or the end of a word. */
const K_SYM_LEAD_TRAIL = 7;

/** A unit is encoded as code * 8 + kind; caches store it + 1 so that 0 means "not computed". */
const enc = (code: number, kind: number) => (code << 3) | kind;
const REMOVED = enc(0, K_REMOVED);
const SPACE = enc(0, K_SPACE);
const JOINER = enc(0, K_JOINER);

const a = (ch: string) => ch.charCodeAt(0);
/** Leetspeak for digits (obscenity's table plus 8→b, 9→g; 1 is the i-or-l class). */
const LEET_DIGIT = new Int32Array([a('o'), IL, a('z'), a('e'), a('a'), a('s'), a('g'), a('t'), a('b'), a('g')]);

function letterUnit(code: number): number {
  return enc(code, K_LETTER);
}

/** ASCII units, encoded (used when a decomposition yields ASCII), and split for the hot path. */
const ASCII: Int32Array = (() => {
  const t = new Int32Array(128);
  for (let c = 0; c < 128; c++) {
    if (c >= 0x61 && c <= 0x7a) t[c] = letterUnit(c);
    else if (c >= 0x41 && c <= 0x5a) t[c] = letterUnit(c === 0x49 ? IL : c + 32); // capital I reads as l too ("SIut")
    else if (c >= 0x30 && c <= 0x39) t[c] = enc(c, K_DIGIT);
    else if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) t[c] = SPACE;
    else if (c < 0x20 || c === 0x7f) t[c] = REMOVED;
    else t[c] = JOINER;
  }
  t[a('@')] = enc(a('a'), K_SYM_LEAD);
  t[a('$')] = enc(a('s'), K_SYM_LEAD_TRAIL);
  t[a('|')] = enc(IL, K_SYM_LEAD);
  t[a('!')] = enc(a('i'), K_SYM);
  t[a('(')] = enc(a('c'), K_SYM);
  t[a('+')] = enc(a('t'), K_SYM);
  return t;
})();
const ASCII_KIND = Uint8Array.from(ASCII, (v) => v & 7);
const ASCII_CODE = Int32Array.from(ASCII, (v) => v >> 3);
/** 1 for digits and leet punctuation: their meaning depends on the chunk around them. */
const ASCII_SPECIAL = Uint8Array.from(ASCII, (v) => ((v & 7) === K_DIGIT || (v & 7) >= K_SYM ? 1 : 0));
/** 1 for what a plain text may hold: letters, whitespace, punctuation that is never a letter. */
const ASCII_PLAIN = Uint8Array.from(ASCII, (v) => ((v & 7) === K_LETTER || (v & 7) === K_SPACE || (v & 7) === K_JOINER ? 1 : 0));

/** ASCII only, and no digit, leet punctuation or control character. */
function isPlainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || ASCII_PLAIN[c] === 0) return false;
  }
  return true;
}

// Invisible: format characters (zero-width, bidi, soft hyphen, tags), combining marks (incl.
// variation selectors and the grapheme joiner), controls, unassigned and lone surrogates, and the
// Hangul filler letters that render as nothing.
const INVISIBLE = /^[\p{Cf}\p{M}\p{Cc}\p{Cn}\p{Cs}\u115F\u1160\u3164\uFFA0]$/u;
// Whitespace, including the Braille blank used to fake a space.
const WHITESPACE = /^[\s\p{Z}\u2800]$/u;
const LETTER = /^\p{L}$/u;

function unitsOfTarget(target: string): number[] {
  if (target === IL_TARGET) return [letterUnit(IL)];
  return [...target].map((ch) => letterUnit(ch.codePointAt(0)!));
}

/** Units of one non-ASCII code point (slow path, cached by the caller). */
function classify(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  if (INVISIBLE.test(ch)) return [REMOVED];
  if (WHITESPACE.test(ch)) return [SPACE];
  const direct = confusableOf(cp) ?? confusableOf(ch.toLowerCase().codePointAt(0)!);
  if (direct !== undefined) return unitsOfTarget(direct);
  const out: number[] = [];
  for (const part of ch.normalize('NFKD')) {
    const q = part.codePointAt(0)!;
    if (q < 128) {
      if (ASCII[q] !== REMOVED) out.push(ASCII[q]!);
      continue;
    }
    if (INVISIBLE.test(part)) continue;
    if (WHITESPACE.test(part)) {
      out.push(SPACE);
      continue;
    }
    const alike = confusableOf(q) ?? confusableOf(part.toLowerCase().codePointAt(0)!);
    if (alike !== undefined) {
      out.push(...unitsOfTarget(alike));
      continue;
    }
    if (LETTER.test(part)) {
      for (const low of part.toLowerCase()) {
        const l = low.codePointAt(0)!;
        if (l < 128) out.push(ASCII[l]!);
        else if (!INVISIBLE.test(low)) out.push(letterUnit(l));
      }
      continue;
    }
    out.push(JOINER);
  }
  return out.length ? out : [REMOVED];
}

// Cache of classified code points: BMP in a flat table (value = unit + 1, or -(index + 1) into
// MULTI for expansions); astral code points in a map.
const BMP = new Int32Array(0x10000);
const MULTI: Int32Array[] = [];
const ASTRAL = new Map<number, number>();
/** Bound on cached astral code points (emoji, math letters): far above what chat uses. */
const MAX_ASTRAL_CACHE = 65_536;

function cached(cp: number): number {
  let v = cp < 0x10000 ? BMP[cp]! : (ASTRAL.get(cp) ?? 0);
  if (v !== 0) return v;
  const units = classify(cp);
  if (units.length === 1) v = units[0]! + 1;
  else {
    MULTI.push(Int32Array.from(units));
    v = -MULTI.length;
  }
  if (cp < 0x10000) BMP[cp] = v;
  else {
    if (ASTRAL.size >= MAX_ASTRAL_CACHE) ASTRAL.clear();
    ASTRAL.set(cp, v);
  }
  return v;
}

// ── Unit scratch (module level: normalisation is synchronous and single-threaded) ────────────
class UnitBuffer {
  n = 0;
  /** Some unit is a digit or leet punctuation: chunks need resolving (resolveChunk). */
  special = false;
  kind = new Uint8Array(256);
  code = new Int32Array(256);
  start = new Int32Array(256);
  end = new Int32Array(256);

  /** Makes room for `need` units, keeping the first `n`. */
  ensure(need: number): void {
    if (need <= this.kind.length) return;
    let cap = this.kind.length;
    while (cap < need) cap *= 2;
    const kind = new Uint8Array(cap);
    kind.set(this.kind.subarray(0, this.n));
    this.kind = kind;
    const code = new Int32Array(cap);
    code.set(this.code.subarray(0, this.n));
    this.code = code;
    const start = new Int32Array(cap);
    start.set(this.start.subarray(0, this.n));
    this.start = start;
    const end = new Int32Array(cap);
    end.set(this.end.subarray(0, this.n));
    this.end = end;
  }
}
const U = new UnitBuffer();

/** Appends the units of a non-ASCII code point's cache entry (slow path). */
function pushCached(v: number, start: number, end: number): void {
  if (v > 0) pushEncoded(v - 1, start, end);
  else {
    const m = MULTI[-v - 1]!;
    for (let k = 0; k < m.length; k++) pushEncoded(m[k]!, start, end);
  }
}

function pushEncoded(v: number, start: number, end: number): void {
  const kind = v & 7;
  if (kind === K_REMOVED) {
    // Invisible: attach to the unit before, so a mask covers the marks on a masked letter.
    if (U.n > 0) U.end[U.n - 1] = end;
    return;
  }
  U.ensure(U.n + 1);
  const n = U.n++;
  if (kind === K_DIGIT || kind >= K_SYM) U.special = true;
  U.kind[n] = kind;
  U.code[n] = v >> 3;
  U.start[n] = start;
  U.end[n] = end;
}

/** Pass 1: code points → units. The ASCII path is inlined; the rest goes through the cache. */
function splitUnits(text: string): void {
  const len = text.length;
  U.n = 0;
  U.ensure(len);
  let kind = U.kind;
  let code = U.code;
  let st = U.start;
  let en = U.end;
  let n = 0;
  let special = 0;
  U.special = false;
  for (let i = 0; i < len; ) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      const k = ASCII_KIND[c]!;
      if (k === K_REMOVED) {
        if (n > 0) en[n - 1] = i + 1;
      } else {
        special |= ASCII_SPECIAL[c]!;
        kind[n] = k;
        code[n] = ASCII_CODE[c]!;
        st[n] = i;
        en[n] = i + 1;
        n++;
      }
      i++;
      continue;
    }
    let cp = c;
    let w = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        w = 2;
      }
    }
    U.n = n;
    pushCached(cached(cp), i, i + w);
    // The slow path may have grown the buffers.
    n = U.n;
    kind = U.kind;
    code = U.code;
    st = U.start;
    en = U.end;
    i += w;
  }
  U.n = n;
  if (special) U.special = true;
}

/** A letter unit that is not a digit kept as a digit. */
function isAlpha(kind: Uint8Array, code: Int32Array, k: number): boolean {
  return kind[k] === K_LETTER && !(code[k]! >= 0x30 && code[k]! <= 0x39);
}

/** Pass 2, per chunk [from, to): decide what digits and leet punctuation are. */
function resolveChunk(kind: Uint8Array, code: Int32Array, from: number, to: number): void {
  let letters = 0;
  let digits = 0;
  let syms = 0;
  let firstKind = -1;
  for (let k = from; k < to; k++) {
    const kd = kind[k]!;
    if (kd === K_LETTER) letters++;
    else if (kd === K_DIGIT) digits++;
    else if (kd >= K_SYM) syms++;
    if (firstKind < 0 && kd !== K_JOINER) firstKind = kd;
  }
  // A word written only in leet, led by a symbol that may lead ("@$$", "@55", "$h17" has an h
  // anyway): every leet character in it is a letter. "455" and "$5" stay what they are.
  if (letters === 0 && syms > 0 && syms + digits >= 3 && firstKind >= K_SYM_LEAD) {
    for (let k = from; k < to; k++) {
      const kd = kind[k]!;
      if (kd === K_DIGIT) code[k] = LEET_DIGIT[code[k]! - 0x30]!;
      if (kd === K_DIGIT || kd >= K_SYM) kind[k] = K_LETTER;
    }
    return;
  }
  if (digits > 0) {
    const leet = letters > 0 && (firstKind !== K_DIGIT || letters >= digits);
    let wordStart = from;
    let wordDigitsOnly = true;
    for (let k = from; k <= to; k++) {
      const kd = k < to ? kind[k]! : K_JOINER;
      if (kd !== K_JOINER) {
        if (kd !== K_DIGIT) wordDigitsOnly = false;
        continue;
      }
      // A word [wordStart, k) ends here. Its digits read as letters when the chunk is leet,
      // except in a word of two or more digits and nothing else: a number ("t=1234.717",
      // "v2.10"), not a letter spelled in leet between dots ("s.h.1.t" still reads as shit).
      const number = wordDigitsOnly && k - wordStart >= 2;
      for (let m = wordStart; m < k; m++) {
        if (kind[m] !== K_DIGIT) continue;
        kind[m] = K_LETTER;
        if (leet && !number) code[m] = LEET_DIGIT[code[m]! - 0x30]!;
      }
      wordStart = k + 1;
      wordDigitsOnly = true;
    }
  }
  if (syms === 0) return;
  for (let k = from; k < to; ) {
    if (kind[k]! < K_SYM) {
      k++;
      continue;
    }
    let r = k;
    while (r < to && kind[r]! >= K_SYM) r++;
    // Between letters all read as letters; at a word's edge the outermost one decides ("$(4m"
    // starts with $, which may lead; "a$$" ends with $, which may trail; "shit!!!" does not).
    const before = k > from && isAlpha(kind, code, k - 1);
    const after = r < to && isAlpha(kind, code, r);
    const lead = kind[k]! >= K_SYM_LEAD;
    const trail = kind[r - 1] === K_SYM_LEAD_TRAIL;
    const asLetters = (before && after) || (!before && after && lead) || (before && !after && trail);
    for (let m = k; m < r; m++) kind[m] = asLetters ? K_LETTER : K_JOINER;
    k = r;
  }
}

/** A normalised text: symbol arrays (valid up to `length`), reusable across calls. */
export class NormalizedText {
  length = 0;
  /** Bit i set: symbol `length - 1 - i` starts a word (F_WS), for the last WORD_START_BITS symbols. */
  wordStarts = 0;
  codes: Int32Array;
  /** Letters in the run (capped at 255). */
  runs: Uint8Array;
  flags: Uint8Array;
  /** UTF-16 span [start, end) in the original text. */
  start: Int32Array;
  end: Int32Array;
  /**
   * Only for runs that span words (F_IG set; stale otherwise, so read them only then): where the
   * part after the last gap starts and the part before the first gap ends, and the letters in
   * each part (capped at 255).
   */
  lastStart: Int32Array;
  firstEnd: Int32Array;
  firstRun: Uint8Array;
  lastRun: Uint8Array;

  constructor(capacity = 128) {
    this.codes = new Int32Array(capacity);
    this.runs = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.lastStart = new Int32Array(capacity);
    this.firstEnd = new Int32Array(capacity);
    this.firstRun = new Uint8Array(capacity);
    this.lastRun = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.codes.length;
  }

  /** Makes room for `n` symbols, keeping the first `length`. */
  reserve(n: number): void {
    if (n <= this.codes.length) return;
    let cap = this.codes.length;
    while (cap < n) cap *= 2;
    const grow = <T extends Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.codes = grow(this.codes, (n) => new Int32Array(n));
    this.runs = grow(this.runs, (n) => new Uint8Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.start = grow(this.start, (n) => new Int32Array(n));
    this.end = grow(this.end, (n) => new Int32Array(n));
    this.lastStart = grow(this.lastStart, (n) => new Int32Array(n));
    this.firstEnd = grow(this.firstEnd, (n) => new Int32Array(n));
    this.firstRun = grow(this.firstRun, (n) => new Uint8Array(n));
    this.lastRun = grow(this.lastRun, (n) => new Uint8Array(n));
  }
}

/**
 * A separator follows symbol `last`: its last letter ends a word, and the word that ends there is
 * marked when it has two letters or more. A top-level function rather
 * than a closure so that normalising allocates nothing.
 */
function finishSymbol(out: NormalizedText, last: number, space: boolean, wordLen: number, wordStartSym: number, wordStartIsRunStart: boolean): void {
  const flags = out.flags;
  flags[last] = flags[last]! | F_WE;
  if (wordLen < 2) return;
  for (let k = wordStartSym; k <= last; k++) {
    let g = flags[k]! | F_MULTI | F_MULTI_LAST;
    if (k > wordStartSym || wordStartIsRunStart) g |= F_MULTI_FIRST;
    flags[k] = g;
  }
}

/** Normalises `text` into `out` (replacing its content) and returns `out`. */
export function normalizeInto(out: NormalizedText, text: string): NormalizedText {
  // Plain ASCII (letters, whitespace, ordinary punctuation: most chat) is read straight from
  // the string; anything else is split into units first (decomposition, homoglyphs, leetspeak).
  const plain = isPlainAscii(text);
  if (!plain) splitUnits(text);
  out.length = 0;
  const nUnits = plain ? text.length : U.n;
  const uKind = U.kind;
  const uCode = U.code;
  const uStart = U.start;
  const uEnd = U.end;
  out.reserve(nUnits);
  const codes = out.codes;
  const runs = out.runs;
  const flags = out.flags;
  const start = out.start;
  const end = out.end;
  const lastStart = out.lastStart;
  const firstEnd = out.firstEnd;
  const firstRun = out.firstRun;
  const lastRun = out.lastRun;

  let n = 0;
  let lastCode = -1;
  // A separator (or the text start) since the last letter; whether it had whitespace in it.
  let sep = true;
  let space = true;
  let wordLen = 0;
  let wordStartSym = 0;
  let wordStartIsRunStart = true;
  let wordStarts = 0;

  // Digits and leet punctuation are decided per chunk (whitespace-delimited) before emitting.
  if (!plain && U.special) {
    for (let i = 0; i < nUnits; ) {
      while (i < nUnits && uKind[i] === K_SPACE) i++;
      let j = i;
      while (j < nUnits && uKind[j] !== K_SPACE) j++;
      if (j > i) resolveChunk(uKind, uCode, i, j);
      i = j;
    }
  }
  for (let k = 0; k < nUnits; k++) {
    const ch = plain ? text.charCodeAt(k) : 0;
    const kind = plain ? ASCII_KIND[ch]! : uKind[k]!;
    if (kind !== K_LETTER) {
      sep = true;
      if (kind === K_SPACE) space = true;
      continue;
    }
    const c = plain ? ASCII_CODE[ch]! : uCode[k]!;
    const us = plain ? k : uStart[k]!;
    const ue = plain ? k + 1 : uEnd[k]!;
    const nextIsLetter = k + 1 < nUnits && (plain ? ASCII_KIND[text.charCodeAt(k + 1)] : uKind[k + 1]) === K_LETTER;
    const prevWordLen = wordLen;
    if (sep && wordLen > 0) finishSymbol(out, n - 1, space, wordLen, wordStartSym, wordStartIsRunStart);
    if (sep) wordLen = 0;
    // An "i or l" run followed by an i was that i ("Iiii" typed in mixed case). The other way
    // round it stays open: "ki11" is k, i, IL(2).
    let same = n > 0 && (c === lastCode || (c === CODE_I && lastCode === IL));
    // A run continues across punctuation ("a.s.s", "as.s") and across whitespace only between
    // one-letter words ("a s s"): "kiss my ass sir" keeps "ass" and "sir" apart.
    if (same && sep && space && (prevWordLen >= 2 || nextIsLetter)) same = false;
    if (same) {
      const last = n - 1;
      if (c === CODE_I) codes[last] = lastCode = CODE_I;
      if (!sep) {
        if (flags[last]! & F_IG && lastRun[last]! < MAX_RUN) lastRun[last]!++;
      } else {
        if ((flags[last]! & F_IG) === 0) {
          // First gap in this run: what came before it is the run's first part.
          firstEnd[last] = end[last]!;
          firstRun[last] = runs[last]!;
        }
        lastRun[last] = 1;
        lastStart[last] = us;
        flags[last] = (flags[last]! & ~(F_WE | F_MULTI_LAST)) | (space ? F_IG | F_IS : F_IG);
        wordStartSym = last;
        wordStartIsRunStart = false;
      }
      if (runs[last]! < MAX_RUN) runs[last]!++;
      end[last] = ue;
    } else {
      codes[n] = c;
      runs[n] = 1;
      start[n] = us;
      end[n] = ue;
      flags[n] = sep ? (space ? F_WS | F_CS : F_WS) : 0;
      wordStarts = ((wordStarts << 1) | (sep ? 1 : 0)) & WORD_START_MASK;
      if (sep) {
        wordStartSym = n;
        wordStartIsRunStart = true;
      }
      n++;
      lastCode = c;
    }
    wordLen++;
    sep = false;
    space = false;
  }
  if (wordLen > 0) finishSymbol(out, n - 1, true, wordLen, wordStartSym, wordStartIsRunStart);
  out.length = n;
  out.wordStarts = wordStarts;
  return out;
}

/** Normalises into a fresh buffer (terms, tests); the message path reuses one buffer instead. */
export function normalize(text: string): NormalizedText {
  return normalizeInto(new NormalizedText(Math.max(16, text.length)), text);
}

/** The symbols as a string (IL shown as "ı"), for tests and debugging. */
export function symbolString(nt: NormalizedText, from = 0, to = nt.length): string {
  let s = '';
  for (let k = from; k < to; k++) s += nt.codes[k] === IL ? 'ı' : String.fromCodePoint(nt.codes[k]!);
  return s;
}
