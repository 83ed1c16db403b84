import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { Pipeline, type PipelineMessage, type PipelineResult } from '../../../filters/pipeline.ts';
import { decodeForHashing } from '../../../filters/image/decode.ts';
import { hash256ToHex } from '../../../filters/image/hash256.ts';
import type { HashJobResult } from '../../../filters/image/hash-job.ts';
import { hashRgba } from '../../../filters/image/hash-pixels.ts';
import { HashPool, type HashPoolOptions } from '../../../filters/image/hash-pool.ts';
import { createImageFilter, type ImageFilter } from '../../../filters/image/image-filter.ts';
import { isImageError } from '../../../filters/image/image-error.ts';
import { flatJpeg, pdqVectorsDir, scene, sceneJpeg } from './fixtures.ts';

const MISBEHAVING = new URL('./misbehaving-hash-worker.ts', import.meta.url);
const marker = (m: string) => Buffer.from(`${m} — not an image`, 'latin1');

const pools: HashPool[] = [];
const filters: ImageFilter[] = [];
const pool = (opts: HashPoolOptions = {}) => {
  const p = new HashPool(opts);
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all([...pools.splice(0).map((p) => p.close()), ...filters.splice(0).map((f) => f.close())]);
});

/** Everything a job gives, in comparable form. */
function summary(r: HashJobResult) {
  return {
    source: r.source,
    width: r.width,
    height: r.height,
    pdq: r.hashes?.pdq.hashes.map((h) => hash256ToHex(h)),
    pdqQuality: r.hashes?.pdq.quality,
    blockhash: r.hashes && { ...r.hashes.blockhash, hash: hash256ToHex(r.hashes.blockhash.hash) },
  };
}

/** The same image through the in-thread code: decode on this thread's side, hash here. */
async function inThread(bytes: Uint8Array, limits = {}) {
  const d = await decodeForHashing(bytes, { limits });
  return summary({ source: d.source, width: d.width, height: d.height, hashes: hashRgba(d.rgba, d.width, d.height) });
}

/** Images of every accepted format and shape the decoder normalises (grey, alpha, palette, odd sizes). */
async function assortedImages(): Promise<[string, Buffer][]> {
  const withAlpha = await scene(4, 300, 200)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then(({ data, info }) => {
      for (let i = 3; i < data.length; i += 4 * 7) data[i] = 0; // some fully transparent pixels
      return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
    });
  return [
    ['jpeg 640×480', await sceneJpeg(1)],
    ['jpeg 1280×720 (shrunk on load)', await sceneJpeg(2, 1280, 720)],
    ['jpeg 3 px wide (below PDQ minimum)', await sceneJpeg(3, 3, 40)],
    ['png with transparent pixels', withAlpha],
    ['webp', await scene(5, 513, 257).webp({ quality: 70 }).toBuffer()],
    ['gif (palette)', await scene(6, 200, 150).gif().toBuffer()],
    ['grey jpeg', await scene(7, 400, 300).greyscale().jpeg().toBuffer()],
    ['flat jpeg (quality 0)', await flatJpeg()],
  ];
}

