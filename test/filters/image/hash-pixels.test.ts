import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockhashFromRgba } from '../../../filters/image/blockhash.ts';
import { hash256ToHex } from '../../../filters/image/hash256.ts';
import { hashRgba, hashRgbaSteps } from '../../../filters/image/hash-pixels.ts';
import { pdqDihedralFromPixels } from '../../../filters/image/pdq.ts';
import { runSliced } from '../../../filters/image/slices.ts';
import { prng } from './fixtures.ts';

function rgbaImage(seed: number, w: number, h: number, offset = 0): Uint8Array {
  const r = prng(seed);
  const buf = new Uint8Array(w * h * 4 + offset);
  const img = buf.subarray(offset);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      for (let k = 0; k < 3; k++) img[p + k] = Math.max(0, Math.min(255, Math.round(128 + 90 * Math.sin((x + seed) / (9 + k)) * Math.cos(y / 13) + (r() - 0.5) * 40)));
      // Some fully transparent pixels: blockhash counts them white, PDQ ignores alpha.
      img[p + 3] = r() < 0.05 ? 0 : 255;
    }
  }
  return img;
}

describe('hashRgba (one pass for both hashes)', () => {
  it('gives exactly the PDQ and blockhash of the separate hashers (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 400 }), fc.integer(), fc.integer({ min: 0, max: 3 }), (w, h, seed, offset) => {
        // offset ≠ 0: an unaligned buffer takes the byte-by-byte path.
        const img = rgbaImage(seed, w, h, offset);
        const both = hashRgba(img, w, h);
        const pdq = pdqDihedralFromPixels(img, w, h, 4);
        expect(both.pdq.quality).toBe(pdq.quality);
        expect(both.pdq.hashes.map((x) => hash256ToHex(x))).toEqual(pdq.hashes.map((x) => hash256ToHex(x)));
        expect(both.blockhash).toEqual(blockhashFromRgba(img, w, h));
      }),
      { numRuns: 40 },
    );
  });

  it('runs in slices with the same result', async () => {
    const img = rgbaImage(1, 512, 384);
    const sliced = await runSliced(hashRgbaSteps(img, 512, 384), undefined, 0);
    expect(sliced.blockhash.hex).toBe(hashRgba(img, 512, 384).blockhash.hex);
  });

  it('refuses a buffer that does not fit the dimensions', () => {
    expect(() => hashRgba(new Uint8Array(12), 2, 2)).toThrow(RangeError);
  });
});
