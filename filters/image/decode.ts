/**
 * Untrusted image bytes → a small RGBA buffer to hash, safely and cheaply.
 *
 * 1. Caps before any pixel is decoded: byte size, then the header (`metadata()`: format, width,
 *    height, read without decoding pixels) against format, side, pixel-count (lower for formats
 *    without shrink-on-load) and pixels-per-byte limits — a 40-byte PNG claiming 20000×20000 is
 *    refused here, not discovered at decode time.
 * 2. One decode straight to ≤ 512×512 (PDQ_INPUT_MAX_SIDE): sharp resizes with shrink-on-load, so
 *    a JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 scale (a 12 MP photo never exists in memory
 *    at full size); `limitInputPixels` repeats the pixel cap inside libvips in case a header lies.
 * 3. Every failure is an ImageError with a reason and a PROTOCOL.md code (`invalid` or
 *    `too_large`): images fail closed.
 *
 * All pixel work runs in libuv's threadpool (sharp is asynchronous); the event loop only awaits.
 * EXIF orientation is deliberately not applied: the PDQ reference hashes the stored pixels, and
 * the filter matches all eight dihedral PDQ hashes anyway.
 */
import { availableParallelism } from 'node:os';
import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { ImageError } from './image-error.ts';
import { PDQ_INPUT_MAX_SIDE } from './pdq.ts';
import { abortError } from './slices.ts';

export interface DecodeLimits {
  /** Largest input in bytes. */
  maxBytes: number;
  /** Largest width × height (of one frame) according to the header, for JPEG. */
  maxPixels: number;
  /** The same for formats decoded at full size whatever the output size (PNG, GIF, WebP). */
  maxPixelsFullDecode: number;
  /** Largest width or height. */
  maxSide: number;
  /** Above `bombMinPixels`, the most pixels per byte of input (see MAX_PIXELS_PER_BYTE). */
  maxPixelsPerByte: number;
  bombMinPixels: number;
  /** Formats accepted (sharp's names). */
  formats: readonly string[];
}

/** PROTOCOL.md: `message:send` images are ≤ 1 MiB. */
export const MAX_IMAGE_BYTES = 1024 * 1024;
/**
 * 50 MP: above the 48 MP of today's largest phone sensors. sharp's own default (0x3FFF², 268 MP)
 * would let one message cost a gigabyte of pixels.
 */
export const MAX_INPUT_PIXELS = 50_000_000;
/**
 * PNG, GIF and WebP have no DCT-domain shrink-on-load: decoding costs every pixel even when we only
 * keep 512². 4096² (16.8 MP) covers 4K and 5K screenshots; past it, a small file can buy seconds
 * of threadpool time (a 6000² palette PNG is 35 KB).
 */
export const MAX_INPUT_PIXELS_FULL_DECODE = 4096 * 4096;
/** Formats that libjpeg decodes straight at 1/2, 1/4 or 1/8 scale. */
const SHRINK_ON_LOAD_FORMATS: ReadonlySet<string> = new Set(['jpeg']);
/** Longest side accepted: 16384 (libjpeg's limit is 65500; panoramas beyond this are not chat). */
export const MAX_INPUT_SIDE = 16_384;
/**
 * Decompression-bomb rule. Measured with sharp on flat white 12 MP images (the most compressible
 * real content): JPEG q80 170 px/byte, PNG 297, palette PNG 1018, GIF 1298; photos and screenshots
 * are far below. Lossless WebP reaches 22727 on a blank canvas — refused, and nothing is lost: a
 * blank image has no hash worth matching. Small images are exempt (they are cheap whatever their
 * ratio).
 */
export const MAX_PIXELS_PER_BYTE = 2000;
export const BOMB_MIN_PIXELS = 4_000_000;
/**
 * Chat image formats. SVG (a renderer, external references), PDF, TIFF, HEIF/AVIF (no
 * shrink-on-load, slow decoders) and raw formats are refused.
 */
export const ACCEPTED_FORMATS: readonly string[] = Object.freeze(['jpeg', 'png', 'webp', 'gif']);
/**
 * libvips gives up on one image after this long (sharp's `timeout`, whole seconds). The filter's
 * own deadline (100 ms) stops waiting much earlier; this bounds how long a hostile image can keep
 * a threadpool thread busy after the filter gave up on it.
 */
