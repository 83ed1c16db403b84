import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeForHashing } from '../../../filters/image/decode.ts';
import { hamming256, hash256ToHex, hexToHash256 } from '../../../filters/image/hash256.ts';
import {
  DIHEDRALS,
  PDQ_MATCH_THRESHOLD,
  PDQ_QUALITY_DISCARD_AT_OR_BELOW,
  lumaFromPixels,
  pdqDihedralFromPixels,
  pdqFromLuma,
  pdqFromPixels,
  pdqSteps,
  type Dihedral,
} from '../../../filters/image/pdq.ts';
import { runSliced, runToEnd } from '../../../filters/image/slices.ts';
import { pdqVectorsDir, prng } from './fixtures.ts';
import { bitOf, referencePdq } from './pdq-reference.ts';

interface Vector {
  file: string;
  pdq: string;
}
interface VectorFile {
  tolerance: { reference_tests: number; readme_for_quality_ge_80: number };
  match_threshold: number;
  quality_discard_at_or_below: number;
  vectors: Vector[];
}

const dir = pdqVectorsDir();
const SKIP_REASON = `SKIPPED: PDQ conformance vectors not found at ${process.env.PDQ_VECTORS_DIR ?? '../shared/vectors/pdq (relative to the repo root)'}`;
if (!dir) console.warn(`[pdq.test] ${SKIP_REASON}; the conformance tests below do not run.`);
const vectorFile: VectorFile | undefined = dir ? JSON.parse(readFileSync(`${dir}vectors.json`, 'utf8')) : undefined;

/** Hash a vector through the production decode path (shrink-on-load to ≤ 512, RGBA). */
async function hashFile(file: string) {
  const bytes = readFileSync(`${dir}${file}`);
  // The vectors include a 1.2 MB PNG; the byte cap is a gateway policy, not part of PDQ.
  const d = await decodeForHashing(bytes, { limits: { maxBytes: 16 * 1024 * 1024 } });
  return pdqDihedralFromPixels(d.rgba, d.width, d.height, 4);
}

