import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  BOMB_MIN_PIXELS,
  DecodeQueue,
  DEFAULT_DECODE_LIMITS,
  MAX_INPUT_PIXELS,
  MAX_INPUT_PIXELS_FULL_DECODE,
  decodeForHashing,
  probeImage,
  resolveDecodeLimits,
} from '../../../filters/image/decode.ts';
import { ImageError } from '../../../filters/image/image-error.ts';
import { PDQ_INPUT_MAX_SIDE } from '../../../filters/image/pdq.ts';
import { scene, sceneJpeg } from './fixtures.ts';

/** A PNG whose header claims `width × height` but whose body is a few bytes (a lying header). */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))]);
}

/** A real small JPEG with its frame header (SOF) rewritten to claim `width × height`. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const jpg = Buffer.from(await sceneJpeg(5, 64, 64));
  for (let i = 2; i < jpg.length - 9; i++) {
    if (jpg[i] === 0xff && (jpg[i + 1] === 0xc0 || jpg[i + 1] === 0xc2)) {
      jpg.writeUInt16BE(height, i + 5);
      jpg.writeUInt16BE(width, i + 7);
      return jpg;
    }
  }
  throw new Error('no SOF marker');
}

async function refusal(p: Promise<unknown>): Promise<ImageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  return err as ImageError;
}

describe('decodeForHashing', () => {
  it('decodes a 12 MP JPEG straight to ≤ 512 px RGBA (shrink-on-load), keeping the source size', async () => {
    const jpg = await scene(3, 1000, 750).resize(4000, 3000).jpeg({ quality: 80 }).toBuffer();
    const d = await decodeForHashing(jpg, { limits: { maxBytes: 8 * 1024 * 1024 } });
    expect(d.source).toMatchObject({ format: 'jpeg', width: 4000, height: 3000 });
    expect(Math.max(d.width, d.height)).toBe(PDQ_INPUT_MAX_SIDE);
    expect(d.width / d.height).toBeCloseTo(4 / 3, 1);
    expect(d.rgba.length).toBe(d.width * d.height * 4);
  });

  it('never enlarges a small image', async () => {
    const d = await decodeForHashing(await sceneJpeg(1, 120, 90));
    expect([d.width, d.height]).toEqual([120, 90]);
  });

  it.each([
    ['PNG with alpha', () => scene(1, 200, 100).ensureAlpha(0.5).png().toBuffer()],
    ['WebP', () => scene(1, 200, 100).webp().toBuffer()],
    ['GIF', () => scene(1, 200, 100).gif().toBuffer()],
    ['greyscale JPEG', () => scene(1, 200, 100).greyscale().jpeg().toBuffer()],
    ['CMYK JPEG', () => scene(1, 200, 100).toColourspace('cmyk').jpeg().toBuffer()],
    ['16-bit PNG', () => scene(1, 200, 100).toColourspace('rgb16').png().toBuffer()],
  ])('accepts %s and returns 8-bit RGBA', async (_name, make) => {
    const d = await decodeForHashing(await make());
    expect([d.width, d.height]).toEqual([200, 100]);
    expect(d.rgba.length).toBe(200 * 100 * 4);
  });

  it('refuses empty input and bytes over the cap before reading them', async () => {
    expect(await refusal(decodeForHashing(new Uint8Array(0)))).toMatchObject({ reason: 'empty', code: 'invalid' });
    const big = new Uint8Array(DEFAULT_DECODE_LIMITS.maxBytes + 1);
    expect(await refusal(decodeForHashing(big))).toMatchObject({ reason: 'too_many_bytes', code: 'too_large' });
  });

  it.each([
    ['random bytes', () => Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256))],
    ['text', () => Buffer.from('definitely not an image')],
    ['a PNG signature and nothing else', () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ])('garbage (%s) is an ImageError: invalid', async (_name, make) => {
    expect(await refusal(decodeForHashing(make()))).toMatchObject({ reason: 'corrupt', code: 'invalid' });
  });

  it('a truncated JPEG fails to decode: invalid (images fail closed)', async () => {
    const jpg = await sceneJpeg(2, 640, 480);
    const err = await refusal(decodeForHashing(jpg.subarray(0, Math.floor(jpg.length / 2))));
    expect(err).toMatchObject({ reason: 'corrupt', code: 'invalid' });
  });

  it('a header that passes the caps but has no pixels behind it fails at decode: invalid', async () => {
    expect(await refusal(decodeForHashing(pngClaiming(300, 200)))).toMatchObject({ reason: 'corrupt', code: 'invalid' });
  });

  it('refuses SVG and TIFF (not chat formats: a renderer, and no shrink-on-load)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>');
    expect(await refusal(decodeForHashing(svg))).toMatchObject({ reason: 'unsupported_format', code: 'invalid' });
    const tiff = await scene(1, 50, 50).tiff().toBuffer();
    expect(await refusal(decodeForHashing(tiff))).toMatchObject({ reason: 'unsupported_format' });
  });

  describe('decompression bombs and oversize images, refused from the header alone', () => {
    it('a PNG claiming 20000×20000 in 70 bytes (over the longest side)', async () => {
      const bomb = pngClaiming(20000, 20000);
      expect(bomb.length).toBeLessThan(100);
      expect(await refusal(probeImage(bomb))).toMatchObject({ reason: 'too_many_pixels', code: 'too_large' });
    });

    it('a JPEG claiming more pixels than the cap', async () => {
      const err = await refusal(decodeForHashing(await jpegClaiming(9000, 9000)));
      expect(err).toMatchObject({ reason: 'too_many_pixels', code: 'too_large' });
      expect(9000 * 9000).toBeGreaterThan(MAX_INPUT_PIXELS);
    });

    it('a JPEG claiming 16 MP in a kilobyte (pixels per byte)', async () => {
      const bomb = await jpegClaiming(4000, 4000);
      expect(4000 * 4000).toBeGreaterThan(BOMB_MIN_PIXELS);
      expect(await refusal(decodeForHashing(bomb))).toMatchObject({ reason: 'bomb', code: 'invalid' });
    });

    it('a real, honest 36 MP palette PNG of 35 KB (no shrink-on-load: over the full-decode cap)', async () => {
      const png = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: '#fff' } }).png({ palette: true, compressionLevel: 9 }).toBuffer();
      expect(6000 * 6000).toBeGreaterThan(MAX_INPUT_PIXELS_FULL_DECODE);
      expect(await refusal(decodeForHashing(png))).toMatchObject({ reason: 'too_many_pixels', code: 'too_large' });
    }, 30_000);

    it('the same pixel count as a JPEG is fine (decoded at 1/8 scale)', async () => {
      const jpg = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: '#888' } }).jpeg().toBuffer();
      const d = await decodeForHashing(jpg);
      expect(Math.max(d.width, d.height)).toBe(PDQ_INPUT_MAX_SIDE);
    }, 30_000);
  });

  it('stops before decoding when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('deadline'));
    await expect(decodeForHashing(await sceneJpeg(1, 100, 100), { signal: ac.signal })).rejects.toThrow('deadline');
  });

  it('validates limits once, naming the bad one', () => {
    expect(() => resolveDecodeLimits({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => resolveDecodeLimits({ formats: [] })).toThrow(/formats/);
    expect(Object.isFrozen(resolveDecodeLimits({}))).toBe(true);
  });
});

describe('DecodeQueue', () => {
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };

  it('runs at most `concurrency` tasks at once, in arrival order', async () => {
    const q = new DecodeQueue(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) => q.run(async () => (started.push(i), await g.promise, i)));
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(q.load).toEqual({ running: 2, waiting: 2 });
    gates[1]!.resolve();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(q.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a waiter whose signal aborts leaves the queue without running', async () => {
    const q = new DecodeQueue(1);
    const gate = deferred();
    const first = q.run(() => gate.promise);
    const ac = new AbortController();
    let ran = false;
    const second = q.run(async () => {
      ran = true;
    }, ac.signal);
    ac.abort(new Error('too late'));
    await expect(second).rejects.toThrow('too late');
    expect(q.load.waiting).toBe(0);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(q.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a failing task frees its slot', async () => {
    const q = new DecodeQueue(1);
    await expect(q.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run(async () => 'next')).toBe('next');
  });
});
