/**
 * One image's work — decode (sharp) and both hashes (PDQ with its eight dihedral variants, and
 * blockhash) — and the messages that carry it between the event loop and a hash worker
 * (hash-worker.ts, started by hash-pool.ts).
 *
 * The worker gets a copy of the image's compressed bytes and answers with the hashes only: the
 * decoded pixels never leave the worker, so nothing pixel-sized is allocated, copied or hashed on
 * the event loop. The eight PDQ hashes and the blockhash travel as one Uint32Array (288 bytes).
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { MessagePort } from 'node:worker_threads';
import type { BlockhashResult } from './blockhash.ts';
import { DecodeQueue, decodeForHashing, type DecodeLimits, type ImageHeader } from './decode.ts';
import { HASH256_WORDS } from './hash256.ts';
import { hashRgba, type PixelHashes } from './hash-pixels.ts';
import { ImageError, isImageError, type ImageErrorReason } from './image-error.ts';
import { abortError } from './slices.ts';

/** What one image gives: its header, its decoded (≤ 512 px) size and, when asked, its hashes. */
export interface HashJobResult {
  source: ImageHeader;
  width: number;
  height: number;
  hashes?: PixelHashes | undefined;
}

/** What a worker is started with (`workerData`). */
export interface HashWorkerData {
  limits: Readonly<DecodeLimits>;
  /** Decodes this worker runs at once (the next image decodes in the threadpool while this one hashes). */
  decodeConcurrency: number;
  /** Added to this thread's nice value (Linux), so the event loop wins the CPU over hashing. */
  niceness: number;
}

export interface HashJobRequest {
  type: 'job';
  id: number;
  /** The compressed image (a copy: see HashPool's send). */
  bytes: Uint8Array;
  /** false: decode only (every bank empty: undecodable images are still refused). */
  hash: boolean;
}
export type HashWorkerRequest = HashJobRequest | { type: 'cancel'; id: number };

/** Failures as data: an ImageError keeps its reason (→ `invalid` / `too_large`), the rest is an error. */
export type WireError = { kind: 'image'; reason: ImageErrorReason; message: string } | { kind: 'aborted'; message: string } | { kind: 'error'; message: string };

export type HashWorkerReply =
  | { type: 'ready' }
  | {
      type: 'done';
      id: number;
      source: ImageHeader;
      width: number;
      height: number;
      /** 8 PDQ hashes then the blockhash, HASH256_WORDS words each; absent when not hashed. */
      words?: Uint32Array;
      pdqQuality?: number;
      blockhash?: Omit<BlockhashResult, 'hash'>;
    }
  | { type: 'failed'; id: number; error: WireError };

export interface HashJobContext {
  limits: Readonly<DecodeLimits>;
  queue: DecodeQueue;
  signal: AbortSignal;
}

/** The work itself: the same decode and single-pass hashing as the in-thread path, run to the end. */
export async function runHashJob(req: HashJobRequest, ctx: HashJobContext): Promise<HashJobResult> {
  const decoded = await decodeForHashing(req.bytes, { limits: ctx.limits, queue: ctx.queue, signal: ctx.signal });
  const { width, height, source } = decoded;
  if (!req.hash) return { source, width, height };
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  return { source, width, height, hashes: hashRgba(decoded.rgba, width, height) };
}

export type HashJobHandler = (req: HashJobRequest, ctx: HashJobContext) => Promise<HashJobResult>;

/** The reply for a finished job. */
export function encodeResult(id: number, r: HashJobResult): HashWorkerReply {
  if (!r.hashes) return { type: 'done', id, source: r.source, width: r.width, height: r.height };
  const { pdq, blockhash } = r.hashes;
  const words = new Uint32Array((pdq.hashes.length + 1) * HASH256_WORDS);
  pdq.hashes.forEach((h, i) => words.set(h, i * HASH256_WORDS));
  words.set(blockhash.hash, pdq.hashes.length * HASH256_WORDS);
  const { hex, quality, lowQuality } = blockhash;
  return { type: 'done', id, source: r.source, width: r.width, height: r.height, words, pdqQuality: pdq.quality, blockhash: { hex, quality, lowQuality } };
}

/** The result a `done` reply carries (views into its one buffer). */
export function decodeResult(reply: Extract<HashWorkerReply, { type: 'done' }>): HashJobResult {
  const { source, width, height, words, pdqQuality, blockhash } = reply;
  if (!words || pdqQuality === undefined || !blockhash) return { source, width, height };
  const n = words.length / HASH256_WORDS - 1;
  const hashes = Array.from({ length: n }, (_, i) => words.subarray(i * HASH256_WORDS, (i + 1) * HASH256_WORDS));
  return { source, width, height, hashes: { pdq: { quality: pdqQuality, hashes }, blockhash: { ...blockhash, hash: words.subarray(n * HASH256_WORDS) } } };
}

export function toWireError(err: unknown, signal: AbortSignal): WireError {
  if (isImageError(err)) return { kind: 'image', reason: err.reason, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return signal.aborted ? { kind: 'aborted', message } : { kind: 'error', message: err instanceof Error ? (err.stack ?? message) : message };
}

/** The error the caller sees: an ImageError for a refused image, an Error for anything else. */
export function fromWireError(e: WireError): Error {
  if (e.kind === 'image') return new ImageError(e.reason, e.message);
  return new Error(e.kind === 'aborted' ? `image hashing cancelled: ${e.message}` : `image hash worker failed: ${e.message}`);
}

/**
 * The worker's side: answers jobs on `port` (several at once — decodes wait in this worker's own
 * DecodeQueue), cancels a job when asked, says `ready` once loaded. `handle` is replaceable so
 * tests can start a worker that misbehaves on purpose.
 */
export function serveHashJobs(port: MessagePort, data: HashWorkerData, handle: HashJobHandler = runHashJob): void {
  lowerThreadPriority(data.niceness);
  const queue = new DecodeQueue(data.decodeConcurrency);
  const running = new Map<number, AbortController>();
  port.on('message', (req: HashWorkerRequest) => {
    if (req.type === 'cancel') {
      running.get(req.id)?.abort(new Error('cancelled by the pool'));
      return;
    }
    const ac = new AbortController();
    running.set(req.id, ac);
    handle(req, { limits: data.limits, queue, signal: ac.signal }).then(
      (r) => {
        running.delete(req.id);
        port.postMessage(encodeResult(req.id, r));
      },
      (err: unknown) => {
        running.delete(req.id);
        port.postMessage({ type: 'failed', id: req.id, error: toWireError(err, ac.signal) } satisfies HashWorkerReply);
      },
    );
  });
  port.postMessage({ type: 'ready' } satisfies HashWorkerReply);
}

/**
 * Lowers the calling thread's scheduling priority by `niceness`. On Linux a nice value belongs to
 * a thread, and /proc/thread-self names it; elsewhere, or if not permitted, the thread keeps its
 * priority (best effort: the pool works either way, the event loop just competes harder for CPU).
 */
export function lowerThreadPriority(niceness: number): void {
  if (!(niceness > 0) || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    setPriority(tid, Math.min(19, getPriority(tid) + niceness));
  } catch {
    // no procfs, or not permitted: normal priority
  }
}