describe.skipIf(!dir)(`PDQ conformance (../shared/vectors/pdq)${dir ? '' : ` — ${SKIP_REASON}`}`, () => {
  const v = vectorFile!;
  const results = new Map<string, { distance: number; quality: number }>();

  it('the vector file states the tolerances and thresholds this implementation uses', () => {
    expect(v.tolerance.reference_tests).toBe(16);
    expect(v.tolerance.readme_for_quality_ge_80).toBe(10);
    expect(v.match_threshold).toBe(PDQ_MATCH_THRESHOLD);
    expect(v.quality_discard_at_or_below).toBe(PDQ_QUALITY_DISCARD_AT_OR_BELOW);
  });

  it('every vector is within 16 bits of the reference hash, and within 10 where quality ≥ 80', async () => {
    for (const vec of v.vectors) {
      const r = await hashFile(vec.file);
      results.set(vec.file, { distance: hamming256(r.hashes[0]!, hexToHash256(vec.pdq)), quality: r.quality });
    }
    const table = new Map<string, { n: number; max: number; maxQ80: number; minQ: number }>();
    for (const [file, r] of results) {
      const group = file.split('/')[0]!;
      const g = table.get(group) ?? { n: 0, max: 0, maxQ80: 0, minQ: 100 };
      g.n++;
      g.max = Math.max(g.max, r.distance);
      if (r.quality >= 80) g.maxQ80 = Math.max(g.maxQ80, r.distance);
      g.minQ = Math.min(g.minQ, r.quality);
      table.set(group, g);
    }
    console.info(
      ['PDQ conformance — max Hamming distance to the reference hash, per group:', ...[...table].map(([g, t]) => `  ${g.padEnd(12)} vectors ${t.n}  max ${t.max}  max where quality ≥ 80: ${t.maxQ80}  min quality ${t.minQ}`)].join('\n'),
    );
    for (const [file, r] of results) {
      expect({ file, distance: r.distance }).toEqual({ file, distance: expect.toSatisfy((d: number) => d <= v.tolerance.reference_tests) });
      if (r.quality >= 80) expect({ file, distance: r.distance }).toEqual({ file, distance: expect.toSatisfy((d: number) => d <= v.tolerance.readme_for_quality_ge_80) });
    }
  });

  it('the modified bridge photos all match the original at the reference threshold', async () => {
    const orig = await hashFile('bridge-mods/aaa-orig.jpg');
    for (const vec of v.vectors.filter((x) => x.file.startsWith('bridge-mods/'))) {
      const r = await hashFile(vec.file);
      expect({ file: vec.file, d: hamming256(r.hashes[0]!, orig.hashes[0]!) }).toEqual({ file: vec.file, d: expect.toSatisfy((d: number) => d <= PDQ_MATCH_THRESHOLD) });
    }
  });

  it("the original's eight dihedral hashes match the rotated and flipped copies (the reference's hashes and ours)", async () => {
    const orig = await hashFile('dih/bridge-1-original.jpg');
    const named: Record<string, Dihedral> = {
      'bridge-1-original.jpg': 'original',
      'bridge-2-rotate-90.jpg': 'rotate90',
      'bridge-3-rotate-180.jpg': 'rotate180',
      'bridge-4-rotate-270.jpg': 'rotate270',
      'bridge-5-flipx.jpg': 'flipX',
      'bridge-6-flipy.jpg': 'flipY',
      'bridge-7-flip-plus-1.jpg': 'flipPlus1',
      'bridge-8-flip-minus-1.jpg': 'flipMinus1',
    };
    const rows: string[] = [];
    for (const vec of v.vectors.filter((x) => x.file.startsWith('dih/'))) {
      const which = named[vec.file.slice(4)]!;
      const ours = orig.hashes[DIHEDRALS.indexOf(which)]!;
      const toReference = hamming256(ours, hexToHash256(vec.pdq));
      const copy = await hashFile(vec.file);
      const toOurHashOfCopy = hamming256(ours, copy.hashes[0]!);
      // The other seven transforms are unrelated hashes (~128 apart).
      const others = orig.hashes.filter((_, i) => i !== DIHEDRALS.indexOf(which)).map((h) => hamming256(h, copy.hashes[0]!));
      rows.push(`  ${which.padEnd(10)} vs reference ${toReference}, vs our hash of the copy ${toOurHashOfCopy}, nearest other transform ${Math.min(...others)}`);
      expect({ which, toReference, toOurHashOfCopy }).toEqual({ which, toReference: expect.toSatisfy((d: number) => d <= PDQ_MATCH_THRESHOLD), toOurHashOfCopy: expect.toSatisfy((d: number) => d <= PDQ_MATCH_THRESHOLD) });
      expect(Math.min(...others)).toBeGreaterThan(PDQ_MATCH_THRESHOLD * 2);
    }
    console.info(['PDQ dihedral — the original photo\'s transform hash vs each copy:', ...rows].join('\n'));
  });

  it('quality: photos score high; flat or tiny images score at or below the discard level', async () => {
    for (const file of ['bridge-mods/aaa-orig.jpg', 'labelme/q0122.jpg', 'misc/c.png']) expect((await hashFile(file)).quality).toBeGreaterThanOrEqual(80);
    // The reference marks these low quality (near-uniform labelme frames; a 224×399 near-blank).
    for (const file of ['labelme/q0003.jpg', 'labelme/q0004.jpg', 'misc/small.jpg']) expect((await hashFile(file)).quality).toBeLessThanOrEqual(PDQ_QUALITY_DISCARD_AT_OR_BELOW);
  });
});

