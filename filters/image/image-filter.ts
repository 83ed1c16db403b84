/**
 * The `image` filter: decode → hash (PDQ with its eight dihedral variants, and blockhash) → look
 * the hashes up in the hash banks → verdict.
 *
 *  - A match in an `enabled` bank: `drop`, error `blocked` with the bank's category and policy
 *    `hash-bank:<bank id>`; one finding per matched bank.
 *  - Matches only in `shadow` banks: `pass` with their findings (rules/ and the audit see them).
 *  - An image that cannot be decoded or breaks a cap: `drop` with `invalid` (or `too_large`).
 *  - Too slow (timeout, budget), busy or closed: the pipeline applies `onFailure` — `hold` by
 *    default, never `pass`: images fail closed (DESIGN.md), text is unaffected.
 *
 * Where the time goes (so the event loop stays free): decode and hashing in a pool of worker
 * threads (hash-pool.ts; a crashed or stuck worker fails its images closed and is replaced); only
 * the index queries run on the event loop, in slices of ≤ SLICE_MS that yield (slices.ts).
 * `ctx.signal` cancels the image in its worker and stops the matching at the next slice. With
 * `hashWorkers: 0` the decode runs from the event loop (threadpool) and the hashing on it, in slices:
 * the path before the pool, kept as the benchmark's baseline (BENCHMARKS.md #5).
 */
import type { FailureDirection, Filter, FilterContext, Finding, PipelineMessage, Verdict } from '../pipeline.ts';
import { Banks, matchScore, type BankMatch } from './banks.ts';
import { decodeForHashing, resolveDecodeLimits, type DecodeLimits } from './decode.ts';
import { hash256ToHex, type Hash256 } from './hash256.ts';
import { isImageError } from './image-error.ts';
import { HashPool, HASH_WORKERS, type HashPoolOptions } from './hash-pool.ts';
import type { HashJobResult } from './hash-job.ts';
import { hashRgbaSteps } from './hash-pixels.ts';
import { PDQ_QUALITY_DISCARD_AT_OR_BELOW } from './pdq.ts';
import { abortError, runSliced, runToEnd, SLICE_MS, type Steps } from './slices.ts';

/**
 * Per-image time limit. The image budget is 150 ms (README `pipeline.budgetMs.image`). Measured on
 * the 2-core VM (BENCHMARKS.md #5): a 720p JPEG takes ~17 ms, a 12 MP camera JPEG ~65 ms, most of
 * it decoding in the threadpool; 100 ms leaves room for a short queue before images are held.
 */
export const IMAGE_TIMEOUT_MS = 100;
/**
 * Images in flight per filter, including those waiting for a decode slot (decode.ts DecodeQueue).
 * At ~13 ms per 720p decode on one slot, the 8th in line would start near the 100 ms timeout: past
 * that, new images fail at once (→ onFailure: held) instead of queueing for nothing.
 */
export const IMAGE_MAX_IN_FLIGHT = 8;

export interface ImageFilterOptions {
  /** Filter name in findings and metrics (default `image`). */
  name?: string;
  timeoutMs?: number;
  /** Images fail closed: `hold` (default) or `drop`. */
  onFailure?: Extract<FailureDirection, 'hold' | 'drop'>;
  /** Run the whole filter in shadow mode (findings only). Banks have their own `shadow` mode. */
  shadow?: boolean;
  limits?: Partial<DecodeLimits>;
  /** Bank store to match against (default: a new, empty one). */
  banks?: Banks;
  maxInFlight?: number;
  /** Longest JS slice before yielding to the event loop. */
  sliceMs?: number;
  /**
   * Worker threads that decode and hash (default HASH_WORKERS: cores − 1). 0: no pool — decode
   * from the event loop and hash on it in slices (the benchmark's baseline; not for production).
   */
  hashWorkers?: number;
  /** Pool tuning beyond its size (queue bound, stuck-worker limit, niceness; tests: the worker module). */
  hashPool?: Omit<HashPoolOptions, 'size' | 'limits'>;
}

/** The hashes of one image, as hex (what admin tools and the audit log see). */
export interface ImageHashes {
  pdq: string;
  pdqQuality: number;
  blockhash: string;
  blockhashQuality: number;
  /** Size of the image as sent. */
  width: number;
  height: number;
}

