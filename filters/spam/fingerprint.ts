/**
 * Content fingerprints for the duplicate and coordination rules, computed in one pass that never
 * builds the normalised string:
 *
 * - normalisation: compatibility forms folded (NFKD: full-width, ligatures, math letters),
 *   accents and zero-width / format characters dropped, lower case, common Cyrillic and Greek
 *   look-alikes mapped to Latin, punctuation and white space collapsed to one separator, runs of
 *   one character cut to two ("heyyyyy" = "heyy"). ASCII text skips the Unicode work.
 * - `exact`: a 53-bit hash (two 32-bit FNV-style hashes) of the normalised text: equal texts,
 *   equal hashes; a collision is a 2^-53 event.
 * - `sig`: a MinHash signature of the set of character 3-grams (shingles) of the normalised text,
 *   by one-permutation hashing (OPH): each shingle is hashed once, its top 5 bits pick one of 32
 *   bins and the bin keeps the minimum of the low 27 bits; empty bins are filled from the next
 *   non-empty one (rotation densification). P(sig_a[k] == sig_b[k]) ≈ Jaccard(a, b), so the
 *   share of equal bins estimates the Jaccard similarity (standard error ≈ 0.09 at J = 0.5 with
 *   32 bins; 16 bins gave 0.125, enough for unrelated chat lines on one topic to pass 0.7 now
 *   and then). One hash per shingle: a classic MinHash with one permutation per component cost
 *   ~10× more here (~4 µs vs ~0.4 µs per 60 characters with 16 components).
 * - bands: 6 bands of 4 bins (bins 0-23), each hashed to one key — two texts share some band
 *   key with probability 1 - (1 - J^4)^6 (J = 0.9: 0.999, J = 0.8: 0.96, J = 0.7: 0.81,
 *   J = 0.3: 0.05); candidates are then checked against the full signature (coordination.ts).
 */

/** 32: bins are picked by the top 5 bits of a hash, indices wrap with a mask, and a set of bins
 *  is one int32 bitmask. */
export const SIG_BINS = 32;
export const BANDS = 6;
const ROWS = 4;
/** Shingles are taken from the first 256 normalised characters: bounded cost per message, and a
 *  spammer's 500-character wall is as recognisable from its first half. */
export const MAX_SHINGLE_CHARS = 256;
/** Bin values stay below 2^30 so that they are V8 small integers ("smis"): signatures are plain
 *  arrays, copied and compared without allocating numbers — a typed-array copy per message cost
 *  ~2 µs of allocation and GC here, more than everything else in the filter. */
const EMPTY_BIN = 0x3fffffff;
const SMI_MASK = 0x3fffffff;
const BIN_SHIFT = 27; // top 5 bits of a shingle hash pick the bin, the low 27 are the value
const BIN_MASK = 0x07ffffff;

/** Look-alike letters (after lower-casing) mapped to the Latin letter they imitate. */
const CONFUSABLES: ReadonlyMap<number, number> = new Map(
  (
    // Cyrillic
    'а a|е e|і i|ј j|к k|м m|о o|р p|с c|у y|х x|ѕ s|ԁ d|ԛ q|ԝ w|һ h|ӏ l|ѵ v|' +
    // Greek
    'α a|ο o|ν v|ρ p|τ t|υ u|ι i|κ k|χ x|ε e|γ y|' +
    // Latin extensions
    'ı i|ɡ g|ꞵ b|ɑ a|ɩ i'
  )
    .split('|')
    .map((p) => [p.codePointAt(0)!, p.charCodeAt(2)] as const),
);

const SEP = 32;

/** Zero-width and format characters, variation selectors: dropped without separating. */
function isIgnorable(c: number): boolean {
  return (
    (c >= 0x300 && c <= 0x36f) || // combining diacritics (left by NFKD)
    (c >= 0x1ab0 && c <= 0x1aff) ||
    (c >= 0x1dc0 && c <= 0x1dff) ||
    (c >= 0x20d0 && c <= 0x20ff) ||
    (c >= 0xfe20 && c <= 0xfe2f) ||
    (c >= 0x200b && c <= 0x200f) ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) ||
    c === 0xfeff ||
    c === 0xad ||
    c === 0x180e ||
    c === 0x034f ||
    (c >= 0xfe00 && c <= 0xfe0f) ||
    c === 0xdb40 // high surrogate of tags and supplementary variation selectors (E0000-E01EF)
  );
}

