/**
 * PDQ (Meta's 256-bit perceptual hash), written from the algorithm of the reference
 * implementations in facebook/ThreatExchange `pdq/` (C++ and Python):
 *
 *   RGB → luminance (Rec. 601 weights) → two passes of X and Y box filters (Jarosz: together a tent
 *   filter) with a window of ⌈side / 128⌉ → decimate to 64×64 (sample the centres) → quality from
 *   the 64×64 gradients → 2-D DCT, keeping coefficients 1..16 × 1..16 → one bit per coefficient:
 *   above the median of the 256 or not.
 *
 * The eight dihedral hashes (rotations and flips of the image) come from sign changes and a
 * transpose of the 16×16 DCT coefficients, so one decode gives all eight: a rotated or mirrored
 * copy of a banked image matches without re-hashing.
 *
 * The blur is evaluated only where the 64×64 samples need it (PdqAccumulator), which gives the
 * reference's numbers for a fraction of its work.
 *
 * Everything here is pure (no I/O); callers hand it pixels already decoded and downscaled (see
 * decode.ts): ≤ 512×512 in, 1–3 ms of JS on our 2-core VM. The pixel loops are generators
 * (`pdqSteps`) that yield every few rows, so the filter runs them in event-loop-friendly slices
 * (slices.ts); the plain functions run them to the end synchronously.
 */
import { HASH256_WORDS, hash256ToHex, type Hash256 } from './hash256.ts';
import { runToEnd, type Steps } from './slices.ts';

/** Reference match threshold: distance ≤ 31 of 256 is "the same image" (ThreatExchange docs). */
export const PDQ_MATCH_THRESHOLD = 31;
/**
 * Reference guidance: hashes of quality ≤ 49 are unreliable (flat or nearly flat images, whose
 * bits flip with noise) and should be discarded rather than matched.
 */
export const PDQ_QUALITY_DISCARD_AT_OR_BELOW = 49;
/**
 * The reference Python hasher thumbnails every image to fit 512×512 before hashing; the 64×64
 * downsample then only needs a ≤ 4-pixel window. Decoding straight to this size (JPEG
 * shrink-on-load) is what keeps a 12 MP photo cheap.
 */
export const PDQ_INPUT_MAX_SIDE = 512;
/** Reference: images smaller than 5 pixels on a side get the all-zero hash and quality 0. */
export const PDQ_MIN_SIDE = 5;

/** Rows of pixel work between two yields of the step generators (a few µs to ~50 µs each). */
const ROWS_PER_STEP = 16;

/** Rec. 601 luma weights, as in the reference. */
export const LUMA_R = 0.299;
export const LUMA_G = 0.587;
export const LUMA_B = 0.114;

/** The eight dihedral transforms, in the reference's order. */
export const DIHEDRALS = ['original', 'rotate90', 'rotate180', 'rotate270', 'flipX', 'flipY', 'flipPlus1', 'flipMinus1'] as const;
export type Dihedral = (typeof DIHEDRALS)[number];

export interface PdqResult {
  hash: Hash256;
  /** 0..100; ≤ 49 means "do not trust this hash" (see PDQ_QUALITY_DISCARD_AT_OR_BELOW). */
  quality: number;
}

export interface PdqDihedralResult {
  quality: number;
  /** Eight hashes, indexed like DIHEDRALS (hashes[0] is the image as given). */
  hashes: Hash256[];
}