/**
 * The hashes of one image or livestream frame, ready to match: `pdq` holds the eight dihedral
 * hashes (index 0 is the frame as given; see pdq.ts DIHEDRALS).
 */
export interface FrameHashes {
  pdq: readonly Hash256[];
  pdqQuality: number;
  blockhash?: Hash256 | undefined;
  /** Blockhash quality flag (see blockhash.ts); a low-quality blockhash is not matched. */
  blockhashLowQuality?: boolean | undefined;
}

export interface ImageFilter {
  filter: Filter;
  banks: Banks;
  /** Decode and hash (for `hashes:add { image }`, tooling, the audit log). Throws ImageError. */
  hashImage(bytes: Uint8Array, signal?: AbortSignal): Promise<ImageHashes>;
  /** The worker pool (undefined with `hashWorkers: 0`): `stats()` for metrics. */
  hashPool: HashPool | undefined;
  /**
   * Stops: in-flight images fail (→ onFailure), later checks fail, the workers are terminated;
   * resolves once every worker has exited.
   */
  close(): Promise<void>;
}

/** The error a drop carries when an enabled bank matched. */
function blockedError(m: BankMatch): Verdict['error'] {
  return {
    code: 'blocked',
    message: `image refused: it matches a known image (${m.bank.category})`,
    category: m.bank.category,
    policy: `hash-bank:${m.bank.id}`,
  };
}

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/** Verdict for a set of bank matches: drop on the most severe enabled match, else pass. */
export function verdictForMatches(matches: readonly BankMatch[], filterName = 'image'): Verdict {
  if (matches.length === 0) return { action: 'pass' };
  const findings: Finding[] = matches.map((m) => ({
    filter: filterName,
    category: m.bank.category,
    severity: m.bank.severity,
    score: matchScore(m.distance),
    evidence: [m.bank.id, m.hashHex, `d=${m.distance}`],
  }));
  let enforce: BankMatch | undefined;
  for (const m of matches) {
    if (m.bank.mode !== 'enabled') continue;
    if (!enforce || SEVERITY_RANK[m.bank.severity] > SEVERITY_RANK[enforce.bank.severity] || (SEVERITY_RANK[m.bank.severity] === SEVERITY_RANK[enforce.bank.severity] && m.distance < enforce.distance)) enforce = m;
  }
  if (!enforce) return { action: 'pass', findings };
  return { action: 'drop', findings, error: blockedError(enforce) };
}

/** Matching as steps: PDQ (unless its quality says discard), then blockhash (unless flat). */
function* matchSteps(banks: Banks, frame: FrameHashes): Steps<BankMatch[]> {
  const out: BankMatch[] = [];
  if (frame.pdqQuality > PDQ_QUALITY_DISCARD_AT_OR_BELOW && frame.pdq.length > 0) out.push(...(yield* banks.matchSteps('pdq', frame.pdq)));
  if (frame.blockhash && !frame.blockhashLowQuality) out.push(...(yield* banks.matchSteps('blockhash', [frame.blockhash])));
  return out.sort((a, b) => a.distance - b.distance || a.bank.id.localeCompare(b.bank.id));
}

/**
 * Pure matching of already-computed hashes (e.g. a livestream frame hashed elsewhere) against the
 * banks, synchronously: the same verdict the filter gives for an image with these hashes.
 */
export function matchFrame(banks: Banks, frame: FrameHashes, filterName = 'image'): Verdict {
  return verdictForMatches(runToEnd(matchSteps(banks, frame)), filterName);
}

