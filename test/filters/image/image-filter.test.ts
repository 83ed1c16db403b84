import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Pipeline, type FilterContext, type PipelineMessage, type PipelineResult, type Verdict } from '../../../filters/pipeline.ts';
import { Banks } from '../../../filters/image/banks.ts';
import { BLOCKHASH_MATCH_THRESHOLD } from '../../../filters/image/blockhash.ts';
import { decodeForHashing } from '../../../filters/image/decode.ts';
import { hamming256, hammingHex, hexToHash256 } from '../../../filters/image/hash256.ts';
import { createImageFilter as newImageFilter, matchFrame, IMAGE_TIMEOUT_MS, type ImageFilter } from '../../../filters/image/image-filter.ts';
import { PDQ_MATCH_THRESHOLD, pdqDihedralFromPixels } from '../../../filters/image/pdq.ts';
import { dihedralVariants, flatJpeg, scene, sceneJpeg, variants } from './fixtures.ts';

const msg = (image?: Uint8Array): PipelineMessage => ({ kind: 'image', id: 'm1', room: 'r', userId: 'u', ...(image ? { image } : {}) });
const ctx = (deadlineMs = 1000, signal = new AbortController().signal): FilterContext => ({ deadlineMs, signal });
const budget = { text: 10, image: 1000 };