/** 16×64 DCT-II rows 1..16 (row 0, the DC term, is skipped as in the reference). */
const DCT = (() => {
  const d = new Float64Array(16 * 64);
  const scale = Math.sqrt(2 / 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

function checkPixels(data: ArrayLike<number>, width: number, height: number, channels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) throw new RangeError(`bad dimensions ${width}×${height}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) throw new RangeError(`channels must be 1 to 4, got ${channels}`);
  if (data.length < width * height * channels) throw new RangeError(`pixel buffer holds ${data.length} samples, ${width}×${height}×${channels} needs ${width * height * channels}`);
}

/** True on little-endian hosts, where the low byte of an RGBA pixel read as one word is R. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Reads rows of luminance out of decoded pixels: `channels` 1 (grey), 2 (grey + alpha), 3 (RGB) or
 * 4 (RGBA); alpha is ignored, as the reference's RGB conversion does. A Float32Array with one
 * channel is taken as luminance already.
 */
class LumaRows {
  /** RGBA as 32-bit words when aligned: one load per pixel instead of three. */
  private readonly words: Uint32Array | undefined;
  constructor(
    private readonly data: Uint8Array | Float32Array,
    private readonly width: number,
    private readonly channels: number,
  ) {
    this.words = data instanceof Uint8Array && channels === 4 && LITTLE_ENDIAN && data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : undefined;
  }

  /** Luminance of row `y`, columns [x0, x1), into `out` at the same column indices. */
  read(y: number, x0: number, x1: number, out: Float64Array): void {
    const { data, width, channels, words } = this;
    if (words) {
      for (let x = x0, p = y * width + x0; x < x1; x++, p++) {
        const v = words[p]!;
        out[x] = LUMA_R * (v & 0xff) + LUMA_G * ((v >>> 8) & 0xff) + LUMA_B * ((v >>> 16) & 0xff);
      }
    } else if (channels >= 3) {
      for (let x = x0, q = (y * width + x0) * channels; x < x1; x++, q += channels) out[x] = LUMA_R * data[q]! + LUMA_G * data[q + 1]! + LUMA_B * data[q + 2]!;
    } else {
      for (let x = x0, q = (y * width + x0) * channels; x < x1; x++, q += channels) out[x] = data[q]!;
    }
  }
}

/**
 * Luminance of decoded pixels as a plane, row-major (see LumaRows for `channels`). The hashers do
 * not need it (they read luminance row by row); it is here for tools and tests.
 */
export function lumaFromPixels(data: Uint8Array, width: number, height: number, channels: number): Float32Array {
  checkPixels(data, width, height, channels);
  const rows = new LumaRows(data, width, channels);
  const row = new Float64Array(width);
  const luma = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    rows.read(y, 0, width, row);
    luma.set(row, y * width);
  }
  return luma;
}

/** The reference's window: ⌈old / (2 · new)⌉ — half a 64th of the side per pass, two passes. */
function jaroszWindow(oldSide: number, newSide: number): number {
  return Math.floor((oldSide + 2 * newSide - 1) / (2 * newSide));
}

/**
 * The reference's box filter (downscaling.cpp `box1DFloat`) centres a window of `window` samples
 * so that output `o` averages inputs `o - (window - half)` .. `o + half - 1`, clipped to the
 * vector, with half = ⌊(window + 2) / 2⌋; at the edges the window shrinks (the mean is over the
 * samples present).
 */
function boxBounds(window: number): { before: number; after: number } {
  const half = (window + 2) >> 1; // 7 → 4, 8 → 5
  return { before: window - half, after: half - 1 };
}

/**
 * The reference blurs with two X-then-Y box passes (Jarosz, SIGGRAPH 2001: together a tent
 * filter). The weights that one sampled output of those two passes along one axis gives to
 * the input samples: for each of the 64 decimation points (the reference samples the centres of 64
 * equal cells), a short run of weights starting at `start[i]`, `stride` apart in `w`.
 */
interface Taps {
  start: Int32Array;
  len: Int32Array;
  w: Float64Array;
  stride: number;
}

function tentTaps(n: number, window: number): Taps {
  const { before, after } = boxBounds(window);
  const stride = 2 * (before + after) + 1;
  const t: Taps = { start: new Int32Array(64), len: new Int32Array(64), w: new Float64Array(64 * stride), stride };
  for (let i = 0; i < 64; i++) {
    const o = Math.floor(((i + 0.5) * n) / 64);
    // Second pass at o averages first-pass outputs k in [lo1, hi1]; each of those averages inputs
    // in [k - before, k + after] (clipped). Their composition: at most `stride` inputs.
    const lo1 = Math.max(0, o - before);
    const hi1 = Math.min(n - 1, o + after);
    const start = Math.max(0, lo1 - before);
    const end = Math.min(n - 1, hi1 + after);
    t.start[i] = start;
    t.len[i] = end - start + 1;
    for (let k = lo1; k <= hi1; k++) {
      const lo2 = Math.max(0, k - before);
      const hi2 = Math.min(n - 1, k + after);
      const weight = 1 / ((hi1 - lo1 + 1) * (hi2 - lo2 + 1));
      for (let m = lo2; m <= hi2; m++) t.w[i * stride + m - start]! += weight;
    }
  }
  return t;
}

/**
 * Blur and decimate to 64×64, exactly as the reference's X, Y, X, Y box passes followed by
 * sampling the cell centres — but evaluated only where the 64×64 samples need it, one luminance
 * row at a time (so a caller can feed rows it computes anyway: see hash-pixels.ts).
 *
 * The passes are linear and separable (the X and Y passes commute), so each sample is a weighted
 * sum over a small rectangle of luminance with weights (tentTaps) that are the product of one row
 * tap and one column tap. Each needed luminance row is reduced to its 64 column-weighted sums;
 * `finish` then takes the 64 row-weighted sums of those. At 512 px that is ~15× fewer operations
 * than blurring the whole image four times; the result is the same up to float rounding.
 */
export class PdqAccumulator {
  /** Columns [x0, x1) of each row that the samples read. */
  readonly x0: number;
  readonly x1: number;
  private readonly needRow: Uint8Array;
  private readonly tx: Taps | undefined;
  private readonly ty: Taps | undefined;
  /** colSums[y · 64 + j]: row y reduced by column tap j (float32 halves the allocation). */
  private readonly colSums: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) throw new RangeError(`bad dimensions ${width}×${height}`);
    this.needRow = new Uint8Array(height);
    this.colSums = new Float32Array(height * 64);
    if (width < PDQ_MIN_SIDE || height < PDQ_MIN_SIDE) {
      this.x0 = this.x1 = 0;
    } else if (width === 64 && height === 64) {
      // The reference skips the blur for input already at 64×64 (video frames downsampled
      // upstream): every pixel is a sample.
      this.needRow.fill(1);
      this.x0 = 0;
      this.x1 = 64;
    } else {
      this.tx = tentTaps(width, jaroszWindow(width, 64));
      this.ty = tentTaps(height, jaroszWindow(height, 64));
      for (let i = 0; i < 64; i++) this.needRow.fill(1, this.ty.start[i]!, this.ty.start[i]! + this.ty.len[i]!);
      this.x0 = this.tx.start[0]!;
      this.x1 = this.tx.start[63]! + this.tx.len[63]!;
    }
  }

  /** Whether row `y` contributes to any sample (rows that do not can be skipped). */
  needsRow(y: number): boolean {
    return this.needRow[y] === 1;
  }

  /** Feeds the luminance of row `y` (at least columns [x0, x1), at their own indices). */
  addRow(y: number, luma: ArrayLike<number>): void {
    if (!this.needRow[y]) return;
    const base = y * 64;
    const tx = this.tx;
    if (!tx) {
      for (let x = 0; x < 64; x++) this.colSums[base + x] = luma[x]!;
      return;
    }
    const { start, len, w, stride } = tx;
    for (let j = 0; j < 64; j++) {
      const s = start[j]!;
      const n = len[j]!;
      const wb = j * stride;
      let acc = 0;
      for (let k = 0; k < n; k++) acc += w[wb + k]! * luma[s + k]!;
      this.colSums[base + j] = acc;
    }
  }

  /** The 64×64 downsample, once every needed row was fed; undefined below the minimum size. */
  downsample(): Float32Array | undefined {
    if (this.width < PDQ_MIN_SIDE || this.height < PDQ_MIN_SIDE) return undefined;
    const ty = this.ty;
    if (!ty) return Float32Array.from(this.colSums.subarray(0, 64 * 64));
    const out = new Float32Array(64 * 64);
    for (let i = 0; i < 64; i++) {
      const s = ty.start[i]!;
      const len = ty.len[i]!;
      for (let j = 0; j < 64; j++) {
        let acc = 0;
        for (let k = 0; k < len; k++) acc += ty.w[i * ty.stride + k]! * this.colSums[(s + k) * 64 + j]!;
        out[i * 64 + j] = acc;
      }
    }
    return out;
  }

  /** Quality and the requested dihedral hashes (all eight by default). */
  finish(which: readonly Dihedral[] = DIHEDRALS): PdqDihedralResult {
    const a64 = this.downsample();
    if (!a64) return { quality: 0, hashes: which.map(() => new Uint32Array(HASH256_WORDS)) };
    const dct = dct16(a64);
    return { quality: quality64(a64), hashes: which.map((d) => bits(d === 'original' ? dct : dihedralCoefficients(dct, d))) };
  }
}

/**
 * The reference's quality heuristic: the sum of significant gradients of the 64×64, each
 * truncated to an integer percentage of full scale, divided by 90, capped at 100.
 */
function quality64(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) sum += Math.abs(Math.trunc(((a[i * 64 + j]! - a[(i + 1) * 64 + j]!) * 100) / 255));
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) sum += Math.abs(Math.trunc(((a[i * 64 + j]! - a[i * 64 + j + 1]!) * 100) / 255));
  }
  return Math.min(100, Math.floor(sum / 90));
}

/**
 * B = D · A · Dᵀ, 16×16 out of the 64×64. DCT rows are symmetric about the middle
 * (D[i][63 − k] = (−1)^(i+1) · D[i][k]), so each product folds the 64 inputs into 32 sums or
 * differences first: half the multiplications of the plain product.
 */
function dct16(a: Float32Array): Float64Array {
  // Fold A's rows: plus[k][j] = A[k][j] + A[63-k][j], minus[k][j] = A[k][j] - A[63-k][j].
  const plus = new Float64Array(32 * 64);
  const minus = new Float64Array(32 * 64);
  for (let k = 0; k < 32; k++) {
    for (let j = 0; j < 64; j++) {
      const u = a[k * 64 + j]!;
      const v = a[(63 - k) * 64 + j]!;
      plus[k * 64 + j] = u + v;
      minus[k * 64 + j] = u - v;
    }
  }
  // T = D · A (16×64); row i uses `plus` when i + 1 is even, `minus` when odd.
  const t = new Float64Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    const f = i & 1 ? plus : minus;
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 32; k++) s += DCT[i * 64 + k]! * f[k * 64 + j]!;
      t[i * 64 + j] = s;
    }
  }
  // B = T · Dᵀ (16×16), folding T's columns the same way.
  const tPlus = new Float64Array(16 * 32);
  const tMinus = new Float64Array(16 * 32);
  for (let i = 0; i < 16; i++) {
    for (let k = 0; k < 32; k++) {
      const u = t[i * 64 + k]!;
      const v = t[i * 64 + 63 - k]!;
      tPlus[i * 32 + k] = u + v;
      tMinus[i * 32 + k] = u - v;
    }
  }
  const b = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const f = j & 1 ? tPlus : tMinus;
      let s = 0;
      for (let k = 0; k < 32; k++) s += f[i * 32 + k]! * DCT[j * 64 + k]!;
      b[i * 16 + j] = s;
    }
  }
  return b;
}

/**
 * One bit per coefficient: set when above the median (the 128th smallest of 256, which is what the
 * reference's Torben median returns). Bit k = row · 16 + column goes where the reference's
 * 16-bit-word hex layout puts it, so `hash256ToHex` prints the reference's hex.
 */
function bits(b: Float64Array): Hash256 {
  const sorted = Float64Array.from(b).sort();
  const median = sorted[127]!;
  const h = new Uint32Array(HASH256_WORDS);
  for (let k = 0; k < 256; k++) {
    if (b[k]! > median) {
      const w16 = k >> 4;
      // 16-bit word w16 is printed at hex position (15 - w16) · 4: the high half of 32-bit word
      // (15 - w16) >> 1 when w16 is odd, the low half when it is even.
      h[(15 - w16) >> 1]! |= 1 << ((w16 & 1 ? 16 : 0) + (k & 15));
    }
  }
  return h;
}

/** Sign/transpose patterns of the reference (dct16OriginalTo*), as a function per transform. */
function dihedralCoefficients(a: Float64Array, which: Dihedral): Float64Array {
  const b = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = a[i * 16 + j]!;
      const odd = (i + j) & 1;
      switch (which) {
        case 'original':
          b[i * 16 + j] = v;
          break;
        case 'rotate90':
          b[j * 16 + i] = j & 1 ? v : -v;
          break;
        case 'rotate180':
          b[i * 16 + j] = odd ? -v : v;
          break;
        case 'rotate270':
          b[j * 16 + i] = i & 1 ? v : -v;
          break;
        case 'flipX':
          b[i * 16 + j] = i & 1 ? v : -v;
          break;
        case 'flipY':
          b[i * 16 + j] = j & 1 ? v : -v;
          break;
        case 'flipPlus1':
          b[j * 16 + i] = v;
          break;
        case 'flipMinus1':
          b[j * 16 + i] = odd ? -v : v;
          break;
      }
    }
  }
  return b;
}

/** Feeds every needed row from `rows` into an accumulator, yielding every few rows. */
function* dihedralSteps(rows: LumaRows, width: number, height: number, which: readonly Dihedral[] = DIHEDRALS): Steps<PdqDihedralResult> {
  const acc = new PdqAccumulator(width, height);
  const row = new Float64Array(width);
  for (let y0 = 0; y0 < height; y0 += ROWS_PER_STEP) {
    feedRows(rows, acc, row, y0, Math.min(height, y0 + ROWS_PER_STEP));
    yield;
  }
  return acc.finish(which);
}

function feedRows(rows: LumaRows, acc: PdqAccumulator, row: Float64Array, y0: number, y1: number): void {
  for (let y = y0; y < y1; y++) {
    if (!acc.needsRow(y)) continue;
    rows.read(y, acc.x0, acc.x1, row);
    acc.addRow(y, row);
  }
}

const ORIGINAL_ONLY: readonly Dihedral[] = ['original'];

/**
 * The eight dihedral PDQ hashes of decoded pixels (`channels` 1 grey, 2 grey + alpha, 3 RGB,
 * 4 RGBA; alpha ignored as in the reference), as steps to run with runSliced or runToEnd.
 * hashes[0] is the PDQ of the image as given.
 */
export function* pdqSteps(data: Uint8Array, width: number, height: number, channels: number): Steps<PdqDihedralResult> {
  checkPixels(data, width, height, channels);
  return yield* dihedralSteps(new LumaRows(data, width, channels), width, height);
}

/** PDQ of a luminance plane (row-major, `width × height`, values 0..255). */
export function pdqFromLuma(luma: Float32Array, width: number, height: number): PdqResult {
  checkPixels(luma, width, height, 1);
  const r = runToEnd(dihedralSteps(new LumaRows(luma, width, 1), width, height, ORIGINAL_ONLY));
  return { hash: r.hashes[0]!, quality: r.quality };
}

/** The eight dihedral PDQ hashes of a luminance plane, from one DCT. */
export function pdqDihedralFromLuma(luma: Float32Array, width: number, height: number): PdqDihedralResult {
  checkPixels(luma, width, height, 1);
  return runToEnd(dihedralSteps(new LumaRows(luma, width, 1), width, height));
}

/** PDQ of decoded pixels (see pdqSteps for `channels`). */
export function pdqFromPixels(data: Uint8Array, width: number, height: number, channels: number): PdqResult {
  checkPixels(data, width, height, channels);
  const r = runToEnd(dihedralSteps(new LumaRows(data, width, channels), width, height, ORIGINAL_ONLY));
  return { hash: r.hashes[0]!, quality: r.quality };
}

/** The eight dihedral PDQ hashes of decoded pixels. */
export function pdqDihedralFromPixels(data: Uint8Array, width: number, height: number, channels: number): PdqDihedralResult {
  return runToEnd(pdqSteps(data, width, height, channels));
}

/** Hex form of a PDQ hash, as the reference prints it. */
export function pdqToHex(h: Hash256): string {
  return hash256ToHex(h);
}
export { hexToHash256 as pdqFromHex } from './hash256.ts';