export const DECODE_TIMEOUT_SECONDS = 2;
/**
 * Bicubic: what the PDQ reference's Python hasher resizes with (PIL thumbnail); conformance is the
 * same as with sharp's default lanczos3 (max 10 bits on the vectors) and the reduce is cheaper.
 */
const RESIZE_KERNEL = 'cubic' as const;
/**
 * libvips aborts on warnings too (truncated data, bad markers): sharp's advice for untrusted input,
 * and images fail closed.
 */
const FAIL_ON = 'warning' as const;

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: MAX_IMAGE_BYTES,
  maxPixels: MAX_INPUT_PIXELS,
  maxPixelsFullDecode: MAX_INPUT_PIXELS_FULL_DECODE,
  maxSide: MAX_INPUT_SIDE,
  maxPixelsPerByte: MAX_PIXELS_PER_BYTE,
  bombMinPixels: BOMB_MIN_PIXELS,
  formats: ACCEPTED_FORMATS,
});

/** What the header says, once it passed the caps. */
export interface ImageHeader {
  format: string;
  width: number;
  height: number;
  /** Frames (animated GIF/WebP); only the first is hashed. */
  pages: number;
  bytes: number;
}

export interface DecodedImage {
  /** RGBA, row-major, `width × height × 4` bytes. */
  rgba: Uint8Array;
  /** Decoded (downscaled) size. */
  width: number;
  height: number;
  /** The image as sent. */
  source: ImageHeader;
}

/**
 * Decodes run in libuv's threadpool (4 threads), which shares the machine's cores with the event
 * loop. On 2 cores, 4 concurrent decodes took the event loop's core too: at 50 images/s its
 * utilisation went from ~0.3 to ~0.8 and images timed out. So decodes queue here, and at most
 * DECODE_CONCURRENCY run at once: all cores but one, the event loop's.
 */
export const DECODE_CONCURRENCY = Math.max(1, availableParallelism() - 1);

/** A FIFO of decode slots; a waiter whose signal aborts leaves the queue. */
export class DecodeQueue {
  private running = 0;
  private readonly waiting: { resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort: () => void }[] = [];