describe('image hash pool', () => {
  it('gives exactly the hashes of the in-thread code: all eight PDQ, quality, blockhash, sizes', async () => {
    const p = pool({ size: 2 });
    const images = await assortedImages();
    // All at once: jobs spread over both workers and overlap inside each.
    const results = await Promise.all(images.map(([, bytes]) => p.run(bytes, { hash: true })));
    for (const [i, [name, bytes]] of images.entries()) {
      expect({ name, ...summary(results[i]!) }).toEqual({ name, ...(await inThread(bytes)) });
    }
  });

  it.skipIf(!pdqVectorsDir())('gives exactly the in-thread hashes of every PDQ reference vector', async () => {
    const dir = pdqVectorsDir()!;
    const { vectors } = JSON.parse(readFileSync(`${dir}vectors.json`, 'utf8')) as { vectors: { file: string }[] };
    const limits = { maxBytes: 16 * 1024 * 1024 };
    const p = pool({ size: 1, limits });
    for (const { file } of vectors) {
      const bytes = readFileSync(`${dir}${file}`);
      expect({ file, ...summary(await p.run(bytes, { hash: true })) }).toEqual({ file, ...(await inThread(bytes, limits)) });
    }
  });

  it('decodes without hashing when asked (empty banks)', async () => {
    const r = await pool({ size: 1 }).run(await sceneJpeg(8, 800, 600), { hash: false });
    expect(r).toEqual({ source: { format: 'jpeg', width: 800, height: 600, pages: 1, bytes: expect.any(Number) }, width: 512, height: 384 });
  });

  it('refuses images with the same ImageError reasons and codes as the in-thread decoder', async () => {
    const p = pool({ size: 1, limits: { maxBytes: 256 * 1024, maxPixels: 200_000 } });
    const cases: [string, Uint8Array, string, string][] = [
      ['garbage', new Uint8Array([1, 2, 3, 4, 5]), 'corrupt', 'invalid'],
      ['empty', new Uint8Array(0), 'empty', 'invalid'],
      ['over maxBytes (refused before any copy)', new Uint8Array(257 * 1024), 'too_many_bytes', 'too_large'],
      ['truncated jpeg', (await sceneJpeg(9, 400, 300)).subarray(0, 2000), 'corrupt', 'invalid'],
      ['svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'unsupported_format', 'invalid'],
      ['jpeg over maxPixels', await sceneJpeg(10, 640, 480), 'too_many_pixels', 'too_large'],
    ];
    for (const [name, bytes, reason, code] of cases) {
      const err = await p.run(bytes, { hash: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ name, imageError: isImageError(err), reason: (err as { reason?: string }).reason, code: (err as { code?: string }).code }).toEqual({ name, imageError: true, reason, code });
    }
    expect(p.stats()).toMatchObject({ crashed: 0, stuck: 0 });
  });

  it('a crashed worker fails its job (not as an image error), does not take the process down, and is replaced', async () => {
    const p = pool({ size: 1, entry: MISBEHAVING });
    const good = await sceneJpeg(10);
    const expected = await inThread(good);
    const crashed = p.run(marker('CRASH'), { hash: true });
    await expect(crashed).rejects.toThrow(/exited.*crashed on purpose/);
    await expect(crashed).rejects.not.toSatisfy(isImageError);
    expect(p.stats()).toMatchObject({ crashed: 1 });
    // The replacement answers the next image, with the same hashes.
    expect(summary(await p.run(good, { hash: true }))).toEqual(expected);
    expect(p.stats()).toMatchObject({ workers: 1, restarts: 1, running: 0, queued: 0 });
  });

  it('a job that throws fails alone; the worker lives on', async () => {
    const p = pool({ size: 1, entry: MISBEHAVING });
    const [worker] = p.workers;
    await expect(p.run(marker('THROW'), { hash: true })).rejects.toThrow(/failed on purpose/);
    await p.run(await sceneJpeg(11), { hash: true });
    expect(p.workers).toHaveLength(1);
    expect(p.workers[0]).toBe(worker);
    expect(p.stats()).toMatchObject({ crashed: 0, stuck: 0, restarts: 0 });
  });

  it('a stuck worker is terminated after stuckMs (its jobs fail) and replaced', async () => {
    const p = pool({ size: 1, entry: MISBEHAVING, stuckMs: 2000 });
    const [stuckWorker] = p.workers;
    await expect(p.run(marker('HANG'), { hash: true })).rejects.toThrow(/stuck/);
    const good = await sceneJpeg(12);
    expect(summary(await p.run(good, { hash: true }))).toEqual(await inThread(good));
    expect(p.stats()).toMatchObject({ stuck: 1, crashed: 0, restarts: 1 });
    expect(stuckWorker!.threadId).toBe(-1); // gone
  });

  it('the caller’s deadline answers at once; an aborted queued job leaves the queue', async () => {
    const p = pool({ size: 1, jobsPerWorker: 1, entry: MISBEHAVING, stuckMs: 20000 });
    const [img1, img2] = await Promise.all([sceneJpeg(13), sceneJpeg(14)]);
    await p.ready();
    const deadline = new AbortController();
    const hung = p.run(marker('HANG'), { hash: true, signal: deadline.signal }).catch((e: Error) => e);
    const waiting = new AbortController();
    const queued = p.run(img1, { hash: true, signal: waiting.signal }).catch((e: Error) => e);
    await expect.poll(() => p.stats()).toMatchObject({ running: 1, queued: 1 });
    waiting.abort(new Error('queued image: deadline passed'));
    expect(await queued).toMatchObject({ message: 'queued image: deadline passed' });
    expect(p.stats().queued).toBe(0);
    deadline.abort(new Error('hung image: deadline passed'));
    expect(await hung).toMatchObject({ message: 'hung image: deadline passed' });
    // The worker is still stuck on it until the watchdog replaces it; then work flows again.
    await p.run(img2, { hash: true });
    expect(p.stats()).toMatchObject({ stuck: 1, running: 0, queued: 0 });
  });

  it('refuses jobs beyond its queue bound (busy) instead of queueing them', async () => {
    const p = pool({ size: 1, jobsPerWorker: 1, maxQueued: 1, entry: MISBEHAVING });
    await p.ready();
    const jobs = Promise.allSettled([p.run(marker('HANG'), { hash: true }), p.run(marker('THROW'), { hash: true })]);
    await expect.poll(() => p.stats()).toMatchObject({ running: 1, queued: 1 });
    await expect(p.run(marker('THROW'), { hash: true })).rejects.toThrow(/busy/);
    await p.close();
    expect((await jobs).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('close() fails pending jobs, leaves no worker running, and refuses later jobs', async () => {
    const p = new HashPool({ size: 2, jobsPerWorker: 1, entry: MISBEHAVING });
    const workers = [...p.workers];
    expect(workers).toHaveLength(2);
    const img = await sceneJpeg(15);
    await p.ready();
    const pending = Promise.allSettled([p.run(marker('HANG'), { hash: true }), p.run(marker('HANG'), { hash: true }), p.run(img, { hash: true })]);
    await expect.poll(() => p.stats()).toMatchObject({ running: 2, queued: 1 });
    await p.close();
    for (const r of await pending) expect(r).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/closed/) } });
    expect(workers.map((w) => w.threadId)).toEqual([-1, -1]);
    expect(p.stats()).toMatchObject({ workers: 0, running: 0, queued: 0 });
    await expect(p.run(await sceneJpeg(16), { hash: true })).rejects.toThrow(/closed/);
  });

  it('ready() waits for the workers to load; after close() it rejects', async () => {
    const p = new HashPool({ size: 2 });
    await p.ready();
    expect(p.stats()).toMatchObject({ workers: 2, running: 0, queued: 0 });
    await p.close();
    await expect(p.ready()).rejects.toThrow(/closed/);
  });

  it.runIf(process.platform === 'linux')('runs its workers at a lower priority than the event loop (Linux)', async () => {
    const niceOf = () => readdirSync('/proc/self/task').map((tid) => getPriority(Number(tid)));
    const before = niceOf().filter((n) => n === Math.min(19, getPriority() + 7)).length;
    const p = pool({ size: 2, niceness: 7 });
    await p.ready();
    expect(niceOf().filter((n) => n === Math.min(19, getPriority() + 7)).length - before).toBe(2);
    expect(getPriority()).toBe(getPriority(process.pid)); // this thread untouched
  });

  it('checks its options', () => {
    expect(() => new HashPool({ size: 0 })).toThrow(RangeError);
    expect(() => new HashPool({ niceness: -1 })).toThrow(RangeError);
    expect(() => new HashPool({ maxQueued: 1.5 })).toThrow(RangeError);
    expect(() => new HashPool({ stuckMs: 0 })).toThrow(RangeError);
  });
});

