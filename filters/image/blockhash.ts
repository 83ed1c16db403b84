/**
 * Blockhash (blockhash.io) 256-bit: 16×16 blocks, each bit "is this block brighter than the
 * median of its horizontal band", computed by blockhash-core over a small RGBA image.
 *
 * blockhash-core 0.1.0 quirks this module deals with (DESIGN.md):
 *  - only even `bits` are safe: we always use 16 (256 bits);
 *  - it wants RGBA (4 bytes per pixel; alpha 0 counts as white);
 *  - it walks every pixel, with fractional block weights when the size is not a multiple of 16:
 *    so we downscale first, to BLOCKHASH_INPUT_SIDE², a multiple of 16 (its exact, fast path);
 *  - it has no Hamming helper: hamming256 (popcount over 32-bit words) is re-exported here;
 *  - flat images put many blocks at (or within noise of) the band median, so their bits flip
 *    under re-encoding: `quality` counts the blocks safely away from their median and `lowQuality`
 *    flags hashes that should not be matched (the same idea as PDQ's quality ≤ 49 rule).
 */
import { bmvbhashEven } from 'blockhash-core';
import { hexToHash256, type Hash256 } from './hash256.ts';
import { runToEnd, type Steps } from './slices.ts';

export { hamming256 as blockhashDistance } from './hash256.ts';

/** 16 blocks per side → 256 bits; blockhash-core is only correct for even values. */
export const BLOCKHASH_BLOCKS_PER_SIDE = 16;
/**
 * Side of the square RGBA image handed to blockhash-core: a multiple of 16 so it takes its exact
 * even-blocks path, 4×4 pixels per block. Each of its pixels is the mean of the source pixels that
 * fall in its cell, so block sums are the full-resolution ones (up to rounding each mean to a grey
 * level): the same bits as running blockhash-core on the whole image, for a 4k-pixel JS loop.
 */
export const BLOCKHASH_INPUT_SIDE = 64;
/**
 * A block whose brightness is within this fraction of full scale of its band median can land on
 * either side after a re-encode or a resize: measured on the test scenes, JPEG q20–95, WebP q60
 * and 25–150 % resizes moved block means by a median of 0.02–0.2 % and at most ~1.4 % of full
 * scale, so 1 % marks the blocks that are really at risk.
 */
export const BLOCKHASH_STABLE_MARGIN = 0.01;
/**
 * Quality (percent of blocks away from their median) below which the hash is flagged low quality.
 * Below 80, more than 51 of the 256 bits sit near the median: twice the default match threshold
 * could flip on noise alone, so a match or a miss would mean nothing. Measured: the PDQ vectors'
 * photos score 82–96, our test scenes 85–92; the near-blank labelme frames (PDQ quality 3 and 4)
 * score 12 and 73, a flat image 0.
 */
export const BLOCKHASH_LOW_QUALITY_BELOW = 80;
/**
 * Default match threshold for blockhash-256 banks (≈ 10 % of the bits). Measured on the test
 * fixtures: re-encoded (JPEG q20–95, PNG, WebP), resized (25–150 %), brightened or 1 %-cropped
 * copies stay ≤ 16; unrelated scenes are ≥ 100 apart.
 */
export const BLOCKHASH_MATCH_THRESHOLD = 24;

/** Rows of source pixels between two yields. */
const ROWS_PER_STEP = 32;
/** Value blockhash-core gives a fully transparent pixel (white: 3 × 255). */
export const TRANSPARENT_VALUE = 765;

export interface BlockhashResult {
  hash: Hash256;
  /** Hex as blockhash-core (and blockhash.io) print it. */
  hex: string;
  /** 0..100: percent of blocks whose bit is stable (away from the band median). */
  quality: number;
  /** True when quality < BLOCKHASH_LOW_QUALITY_BELOW: do not match on this hash. */
  lowQuality: boolean;
}

/** True on little-endian hosts, where an RGBA pixel read as one word has R in the low byte. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A 32-bit view of RGBA bytes when aligned (sharp's buffers are): one load per pixel. */
export function rgbaWords(rgba: Uint8Array): Uint32Array | undefined {
  return LITTLE_ENDIAN && rgba.byteOffset % 4 === 0 ? new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2) : undefined;
}

/**
 * Box-downscale of RGBA pixels to BLOCKHASH_INPUT_SIDE², fed row by row: each source pixel adds
 * its R+G+B (765 when fully transparent, as blockhash-core counts it) to the cell it falls in.
 * Images smaller than the grid leave cells empty; those take their nearest source pixel's cell.
 */