// Every filter starts hash workers: close them after each test (the shared one after the file).
const open: ImageFilter[] = [];
const createImageFilter = (opts?: Parameters<typeof newImageFilter>[0]) => {
  const f = newImageFilter(opts);
  open.push(f);
  return f;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

async function setup(opts: Parameters<typeof createImageFilter>[0] = {}) {
  const f = createImageFilter({ timeoutMs: 1000, ...opts });
  const banned = await sceneJpeg(101);
  const h = await f.hashImage(banned);
  f.banks.addBank({ id: 'abuse', name: 'Known abuse', category: 'csam', severity: 'critical', algorithm: 'pdq' });
  f.banks.addHashes('abuse', [h.pdq]);
  return { f, banned, h };
}

describe('image filter', () => {
  it('is an async filter on images that fails closed by default', () => {
    const { filter } = createImageFilter();
    expect(filter).toMatchObject({ name: 'image', kinds: ['image'], onFailure: 'hold', timeoutMs: IMAGE_TIMEOUT_MS });
    expect(createImageFilter({ onFailure: 'drop' }).filter.onFailure).toBe('drop');
    expect(() => createImageFilter({ onFailure: 'pass' as never })).toThrow(/fail closed/);
  });

  it('drops an image that matches an enabled bank, with its category and the bank as policy', async () => {
    const { f, banned, h } = await setup();
    const v = (await f.filter.check(msg(banned), ctx())) as Verdict;
    expect(v.action).toBe('drop');
    expect(v.error).toEqual({ code: 'blocked', message: expect.any(String), category: 'csam', policy: 'hash-bank:abuse' });
    expect(v.findings).toEqual([{ filter: 'image', category: 'csam', severity: 'critical', score: 1, evidence: ['abuse', h.pdq, 'd=0'] }]);
  });

  it('through the pipeline: match → drop; no match → pass with no findings', async () => {
    const { f, banned } = await setup();
    const p = new Pipeline([f.filter], { budgetMs: budget });
    const dropped = (await p.run(msg(banned))) as PipelineResult;
    expect(dropped).toMatchObject({ action: 'drop', error: { code: 'blocked', category: 'csam' }, failures: [] });
    const other = (await p.run(msg(await sceneJpeg(202)))) as PipelineResult;
    expect(other).toEqual({ action: 'pass', findings: [], failures: [] });
    // Text messages never reach the image filter.
    expect(p.run({ kind: 'text', id: 't', room: 'r', userId: 'u', text: 'hi' })).toEqual({ action: 'pass', findings: [], failures: [] });
  });

  it('re-encoded, resized and rotated copies are dropped too', async () => {
    const { f, banned } = await setup();
    const p = new Pipeline([f.filter], { budgetMs: budget });
    for (const make of [variants['jpeg q20']!, variants['resized to 25%']!, variants['cropped 1% per side']!, dihedralVariants['rotated 90°']!, dihedralVariants['mirrored']!]) {
      const r = (await p.run(msg(await make(banned)))) as PipelineResult;
      expect(r.action).toBe('drop');
      expect(r.findings[0]!.evidence![2]).toMatch(/^d=\d+$/);
      expect(r.findings[0]!.score).toBeGreaterThan(1 - PDQ_MATCH_THRESHOLD / 256);
    }
  });

  it('a shadow bank reports findings and lets the image through', async () => {
    const f = createImageFilter({ timeoutMs: 1000 });
    const img = await sceneJpeg(303);
    const h = await f.hashImage(img);
    f.banks.addBank({ id: 'trial', name: 'Trial list', category: 'gore', severity: 'high', algorithm: 'blockhash', mode: 'shadow' });
    f.banks.addHashes('trial', [h.blockhash]);
    const r = (await new Pipeline([f.filter], { budgetMs: budget }).run(msg(img))) as PipelineResult;
    expect(r.action).toBe('pass');
    expect(r.findings).toEqual([{ filter: 'image', category: 'gore', severity: 'high', score: 1, evidence: ['trial', h.blockhash, 'd=0'] }]);
    // The same bank, enabled, drops.
    f.banks.updateBank('trial', { mode: 'enabled' });
    expect(((await new Pipeline([f.filter], { budgetMs: budget }).run(msg(img))) as PipelineResult).action).toBe('drop');
  });

  it('when enabled and shadow banks both match, drops on the enabled one and reports both', async () => {
    const { f, banned, h } = await setup();
    f.banks.addBank({ id: 'new-list', name: 'New', category: 'violence', severity: 'medium', algorithm: 'pdq', mode: 'shadow' });
    f.banks.addHashes('new-list', [h.pdq]);
    const v = (await f.filter.check(msg(banned), ctx())) as Verdict;
    expect(v.error).toMatchObject({ policy: 'hash-bank:abuse' });
    expect(v.findings!.map((x) => x.evidence![0]).sort()).toEqual(['abuse', 'new-list']);
  });

  it('a whole-filter shadow run records findings and never refuses', async () => {
    const { f, banned } = await setup({ shadow: true });
    const r = (await new Pipeline([f.filter], { budgetMs: budget }).run(msg(banned))) as PipelineResult;
    expect(r.action).toBe('pass');
    expect(r.findings).toHaveLength(1);
  });

  it('an undecodable or oversize image is dropped with invalid / too_large, never delivered', async () => {
    const { f } = await setup();
    const p = new Pipeline([f.filter], { budgetMs: budget });
    const garbage = (await p.run(msg(new Uint8Array([1, 2, 3, 4, 5])))) as PipelineResult;
    expect(garbage).toMatchObject({ action: 'drop', error: { code: 'invalid', reason: 'corrupt' } });
    const big = (await p.run(msg(new Uint8Array(2 * 1024 * 1024)))) as PipelineResult;
    expect(big).toMatchObject({ action: 'drop', error: { code: 'too_large' } });
  });

  it('with every bank empty, images are still decoded (and refused when undecodable) but not hashed', async () => {
    const f = createImageFilter({ timeoutMs: 1000 });
    expect(await f.filter.check(msg(await sceneJpeg(8)), ctx())).toEqual({ action: 'pass' });
    expect(await f.filter.check(msg(new Uint8Array([0xff, 0xd8, 0xff, 0x00])), ctx())).toMatchObject({ action: 'drop', error: { code: 'invalid' } });
  });

  it('a flat image is not matched even against its own hash (PDQ quality discard, blockhash low quality)', async () => {
    const f = createImageFilter({ timeoutMs: 1000 });
    const flat = await flatJpeg();
    const h = await f.hashImage(flat);
    expect(h.pdqQuality).toBe(0);
    f.banks.addBank({ id: 'p', name: 'p', category: 'spam', severity: 'low', algorithm: 'pdq' });
    f.banks.addBank({ id: 'b', name: 'b', category: 'spam', severity: 'low', algorithm: 'blockhash' });
    f.banks.addHashes('p', [h.pdq]);
    f.banks.addHashes('b', [h.blockhash]);
    expect(await f.filter.check(msg(flat), ctx())).toEqual({ action: 'pass' });
  });

  it('an aborted check rejects (the pipeline then applies onFailure) instead of answering', async () => {
    const { f } = await setup();
    const big = await scene(9, 1000, 750).resize(4000, 3000).jpeg({ quality: 80 }).toBuffer();
    const f2 = createImageFilter({ limits: { maxBytes: 8 * 1024 * 1024 }, banks: f.banks });
    const ac = new AbortController();
    const pending = f2.filter.check(msg(big), ctx(1000, ac.signal));
    ac.abort(new Error('deadline passed'));
    await expect(pending).rejects.toThrow('deadline passed');
  });

  it('through the pipeline, a check over its time is held (fail closed) and counted', async () => {
    const f = createImageFilter({ timeoutMs: 1, limits: { maxBytes: 8 * 1024 * 1024 } });
    const big = await scene(9, 1000, 750).resize(4000, 3000).jpeg({ quality: 80 }).toBuffer();
    const outcomes: string[] = [];
    const r = (await new Pipeline([f.filter], { budgetMs: budget, observe: (_f, o) => outcomes.push(o) }).run(msg(big))) as PipelineResult;
    expect(r).toMatchObject({ action: 'hold', failures: [{ filter: 'image', outcome: 'timeout', applied: 'hold' }] });
    expect(outcomes).toEqual(['timeout']);
  });

  it('refuses work beyond maxInFlight (held), and after close()', async () => {
    const f = createImageFilter({ timeoutMs: 1000, maxInFlight: 1 });
    const img = await sceneJpeg(5);
    await f.hashPool!.ready(); // so the first image is not held waiting for the worker to load
    const p = new Pipeline([f.filter], { budgetMs: budget });
    const [a, b] = (await Promise.all([p.run(msg(img)), p.run(msg(img))])) as PipelineResult[];
    expect([a!.action, b!.action].sort()).toEqual(['hold', 'pass']);
    await f.close();
    expect(((await p.run(msg(img))) as PipelineResult).action).toBe('hold');
    await expect(f.hashImage(img)).rejects.toThrow(/closed/);
  });

  it('passes a message without image bytes', async () => {
    const { f } = await setup();
    expect(await f.filter.check(msg(), ctx())).toEqual({ action: 'pass' });
  });

  it('hashImage gives hex hashes, qualities and the size as sent', async () => {
    const f = createImageFilter();
    const h = await f.hashImage(await sceneJpeg(7, 800, 600));
    expect(h).toMatchObject({ width: 800, height: 600, pdqQuality: 100 });
    expect(h.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(h.blockhash).toMatch(/^[0-9a-f]{64}$/);
    expect(h.blockhashQuality).toBeGreaterThanOrEqual(80);
  });

  it('matchFrame gives the same verdict from hashes computed elsewhere (livestream frames)', async () => {
    const { f, banned } = await setup();
    const d = await decodeForHashing(banned);
    const dih = pdqDihedralFromPixels(d.rgba, d.width, d.height, 4);
    const v = matchFrame(f.banks, { pdq: dih.hashes, pdqQuality: dih.quality });
    expect(v).toEqual(await f.filter.check(msg(banned), ctx()));
    expect(matchFrame(f.banks, { pdq: dih.hashes, pdqQuality: 10 })).toEqual({ action: 'pass' });
  });
});

describe('matching re-uploaded copies (generated scenes)', () => {
  const f = newImageFilter({ timeoutMs: 5000 });
  afterAll(() => f.close());
  const seeds = [1, 2, 3];

  it.each(seeds)('scene %i: re-encoded, resized, brightened, 1%-cropped and re-formatted copies stay within both thresholds', async (seed) => {
    const original = await sceneJpeg(seed);
    const h0 = await f.hashImage(original);
    const rows: string[] = [];
    for (const [name, make] of Object.entries(variants)) {
      const h = await f.hashImage(await make(original));
      const pdq = hammingHex(h.pdq, h0.pdq);
      const bh = hammingHex(h.blockhash, h0.blockhash);
      rows.push(`${name}: pdq ${pdq}, blockhash ${bh}`);
      expect({ name, pdq, bh }).toEqual({ name, pdq: expect.toSatisfy((d: number) => d <= PDQ_MATCH_THRESHOLD), bh: expect.toSatisfy((d: number) => d <= BLOCKHASH_MATCH_THRESHOLD) });
    }
    console.info(`scene ${seed} — distance to the original:\n  ${rows.join('\n  ')}`);
  });

  it.each(seeds)('scene %i: rotated and flipped copies match one of the dihedral PDQ hashes (blockhash does not try)', async (seed) => {
    const original = await sceneJpeg(seed);
    const d = await decodeForHashing(original);
    const dih = pdqDihedralFromPixels(d.rgba, d.width, d.height, 4).hashes;
    for (const [name, make] of Object.entries(dihedralVariants)) {
      const h = hexToHash256((await f.hashImage(await make(original))).pdq);
      const best = Math.min(...dih.map((x) => hamming256(x, h)));
      expect({ name, best }).toEqual({ name, best: expect.toSatisfy((x: number) => x <= PDQ_MATCH_THRESHOLD) });
    }
  });

  it('different scenes are far apart on both hashes', async () => {
    const hs = await Promise.all([11, 12, 13, 14, 15, 16].map(async (s) => f.hashImage(await sceneJpeg(s))));
    for (let i = 0; i < hs.length; i++) {
      for (let j = i + 1; j < hs.length; j++) {
        expect(hammingHex(hs[i]!.pdq, hs[j]!.pdq)).toBeGreaterThan(2 * PDQ_MATCH_THRESHOLD);
        expect(hammingHex(hs[i]!.blockhash, hs[j]!.blockhash)).toBeGreaterThan(2 * BLOCKHASH_MATCH_THRESHOLD);
      }
    }
  });
});