describe('image filter on the hash pool', () => {
  const msg = (image: Uint8Array): PipelineMessage => ({ kind: 'image', id: 'm', room: 'r', userId: 'u', image });
  const budget = { text: 10, image: 5000 };
  const track = (f: ImageFilter) => (filters.push(f), f);

  it('hashImage gives the same hashes with workers as in the thread', async () => {
    const pooled = track(createImageFilter({ hashWorkers: 2 }));
    const inline = track(createImageFilter({ hashWorkers: 0 }));
    expect(pooled.hashPool?.size).toBe(2);
    expect(inline.hashPool).toBeUndefined();
    for (const seed of [21, 22, 23]) {
      const img = await sceneJpeg(seed, 900, 700);
      expect(await pooled.hashImage(img)).toEqual(await inline.hashImage(img));
    }
  });

  it('a crash or a stuck worker holds the image (fail closed); the next image is checked normally', async () => {
    const f = track(createImageFilter({ timeoutMs: 10_000, hashWorkers: 1, hashPool: { entry: MISBEHAVING, stuckMs: 2000 } }));
    const banned = await sceneJpeg(24);
    f.banks.addBank({ id: 'b', name: 'b', category: 'csam', severity: 'critical', algorithm: 'pdq' });
    f.banks.addHashes('b', [(await f.hashImage(banned)).pdq]);
    const outcomes: string[] = [];
    const p = new Pipeline([f.filter], { budgetMs: budget, observe: (_f, o) => outcomes.push(o) });
    for (const m of ['CRASH', 'HANG']) {
      expect((await p.run(msg(marker(m)))) as PipelineResult).toMatchObject({ action: 'hold', failures: [{ filter: 'image', outcome: 'error', applied: 'hold' }] });
    }
    expect(outcomes).toEqual(['error', 'error']);
    expect((await p.run(msg(banned))) as PipelineResult).toMatchObject({ action: 'drop', error: { code: 'blocked' } });
    expect(f.hashPool!.stats()).toMatchObject({ crashed: 1, stuck: 1 });
  });

  it('an image over its deadline is held while its worker is stuck', async () => {
    const f = track(createImageFilter({ timeoutMs: 200, hashWorkers: 1, hashPool: { entry: MISBEHAVING } }));
    await f.hashPool!.ready();
    f.banks.addBank({ id: 'b', name: 'b', category: 'spam', severity: 'low', algorithm: 'pdq' });
    f.banks.addHashes('b', ['0'.repeat(64)]);
    const r = (await new Pipeline([f.filter], { budgetMs: budget }).run(msg(marker('HANG')))) as PipelineResult;
    expect(r).toMatchObject({ action: 'hold', failures: [{ outcome: 'timeout', applied: 'hold' }] });
  });

  it('an undecodable image is still dropped as invalid, not held', async () => {
    const f = track(createImageFilter({ timeoutMs: 5000, hashWorkers: 1 }));
    const r = (await new Pipeline([f.filter], { budgetMs: budget }).run(msg(new Uint8Array([0xff, 0xd8, 0xff, 0x00])))) as PipelineResult;
    expect(r).toMatchObject({ action: 'drop', error: { code: 'invalid', reason: 'corrupt' }, failures: [] });
  });

  it('close() terminates the workers; later images are held', async () => {
    const f = createImageFilter({ hashWorkers: 2 });
    const workers = [...f.hashPool!.workers];
    await f.close();
    expect(workers.map((w) => w.threadId)).toEqual([-1, -1]);
    expect(f.hashPool!.stats().workers).toBe(0);
    expect(((await new Pipeline([f.filter], { budgetMs: budget }).run(msg(await sceneJpeg(25)))) as PipelineResult).action).toBe('hold');
  });
});