export class BlockhashAccumulator {
  readonly side = BLOCKHASH_INPUT_SIDE;
  /** Grid column of each source column. */
  readonly cellX: Int32Array;
  /** First grid index of the grid row of each source row. */
  private readonly rowBaseOf: Int32Array;
  /** Sum of R+G+B per grid cell. */
  readonly sums: Float64Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad dimensions ${width}×${height}`);
    const side = this.side;
    this.cellX = new Int32Array(width);
    for (let x = 0; x < width; x++) this.cellX[x] = Math.min(side - 1, Math.floor((x * side) / width));
    this.rowBaseOf = new Int32Array(height);
    for (let y = 0; y < height; y++) this.rowBaseOf[y] = Math.min(side - 1, Math.floor((y * side) / height)) * side;
    this.sums = new Float64Array(side * side);
  }

  /** Grid index of the first cell of source row `y`'s grid row. */
  rowBase(y: number): number {
    return this.rowBaseOf[y]!;
  }

  /** Adds source rows y0..y1-1 of `rgba` (width × height × 4 bytes). */
  addRows(rgba: Uint8Array, words: Uint32Array | undefined, y0: number, y1: number): void {
    const { width, cellX, sums } = this;
    for (let y = y0; y < y1; y++) {
      const base = this.rowBaseOf[y]!;
      if (words) {
        for (let x = 0, p = y * width; x < width; x++, p++) {
          const v = words[p]!;
          sums[base + cellX[x]!]! += v >>> 24 === 0 ? TRANSPARENT_VALUE : (v & 0xff) + ((v >>> 8) & 0xff) + ((v >>> 16) & 0xff);
        }
      } else {
        for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
          sums[base + cellX[x]!]! += rgba[p + 3] === 0 ? TRANSPARENT_VALUE : rgba[p]! + rgba[p + 1]! + rgba[p + 2]!;
        }
      }
    }
  }

  /** The hash, once every row was added. */
  finish(): BlockhashResult {
    const side = this.side;
    // Pixels per grid column and row (the cell maps are monotonic: count the runs).
    const colCount = new Float64Array(side);
    for (let x = 0; x < this.width; x++) colCount[this.cellX[x]!]!++;
    const rowCount = new Float64Array(side);
    for (let y = 0; y < this.height; y++) rowCount[this.rowBaseOf[y]! / side]!++;
    // Nearest non-empty grid column/row of each (only differs when upscaling a small image).
    const srcCol = new Int32Array(side);
    const srcRow = new Int32Array(side);
    for (let c = 0; c < side; c++) {
      srcCol[c] = colCount[c]! > 0 ? c : this.cellX[Math.min(this.width - 1, Math.floor(((c + 0.5) * this.width) / side))]!;
      srcRow[c] = rowCount[c]! > 0 ? c : this.rowBaseOf[Math.min(this.height - 1, Math.floor(((c + 0.5) * this.height) / side))]! / side;
    }
    const grid = new Uint8Array(side * side * 4);
    for (let cy = 0; cy < side; cy++) {
      const ry = srcRow[cy]!;
      for (let cx = 0; cx < side; cx++) {
        const rx = srcCol[cx]!;
        const mean = this.sums[ry * side + rx]! / (rowCount[ry]! * colCount[rx]!);
        // blockhash-core only ever adds the three channels: split the (rounded) mean R+G+B over
        // them so that their sum is exact.
        const sum = Math.round(mean);
        const o = (cy * side + cx) * 4;
        grid[o] = Math.floor(sum / 3);
        grid[o + 1] = Math.floor((sum + 1) / 3);
        grid[o + 2] = Math.floor((sum + 2) / 3);
        grid[o + 3] = 255;
      }
    }
    const hex = bmvbhashEven({ width: side, height: side, data: grid }, BLOCKHASH_BLOCKS_PER_SIDE);
    const quality = blockhashQualityOf(grid, side);
    return { hash: hexToHash256(hex), hex, quality, lowQuality: quality < BLOCKHASH_LOW_QUALITY_BELOW };
  }
}

/**
 * Quality: the share of the 256 blocks whose brightness is at least BLOCKHASH_STABLE_MARGIN of full
 * scale away from the median of its band (blockhash compares each block with its band's median).
 */
export function blockhashQualityOf(rgba: Uint8Array, side: number): number {
  const n = BLOCKHASH_BLOCKS_PER_SIDE;
  const per = side / n;
  const blocks = new Float64Array(n * n);
  for (let y = 0; y < side; y++) {
    const by = Math.floor(y / per);
    for (let x = 0; x < side; x++) {
      const p = (y * side + x) * 4;
      blocks[by * n + Math.floor(x / per)]! += rgba[p + 3] === 0 ? TRANSPARENT_VALUE : rgba[p]! + rgba[p + 1]! + rgba[p + 2]!;
    }
  }
  const margin = BLOCKHASH_STABLE_MARGIN * per * per * TRANSPARENT_VALUE;
  const bandSize = (n * n) / 4;
  let stable = 0;
  for (let band = 0; band < 4; band++) {
    const values = blocks.slice(band * bandSize, (band + 1) * bandSize).sort();
    const median = (values[bandSize / 2 - 1]! + values[bandSize / 2]!) / 2;
    for (let i = 0; i < bandSize; i++) if (Math.abs(values[i]! - median) >= margin) stable++;
  }
  return Math.round((100 * stable) / (n * n));
}

/** Blockhash-256 of RGBA pixels (any size), as steps (see slices.ts). */
export function* blockhashSteps(rgba: Uint8Array, width: number, height: number): Steps<BlockhashResult> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad dimensions ${width}×${height}`);
  if (rgba.length < width * height * 4) throw new RangeError(`RGBA buffer holds ${rgba.length} bytes, ${width}×${height}×4 needs ${width * height * 4}`);
  const acc = new BlockhashAccumulator(width, height);
  const words = rgbaWords(rgba);
  for (let y0 = 0; y0 < height; y0 += ROWS_PER_STEP) {
    acc.addRows(rgba, words, y0, Math.min(height, y0 + ROWS_PER_STEP));
    yield;
  }
  return acc.finish();
}

/** Blockhash-256 of RGBA pixels (any size), synchronously. */
export function blockhashFromRgba(rgba: Uint8Array, width: number, height: number): BlockhashResult {
  return runToEnd(blockhashSteps(rgba, width, height));
}
