import { bmvbhash } from 'blockhash-core';
import { describe, expect, it } from 'vitest';
import {
  BLOCKHASH_INPUT_SIDE,
  BLOCKHASH_LOW_QUALITY_BELOW,
  BLOCKHASH_MATCH_THRESHOLD,
  blockhashDistance,
  blockhashFromRgba,
} from '../../../filters/image/blockhash.ts';
import { hexToHash256 } from '../../../filters/image/hash256.ts';
import { scene } from './fixtures.ts';

async function rgba(seed: number, w: number, h: number) {
  const { data, info } = await scene(seed, w, h).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), w: info.width, h: info.height };
}

describe('blockhash', () => {
  it('is exactly blockhash-core (16 bits per side) on an image at the input size', async () => {
    const { data } = await rgba(1, BLOCKHASH_INPUT_SIDE, BLOCKHASH_INPUT_SIDE);
    const r = blockhashFromRgba(data, BLOCKHASH_INPUT_SIDE, BLOCKHASH_INPUT_SIDE);
    expect(r.hex).toBe(bmvbhash({ width: BLOCKHASH_INPUT_SIDE, height: BLOCKHASH_INPUT_SIDE, data }, 16));
    expect(r.hex).toHaveLength(64);
  });

  it('is exactly blockhash-core on an image whose blocks are whole grid cells', async () => {
    // 256×192: each grid cell is a 4×3 pixel box, each block 16×12: the block sums are identical.
    const { data } = await rgba(4, 256, 192);
    expect(blockhashFromRgba(data, 256, 192).hex).toBe(bmvbhash({ width: 256, height: 192, data }, 16));
  });

  it.each([
    [512, 384, 4],
    [500, 333, 8],
    // Smaller than the grid vertically: block edges fall between pixels; blockhash-core weighs
    // the split pixels fractionally, the grid gives each pixel to one cell.
    [97, 61, 16],
  ])('downscaling first stays close to blockhash-core on the full %i×%i image', async (w, h, bound) => {
    const img = await rgba(2, w, h);
    const ours = blockhashFromRgba(img.data, img.w, img.h);
    const full = bmvbhash({ width: img.w, height: img.h, data: img.data }, 16);
    expect(blockhashDistance(ours.hash, hexToHash256(full))).toBeLessThanOrEqual(bound);
  });

  it('flags flat images as low quality (their bits sit on the band medians)', () => {
    const w = 200;
    const h = 150;
    const flat = new Uint8Array(w * h * 4).fill(128);
    const r = blockhashFromRgba(flat, w, h);
    expect(r.quality).toBe(0);
    expect(r.lowQuality).toBe(true);
    // Nearly flat: a faint gradient of 2 grey levels is still noise to blockhash.
    const faint = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) faint.fill(127 + ((p % w) * 2) / w, p * 4, p * 4 + 3), (faint[p * 4 + 3] = 255);
    expect(blockhashFromRgba(faint, w, h).lowQuality).toBe(true);
  });

  it('textured scenes are good quality', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const img = await rgba(seed, 320, 240);
      expect(blockhashFromRgba(img.data, img.w, img.h).quality).toBeGreaterThanOrEqual(BLOCKHASH_LOW_QUALITY_BELOW);
    }
  });

  it('transparent pixels count as white, as in blockhash-core', () => {
    const w = 64;
    const clear = new Uint8Array(w * w * 4); // all transparent black
    const white = new Uint8Array(w * w * 4).fill(255);
    expect(blockhashFromRgba(clear, w, w).hex).toBe(blockhashFromRgba(white, w, w).hex);
  });

  it('unrelated scenes are far apart', async () => {
    const a = await rgba(11, 320, 240);
    const b = await rgba(12, 320, 240);
    expect(blockhashDistance(blockhashFromRgba(a.data, a.w, a.h).hash, blockhashFromRgba(b.data, b.w, b.h).hash)).toBeGreaterThan(BLOCKHASH_MATCH_THRESHOLD * 2);
  });

  it('refuses buffers that do not fit the dimensions', () => {
    expect(() => blockhashFromRgba(new Uint8Array(10), 10, 10)).toThrow(RangeError);
    expect(() => blockhashFromRgba(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });
});