/** Punctuation and spaces outside ASCII: separators. Everything else (letters, CJK, emoji) is content. */
function isSeparator(c: number): boolean {
  return (c >= 0xa0 && c <= 0xbf) || (c >= 0x2000 && c <= 0x206f) || (c >= 0x2e00 && c <= 0x2e7f) || (c >= 0x3000 && c <= 0x303f) || c === 0xd7 || c === 0xf7;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A MinHash signature: SIG_BINS small integers. */
export type Signature = number[];

/**
 * Reusable: `compute()` overwrites the fields. One instance per filter (the hot path allocates
 * nothing); copy `sig` (`slice()`) before keeping it.
 */
export class Fingerprinter {
  /** 53-bit hash of the normalised text. */
  exact = 0;
  /** Normalised length in UTF-16 units (separators included, runs cut). */
  length = 0;
  /** Whether `sig` was computed (normalised length >= the requested minimum). */
  hasSig = false;
  readonly sig: Signature = new Array<number>(SIG_BINS).fill(EMPTY_BIN);
  /** Bit k set: bin k got a shingle in the last pass (the others are empty until densified). */
  private filledBins = 0;

  /** Fingerprints `text`; the signature only when its normalised length reaches `sigMinChars`
   *  (`Infinity`: never, and the shingling is skipped). */
  compute(text: string, sigMinChars: number): this {
    const wantSig = Number.isFinite(sigMinChars);
    // ASCII text (most chat) is read as it is; the first character beyond ASCII restarts the
    // pass on the text's compatibility decomposition, lower-cased.
    if (!this.pass(text, wantSig, true)) this.pass(text.normalize('NFKD').toLowerCase(), wantSig, false);
    if (this.length === 0) {
      // Nothing but punctuation ("???" vs "!!!"): hash the raw text so those stay distinct.
      let h1 = 0x811c9dc5;
      let h2 = 0x9747b28c;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        const h = Math.imul(h2 ^ c, 0x5bd1e995);
        h2 = h ^ (h >>> 15);
      }
      this.exact = (h1 >>> 0) * 0x200000 + (h2 >>> 11);
    }
    this.hasSig = this.length >= sigMinChars && this.length >= 3;
    if (this.hasSig) densify(this.sig, this.filledBins);
    return this;
  }

  /**
   * One pass of normalisation, hashing and shingling over `s`, all state in locals. With
   * `asciiOnly`, gives up (returns false, fields untouched) at the first non-ASCII character.
   * Per character: separators collapse to one SEP between content (none leading or trailing), a
   * run of one character is cut to two, every emitted character is mixed into both hashes and,
   * from the third on (up to MAX_SHINGLE_CHARS), its 3-gram into the signature.
   */
  private pass(s: string, wantSig: boolean, asciiOnly: boolean): boolean {
    const sig = this.sig;
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    let length = 0;
    let last = -1;
    let rep = 0;
    let pendingSep = false;
    let s0 = 0;
    let s1 = 0;
    let filled = false;
    let bins = 0;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 128) {
        if (c >= 65 && c <= 90) c += 32;
        else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) c = SEP;
      } else if (asciiOnly) {
        return false;
      } else if (isIgnorable(c)) {
        if (c === 0xdb40) i++; // and its low surrogate
        continue;
      } else if (isSeparator(c)) {
        c = SEP;
      } else {
        c = CONFUSABLES.get(c) ?? c;
      }
      if (c === SEP) {
        if (length > 0) pendingSep = true;
        continue;
      }
      // Emits SEP first when one is pending (a SEP differs from c, so c then starts a run), then c.
      let e = c;
      if (pendingSep) {
        pendingSep = false;
        e = SEP;
        rep = 1;
      } else if (c === last) {
        if (++rep > 2) continue;
      } else {
        rep = 1;
      }
      for (;;) {
        last = e;
        h1 = Math.imul(h1 ^ e, 0x01000193);
        const h = Math.imul(h2 ^ e, 0x5bd1e995);
        h2 = h ^ (h >>> 15);
        const len = ++length;
        if (len <= MAX_SHINGLE_CHARS && wantSig) {
          if (len >= 3) {
            if (!filled) {
              for (let k = 0; k < SIG_BINS; k++) sig[k] = EMPTY_BIN;
              filled = true;
            }
            // fmix32, written out: a call returning a uint32 may box it.
            let g = Math.imul(s0, 0x3c6ef372) ^ Math.imul(s1, 0x9e3779b1) ^ e;
            g ^= g >>> 16;
            g = Math.imul(g, 0x85ebca6b);
            g ^= g >>> 13;
            g = Math.imul(g, 0xc2b2ae35);
            g ^= g >>> 16;
            const bin = g >>> BIN_SHIFT;
            const v = g & BIN_MASK;
            if (v < sig[bin]!) {
              sig[bin] = v;
              bins |= 1 << bin;
            }
          }
          s0 = s1;
          s1 = e;
        }
        if (e === c) break;
        e = c;
      }
    }
    if (!filled) for (let k = 0; k < SIG_BINS; k++) sig[k] = EMPTY_BIN;
    this.exact = (h1 >>> 0) * 0x200000 + (h2 >>> 11);
    this.length = length;
    this.filledBins = bins;
    return true;
  }
}