export function createImageFilter(options: ImageFilterOptions = {}): ImageFilter {
  const name = options.name ?? 'image';
  const timeoutMs = options.timeoutMs ?? IMAGE_TIMEOUT_MS;
  const onFailure = options.onFailure ?? 'hold';
  const maxInFlight = options.maxInFlight ?? IMAGE_MAX_IN_FLIGHT;
  const sliceMs = options.sliceMs ?? SLICE_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`image filter: timeoutMs must be > 0, got ${timeoutMs}`);
  // Images fail closed: a configuration that would deliver unchecked images is refused.
  if (onFailure !== 'hold' && onFailure !== 'drop') throw new RangeError(`image filter: onFailure must be 'hold' or 'drop' (images fail closed), got ${String(onFailure)}`);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`image filter: maxInFlight must be a positive integer, got ${maxInFlight}`);
  const hashWorkers = options.hashWorkers ?? HASH_WORKERS;
  if (!Number.isInteger(hashWorkers) || hashWorkers < 0) throw new RangeError(`image filter: hashWorkers must be a non-negative integer, got ${hashWorkers}`);
  const limits = resolveDecodeLimits(options.limits);
  const banks = options.banks ?? new Banks();
  const closing = new AbortController();
  const pool = hashWorkers > 0 ? new HashPool({ ...options.hashPool, size: hashWorkers, limits }) : undefined;
  let inFlight = 0;

  /** The pre-pool path: decode through the threadpool, hash on the event loop in slices. */
  async function hashInThread(bytes: Uint8Array, signal: AbortSignal, hashToo: boolean): Promise<HashJobResult> {
    const { rgba, width, height, source } = await decodeForHashing(bytes, { limits, signal });
    if (!hashToo) return { source, width, height };
    return { source, width, height, hashes: await runSliced(hashRgbaSteps(rgba, width, height), signal, sliceMs) };
  }

  const signalFor = (signal?: AbortSignal): AbortSignal => (signal ? AbortSignal.any([signal, closing.signal]) : closing.signal);

  async function hash(bytes: Uint8Array, signal: AbortSignal, hashToo = true): Promise<HashJobResult> {
    if (closing.signal.aborted) throw new Error(`${name} filter is closed`);
    if (inFlight >= maxInFlight) throw new Error(`${name} filter busy: ${inFlight} images in flight`);
    inFlight++;
    try {
      const r = pool ? await pool.run(bytes, { hash: hashToo, signal }) : await hashInThread(bytes, signal, hashToo);
      if (signal.aborted) throw abortError(signal);
      if (hashToo && !r.hashes) throw new Error(`${name} filter: no hashes for an image that was to be hashed`);
      return r;
    } finally {
      inFlight--;
    }
  }

  async function check(msg: PipelineMessage, ctx: FilterContext): Promise<Verdict> {
    if (!msg.image) return { action: 'pass' };
    const signal = signalFor(ctx.signal);
    // With every bank empty there is nothing to match: decode only (images that cannot be decoded
    // are still refused), skip the hashing.
    const match = banks.hasHashes('pdq') || banks.hasHashes('blockhash');
    let h: HashJobResult;
    try {
      h = await hash(msg.image, signal, match);
    } catch (err) {
      if (isImageError(err)) return { action: 'drop', error: { code: err.code, message: err.message, reason: err.reason } };
      throw err; // abort, busy, closed, worker lost or stuck: the pipeline applies onFailure
    }
    if (!h.hashes) return { action: 'pass' };
    const { pdq, blockhash } = h.hashes;
    const frame: FrameHashes = { pdq: pdq.hashes, pdqQuality: pdq.quality, blockhash: blockhash.hash, blockhashLowQuality: blockhash.lowQuality };
    const matches = await runSliced(matchSteps(banks, frame), signal, sliceMs);
    if (signal.aborted) throw abortError(signal);
    return verdictForMatches(matches, name);
  }

  const filter: Filter = Object.freeze({
    name,
    kinds: Object.freeze(['image'] as const),
    timeoutMs,
    onFailure,
    ...(options.shadow ? { shadow: true } : {}),
    check,
  });

  return {
    filter,
    banks,
    hashPool: pool,
    async hashImage(bytes: Uint8Array, signal?: AbortSignal): Promise<ImageHashes> {
      const h = await hash(bytes, signalFor(signal));
      const { pdq, blockhash } = h.hashes!;
      return {
        pdq: hash256ToHex(pdq.hashes[0]!),
        pdqQuality: pdq.quality,
        blockhash: blockhash.hex,
        blockhashQuality: blockhash.quality,
        width: h.source.width,
        height: h.source.height,
      };
    },
    async close(): Promise<void> {
      closing.abort(new Error(`${name} filter closed`));
      await pool?.close();
    },
  };
}
