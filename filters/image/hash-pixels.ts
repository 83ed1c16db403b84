/**
 * Both hashes of one decoded image in a single pass over its pixels.
 *
 * PDQ needs each row's luminance, blockhash each row's R+G+B summed into its grid: reading every
 * RGBA pixel once for both halves the memory traffic and the loop overhead of hashing them one after
 * the other — the JS part of an image is most of what the event loop pays for it (slices.ts).
 */
import { BlockhashAccumulator, TRANSPARENT_VALUE, rgbaWords, type BlockhashResult } from './blockhash.ts';
import { LUMA_B, LUMA_G, LUMA_R, PdqAccumulator, type PdqDihedralResult } from './pdq.ts';
import { runToEnd, type Steps } from './slices.ts';

export interface PixelHashes {
  /** The eight dihedral PDQ hashes (hashes[0]: the image as given) and the quality. */
  pdq: PdqDihedralResult;
  blockhash: BlockhashResult;
}

/** Rows per step between yields: ~8k pixels at 512 wide, tens of µs. */
const ROWS_PER_STEP = 16;

function band(rgba: Uint8Array, words: Uint32Array | undefined, width: number, pdq: PdqAccumulator, bh: BlockhashAccumulator, row: Float64Array, y0: number, y1: number): void {
  const { cellX, sums } = bh;
  for (let y = y0; y < y1; y++) {
    const base = bh.rowBase(y);
    if (words) {
      for (let x = 0, p = y * width; x < width; x++, p++) {
        const v = words[p]!;
        const r = v & 0xff;
        const g = (v >>> 8) & 0xff;
        const b = (v >>> 16) & 0xff;
        row[x] = LUMA_R * r + LUMA_G * g + LUMA_B * b;
        sums[base + cellX[x]!]! += v >>> 24 === 0 ? TRANSPARENT_VALUE : r + g + b;
      }
    } else {
      for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
        const r = rgba[p]!;
        const g = rgba[p + 1]!;
        const b = rgba[p + 2]!;
        row[x] = LUMA_R * r + LUMA_G * g + LUMA_B * b;
        sums[base + cellX[x]!]! += rgba[p + 3] === 0 ? TRANSPARENT_VALUE : r + g + b;
      }
    }
    pdq.addRow(y, row);
  }
}

/** PDQ (eight dihedral hashes) and blockhash of RGBA pixels, as steps (see slices.ts). */
export function* hashRgbaSteps(rgba: Uint8Array, width: number, height: number): Steps<PixelHashes> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad dimensions ${width}×${height}`);
  if (rgba.length < width * height * 4) throw new RangeError(`RGBA buffer holds ${rgba.length} bytes, ${width}×${height}×4 needs ${width * height * 4}`);
  const pdq = new PdqAccumulator(width, height);
  const bh = new BlockhashAccumulator(width, height);
  const words = rgbaWords(rgba);
  const row = new Float64Array(width);
  for (let y0 = 0; y0 < height; y0 += ROWS_PER_STEP) {
    band(rgba, words, width, pdq, bh, row, y0, Math.min(height, y0 + ROWS_PER_STEP));
    yield;
  }
  const pdqResult = pdq.finish();
  yield;
  return { pdq: pdqResult, blockhash: bh.finish() };
}

/** `hashRgbaSteps`, synchronously. */
export function hashRgba(rgba: Uint8Array, width: number, height: number): PixelHashes {
  return runToEnd(hashRgbaSteps(rgba, width, height));
}