  constructor(readonly concurrency: number = DECODE_CONCURRENCY) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`decode concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Decodes running and waiting (for metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.concurrency) await this.wait(signal);
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(); // the slot passes on: `running` unchanged
      } else {
        this.running--;
      }
    }
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortError(signal!));
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}

const sharedQueue = new DecodeQueue();

export interface DecodeOptions {
  limits?: Partial<DecodeLimits> | undefined;
  /** Decode slots to take (default: one queue for the whole process). */
  queue?: DecodeQueue | undefined;
  /** Longest side of the decoded buffer (default PDQ_INPUT_MAX_SIDE). */
  maxDecodedSide?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Merges and checks limits once (e.g. when the filter is created). */
export function resolveDecodeLimits(partial: Partial<DecodeLimits> = {}): Readonly<DecodeLimits> {
  const l = { ...DEFAULT_DECODE_LIMITS, ...partial };
  for (const k of ['maxBytes', 'maxPixels', 'maxPixelsFullDecode', 'maxSide', 'maxPixelsPerByte', 'bombMinPixels'] as const) {
    if (!Number.isFinite(l[k]) || l[k] <= 0) throw new RangeError(`decode limits: ${k} must be a positive number, got ${l[k]}`);
  }
  if (!Array.isArray(l.formats) || l.formats.length === 0) throw new RangeError('decode limits: formats must list at least one format');
  return Object.freeze({ ...l, formats: Object.freeze([...l.formats]) });
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

function sharpOptions(limits: Readonly<DecodeLimits>): SharpOptions {
  return { limitInputPixels: limits.maxPixels, failOn: FAIL_ON, sequentialRead: true, pages: 1 };
}

/**
 * The checks that need no decoder: bytes at all, not empty, not over `maxBytes`. Throws
 * ImageError. (The hash pool runs them before copying bytes to a worker.)
 */
export function checkImageBytes(bytes: Uint8Array, limits: Readonly<DecodeLimits> = DEFAULT_DECODE_LIMITS): void {
  if (!(bytes instanceof Uint8Array)) throw new ImageError('corrupt', 'image must be bytes');
  if (bytes.length === 0) throw new ImageError('empty', 'image is empty');
  if (bytes.length > limits.maxBytes) throw new ImageError('too_many_bytes', `image is ${bytes.length} bytes, the limit is ${limits.maxBytes}`);
}

/** Reads and checks the header (no pixel decoded). Throws ImageError. */
export async function probeImage(bytes: Uint8Array, limits: Readonly<DecodeLimits> = DEFAULT_DECODE_LIMITS): Promise<ImageHeader> {
  checkImageBytes(bytes, limits);
  let meta: Metadata;
  try {
    // Header only (no pixel decoded), without libvips' pixel limit so that an oversize image is
    // refused below with its own reason rather than as unreadable.
    meta = await sharp(bytes, { ...sharpOptions(limits), limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new ImageError('corrupt', 'not a readable image', { cause });
  }
  const format = String(meta.format ?? 'unknown');
  if (!limits.formats.includes(format)) throw new ImageError('unsupported_format', `image format ${format} is not accepted (accepted: ${limits.formats.join(', ')})`);
  // For animated images `height` may be the whole strip; `pageHeight` is one frame.
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new ImageError('corrupt', 'image header has no size');
  if (width > limits.maxSide || height > limits.maxSide) throw new ImageError('too_many_pixels', `image is ${width}×${height}, the longest side allowed is ${limits.maxSide}`);
  const pixels = width * height;
  const maxPixels = SHRINK_ON_LOAD_FORMATS.has(format) ? limits.maxPixels : Math.min(limits.maxPixels, limits.maxPixelsFullDecode);
  if (pixels > maxPixels) throw new ImageError('too_many_pixels', `${format} image is ${width}×${height} (${pixels} pixels), the limit is ${maxPixels}`);
  if (pixels > limits.bombMinPixels && pixels / bytes.length > limits.maxPixelsPerByte) {
    throw new ImageError('bomb', `image claims ${pixels} pixels in ${bytes.length} bytes (over ${limits.maxPixelsPerByte} pixels per byte)`);
  }
  return { format, width, height, pages: meta.pages ?? 1, bytes: bytes.length };
}

/**
 * Decodes `bytes` to RGBA no larger than `maxDecodedSide` (aspect kept, never enlarged), with
 * shrink-on-load. Throws ImageError on any refusal or decode failure, or the abort reason.
 */
export async function decodeForHashing(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const limits = options.limits ? resolveDecodeLimits(options.limits) : DEFAULT_DECODE_LIMITS;
  const side = options.maxDecodedSide ?? PDQ_INPUT_MAX_SIDE;
  checkAborted(options.signal);
  const source = await probeImage(bytes, limits);
  checkAborted(options.signal);
  const decode = () =>
    sharp(bytes, sharpOptions(limits))
      .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
      // fit inside + shrink-on-load: JPEG and WebP decode directly at a reduced scale. Bicubic, as
      // the PDQ reference's thumbnail (PIL `thumbnail`, itself a JPEG draft-mode decode + bicubic).
      .resize(side, side, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true, kernel: RESIZE_KERNEL })
      // CMYK, 16-bit, grey and palette images all become 8-bit sRGB + alpha (blockhash wants RGBA).
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await (options.queue ?? sharedQueue).run(decode, options.signal);
  } catch (cause) {
    // Aborted while waiting for a slot: the caller's deadline, not the image's fault.
    if (options.signal?.aborted) throw abortError(options.signal);
    throw new ImageError('corrupt', `image could not be decoded: ${(cause as Error)?.message ?? cause}`, { cause });
  }
  checkAborted(options.signal);
  const { data, info } = out;
  if (info.channels !== 4 || data.length !== info.width * info.height * 4) {
    throw new ImageError('corrupt', `decoder returned ${info.width}×${info.height}×${info.channels} in ${data.length} bytes`);
  }
  return { rgba: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, source };
}