describe('PDQ implementation', () => {
  const randomImage = (seed: number, w: number, h: number) => {
    const r = prng(seed);
    const img = new Uint8Array(w * h * 3);
    // Smooth-ish content plus noise, so coefficients are not all near the median.
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) img[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(128 + 80 * Math.sin((x * (k + 1)) / 17 + seed) * Math.cos(y / 23) + (r() - 0.5) * 60)));
    return img;
  };

  it('computes the same bits and quality as a naive transcription of the reference (property)', () => {
    fc.assert(
      // From 64 px up (below, the 64×64 grid repeats pixels and many DCT coefficients tie exactly at
      // the median, where float rounding decides: the reference's own C++ and Python differ there).
      fc.property(fc.integer({ min: 64, max: 700 }), fc.integer({ min: 64, max: 700 }), fc.integer(), (w, h, seed) => {
        const img = randomImage(seed, w, h);
        const ref = referencePdq(lumaFromPixels(img, w, h, 3), w, h);
        const ours = pdqFromPixels(img, w, h, 3);
        const differing = ref.bits.filter((b, k) => b !== bitOf(ours.hash, k)).length;
        // Float32 vs float64 accumulation can swap a coefficient sitting exactly at the median.
        expect(differing).toBeLessThanOrEqual(2);
        expect(Math.abs(ours.quality - ref.quality)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 25 },
    );
  });

  it('accepts grey, grey+alpha, RGB and RGBA pixels with the same result', () => {
    const w = 40;
    const h = 30;
    const grey = new Uint8Array(w * h).map((_, i) => (i * 37) % 251);
    const expand = (channels: number) => {
      const out = new Uint8Array(w * h * channels);
      for (let p = 0; p < w * h; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = c === 3 || (channels === 2 && c === 1) ? 255 : grey[p]!;
      return out;
    };
    const expected = pdqFromPixels(grey, w, h, 1);
    for (const ch of [2, 3, 4]) expect(hash256ToHex(pdqFromPixels(expand(ch), w, h, ch).hash)).toBe(hash256ToHex(expected.hash));
    expect(hash256ToHex(pdqFromLuma(Float32Array.from(grey), w, h).hash)).toBe(hash256ToHex(expected.hash));
  });

  it('gives the all-zero hash and quality 0 below 5 pixels on a side, as the reference', () => {
    const r = pdqFromPixels(new Uint8Array(4 * 100 * 3).fill(200), 4, 100, 3);
    expect(hash256ToHex(r.hash)).toBe('0'.repeat(64));
    expect(r.quality).toBe(0);
  });

  it('a flat image has quality 0', () => {
    expect(pdqFromPixels(new Uint8Array(100 * 80 * 3).fill(90), 100, 80, 3).quality).toBe(0);
  });

  it('refuses a buffer too small for its dimensions', () => {
    expect(() => pdqFromPixels(new Uint8Array(10), 10, 10, 3)).toThrow(RangeError);
    expect(() => pdqFromPixels(new Uint8Array(300), 10, 10, 5)).toThrow(RangeError);
  });

  it('sliced and synchronous runs agree, and a sliced run stops when aborted', async () => {
    const img = randomImage(7, 512, 384);
    const sync = runToEnd(pdqSteps(img, 512, 384, 3));
    const sliced = await runSliced(pdqSteps(img, 512, 384, 3), undefined, 0);
    expect(sliced.hashes.map((h) => hash256ToHex(h))).toEqual(sync.hashes.map((h) => hash256ToHex(h)));
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(runSliced(pdqSteps(img, 512, 384, 3), ac.signal)).rejects.toThrow('stop');
  });

  it('a dihedral hash of an image equals the hash of the transformed image when the grid is symmetric', () => {
    // 64×64 input skips the blur and the decimation: the transforms are then exact.
    const w = 64;
    const img = randomImage(3, w, w);
    const at = (x: number, y: number, c: number) => img[(y * w + x) * 3 + c]!;
    const transform = (f: (x: number, y: number) => [number, number]) => {
      const out = new Uint8Array(w * w * 3);
      for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
        const [sx, sy] = f(x, y);
        out[(y * w + x) * 3 + c] = at(sx, sy, c);
      }
      return out;
    };
    const all = pdqDihedralFromPixels(img, w, w, 3).hashes;
    const m = w - 1;
    const cases: [Dihedral, (x: number, y: number) => [number, number]][] = [
      ['rotate180', (x, y) => [m - x, m - y]],
      ['flipX', (x, y) => [x, m - y]],
      ['flipY', (x, y) => [m - x, y]],
      ['flipPlus1', (x, y) => [y, x]],
      ['flipMinus1', (x, y) => [m - y, m - x]],
    ];
    for (const [name, f] of cases) {
      const d = hamming256(all[DIHEDRALS.indexOf(name)]!, pdqFromPixels(transform(f), w, w, 3).hash);
      expect({ name, d }).toEqual({ name, d: expect.toSatisfy((x: number) => x <= 2) });
    }
    // Rotations by 90° are transpose + flip; one of the two orientations of each must be exact.
    const r90 = pdqFromPixels(transform((x, y) => [y, m - x]), w, w, 3).hash;
    const r270 = pdqFromPixels(transform((x, y) => [m - y, x]), w, w, 3).hash;
    const d90 = Math.min(hamming256(all[DIHEDRALS.indexOf('rotate90')]!, r90), hamming256(all[DIHEDRALS.indexOf('rotate90')]!, r270));
    const d270 = Math.min(hamming256(all[DIHEDRALS.indexOf('rotate270')]!, r90), hamming256(all[DIHEDRALS.indexOf('rotate270')]!, r270));
    expect(d90).toBeLessThanOrEqual(2);
    expect(d270).toBeLessThanOrEqual(2);
  });
});