/** Rotation densification: an empty bin takes the next non-empty bin's value (circularly) mixed
 *  with its distance, so equal sets stay equal and a borrowed value is not the bin's own.
 *  `filled`: bit k set = bin k is not empty. One backward sweep from the first non-empty bin:
 *  "the next non-empty bin" is carried along. */
function densify(sig: Signature, filled: number): void {
  if (filled === 0 || filled === -1) return; // all empty, or all 32 filled
  const first = 31 - Math.clz32(filled & -filled);
  // Walk backwards (circularly) from just before `first`: `next` is the nearest non-empty bin
  // after the current one, `value` its original value. Filled bins keep their own value.
  let next = first;
  let value = sig[first]!;
  for (let step = 1; step < SIG_BINS; step++) {
    const k = (first - step) & (SIG_BINS - 1);
    if ((filled >>> k) & 1) {
      next = k;
      value = sig[k]!;
      continue;
    }
    const d = (next - k) & (SIG_BINS - 1);
    sig[k] = (fmix32(value ^ Math.imul(d, 0x9e3779b1)) & SMI_MASK) | 0x08000000;
  }
}

/** Estimated Jaccard similarity: the share of equal bins. */
export function similarity(a: Signature, b: Signature): number {
  let eq = 0;
  for (let k = 0; k < SIG_BINS; k++) if (a[k] === b[k]) eq++;
  return eq / SIG_BINS;
}

/**
 * The similarity of `a` and `b` if it is at least `threshold`, else -1 — stopping as soon as too
 * many bins differ. Unrelated texts differ in nearly every bin, so a miss costs ~10 comparisons
 * instead of 32 (the duplicate check runs against up to 8 recent messages per message).
 */
export function similarityAtLeast(a: Signature, b: Signature, threshold: number): number {
  const allowed = SIG_BINS - Math.ceil(threshold * SIG_BINS - 1e-9); // mismatches that still pass
  let miss = 0;
  for (let k = 0; k < SIG_BINS; k++) {
    if (a[k] !== b[k] && ++miss > allowed) return -1;
  }
  return (SIG_BINS - miss) / SIG_BINS;
}

/** `similarityAtLeast` with `a` the signature stored at `a[offset ...]` (a ring of signatures). */
export function similarityAtLeastAt(a: readonly number[], offset: number, b: Signature, threshold: number): number {
  const allowed = SIG_BINS - Math.ceil(threshold * SIG_BINS - 1e-9);
  let miss = 0;
  for (let k = 0; k < SIG_BINS; k++) {
    if (a[offset + k] !== b[k] && ++miss > allowed) return -1;
  }
  return (SIG_BINS - miss) / SIG_BINS;
}

/** The key of band `band` (0..BANDS-1): a 30-bit small integer (fast Map key), the band mixed in. */
export function bandKey(sig: Signature, band: number): number {
  const o = band * ROWS;
  const h = fmix32(sig[o]! ^ Math.imul(sig[o + 1]!, 0x2545f491) ^ Math.imul(sig[o + 2]!, 0x9e3779b1) ^ Math.imul(sig[o + 3]!, 0x27d4eb2f) ^ Math.imul(band + 1, 0x85ebca6b));
  return h & SMI_MASK;
}
