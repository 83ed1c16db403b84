/**
 * A small pool of worker threads that decode and hash images (hash-job.ts), so that none of an
 * image's CPU work runs on the event loop: it only copies the compressed bytes into a message to
 * the worker, and gets back 9 × 256 bits.
 *
 * Why: hashing one ≤ 512 px image is 3–6 ms of JS; run on the event loop — even in 0.5 ms slices —
 * 50 images/s pushed the loop's p99 delay up by ~6 ms (BENCHMARKS.md #5, bar ≤ 2 ms), through the
 * slices themselves, sharp's synchronous option marshalling (~1 ms per call) and the GC of the
 * pixel buffers. In a worker all of that happens on another thread.
 *
 * Failure directions (images fail closed, DESIGN.md): a job fails — and the filter holds the image —
 * when the pool is closed or its queue is full, when the caller's signal aborts (deadline: the job
 * is also cancelled in the worker), when its worker throws, dies (crash, heap limit) or is stuck
 * (no answer after `stuckMs`: terminated). A dead worker is replaced (with a back-off when
 * replacements keep failing) and never takes the process down — except a native crash inside
 * libvips, which worker threads do not isolate (the decode caps in decode.ts are the guard there).
 */
import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { checkImageBytes, resolveDecodeLimits, type DecodeLimits } from './decode.ts';
import { decodeResult, fromWireError, type HashJobRequest, type HashJobResult, type HashWorkerData, type HashWorkerReply, type HashWorkerRequest } from './hash-job.ts';
import { abortError } from './slices.ts';

/**
 * Workers by default: every core but the event loop's (1 on our 2-core VMs). Each worker decodes
 * one image at a time (below), so this is also the number of concurrent decodes — as many as the
 * in-thread path's DecodeQueue allowed, which measured that more decodes than cores − 1 take the
 * event loop's core.
 */
export const HASH_WORKERS = Math.max(1, availableParallelism() - 1);
/** Decodes one worker runs at once (see HASH_WORKERS). */
export const WORKER_DECODE_CONCURRENCY = 1;
/**
 * Nice value added to each worker thread (Linux; lowerThreadPriority in hash-job.ts): when the
 * worker's hashing and the event loop want the same core, the event loop gets it first (CFS
 * weights 335 against 1024: 3 to 1), yet the worker keeps a quarter of a fully contended core —
 * ~70 images/s at 3.5 ms of hashing each, above the 50/s we plan for. An idle core runs it at
 * full speed. (Measured on the shared VM with +10 against 0: p99 loop-delay growth ~0.4–0.6 ms
 * lower; the noise there is of the same order. +5 trades a little of that for throughput.)
 */
export const HASH_WORKER_NICENESS = 5;
/**
 * Jobs handed to one worker at once: with 2, the next image decodes in the threadpool while the
 * worker hashes the current one. More would only wait inside the worker, where the pool can
 * neither see nor re-route them.
 */
export const JOBS_PER_WORKER = 2;
/**
 * Jobs waiting for a worker. The filter caps its own images in flight at 8 (IMAGE_MAX_IN_FLIGHT),
 * well below; the rest is room for `hashImage` and livestream frames. Past it, a job fails at once
 * (busy → held) rather than queueing past any deadline.
 */
export const HASH_POOL_MAX_QUEUED = 32;
/**
 * A job unanswered this long after it reached its worker means the worker is stuck: sharp gives up
 * on a decode after 2 s (DECODE_TIMEOUT_SECONDS) and hashing a ≤ 512 px image takes milliseconds.
 * The worker is terminated and replaced. (The caller's own deadline, 100 ms for the filter, has
 * long since held the image; this only frees the slot.)
 */
export const HASH_WORKER_STUCK_MS = 5_000;
/** A worker not ready this long after it started (tsx + sharp load in ~0.3 s) is replaced. */
export const HASH_WORKER_BOOT_MS = 20_000;
/** Back-off between replacements that keep failing: 100 ms doubling to 5 s, so a worker that cannot start does not spin. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 5_000;
/**
 * Heap cap per worker: decoded pixels live outside the JS heap and a job's JS allocations are a
 * few MB, so a worker near this is leaking; it dies (and is replaced) instead of the process.
 */
export const HASH_WORKER_HEAP_MB = 256;

export interface HashPoolOptions {
  /** Worker threads (default HASH_WORKERS). */
  size?: number;
  /** Jobs waiting for a worker before new ones fail (default HASH_POOL_MAX_QUEUED). */
  maxQueued?: number;
  /** Jobs handed to one worker at once (default JOBS_PER_WORKER). */
  jobsPerWorker?: number;
  /** See HASH_WORKER_STUCK_MS. */
  stuckMs?: number;
  /** Decode caps, applied in the workers (byte size also here, before any copy). */
  limits?: Partial<DecodeLimits>;
  /** Worker module (default ./hash-worker.ts); tests start workers that misbehave on purpose. */
  entry?: URL;
  /** See HASH_WORKER_NICENESS; 0 leaves the workers at the process's priority. */
  niceness?: number;
}

export interface HashPoolStats {
  /** Workers alive (booting or ready). */
  workers: number;
  /** Jobs in workers, jobs waiting for one. */
  running: number;
  queued: number;
  /** Workers that exited unexpectedly (threw, crashed, heap limit). */
  crashed: number;
  /** Workers terminated for a job over `stuckMs` or a boot over HASH_WORKER_BOOT_MS. */
  stuck: number;
  /** Workers started to replace one. */
  restarts: number;
}

interface Job {
  id: number;
  bytes: Uint8Array | undefined;
  hash: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (r: HashJobResult) => void;
  reject: (e: Error) => void;
  /** The caller has its answer (result, error or abort); the job may still occupy its worker. */
  settled: boolean;
  slot: Slot | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Job>;
  bootTimer: NodeJS.Timeout | undefined;
  /** Why it is going away (stuck, error), for the jobs it fails. */
  why: string | undefined;
  killed: boolean;
}

/** The worker runs the .ts sources through tsx, as bin/modgate.mjs does for the main thread. */
function startWorker(entry: URL, workerData: HashWorkerData, resourceLimits: ResourceLimits): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}

function defaultEntry(): URL {
  const here = import.meta.url;
  return new URL(`./hash-worker${here.endsWith('.ts') ? '.ts' : '.js'}`, here);
}

export class HashPool {
  readonly size: number;
  private readonly maxQueued: number;
  private readonly jobsPerWorker: number;
  private readonly stuckMs: number;
  private readonly limits: Readonly<DecodeLimits>;
  private readonly entry: URL;
  private readonly niceness: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private seq = 0;
  private closed = false;
  private refd = false;
  private failures = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly counts = { crashed: 0, stuck: 0, restarts: 0 };
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(options: HashPoolOptions = {}) {
    this.size = options.size ?? HASH_WORKERS;
    this.maxQueued = options.maxQueued ?? HASH_POOL_MAX_QUEUED;
    this.jobsPerWorker = options.jobsPerWorker ?? JOBS_PER_WORKER;
    this.stuckMs = options.stuckMs ?? HASH_WORKER_STUCK_MS;
    for (const [k, v] of Object.entries({ size: this.size, maxQueued: this.maxQueued, jobsPerWorker: this.jobsPerWorker })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`image hash pool: ${k} must be a positive integer, got ${v}`);
    }
    if (!(this.stuckMs > 0)) throw new RangeError(`image hash pool: stuckMs must be > 0, got ${this.stuckMs}`);
    this.limits = resolveDecodeLimits(options.limits);
    this.entry = options.entry ?? defaultEntry();
    this.niceness = options.niceness ?? HASH_WORKER_NICENESS;
    if (!Number.isInteger(this.niceness) || this.niceness < 0) throw new RangeError(`image hash pool: niceness must be a non-negative integer, got ${this.niceness}`);
    // Started now: loading a worker takes ~0.3 s, which the first image should not wait for.
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /** The live workers (for tests and diagnostics). */
  get workers(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /** Resolves once every worker has loaded (images sent before wait for it; ~0.3 s after start). */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('image hash pool is closed'));
    if (this.allReady()) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private allReady(): boolean {
    return this.slots.length === this.size && this.slots.every((s) => s.ready);
  }

  stats(): HashPoolStats {
    let running = 0;
    for (const s of this.slots) running += s.jobs.size;
    return { workers: this.slots.length, running, queued: this.queue.length, ...this.counts };
  }

  /**
   * Decodes `bytes` in a worker and, with `hash`, hashes them. Rejects with an ImageError when the
   * image is refused, otherwise with an Error (closed, busy, aborted, worker lost or stuck).
   */
  async run(bytes: Uint8Array, options: { hash: boolean; signal?: AbortSignal | undefined }): Promise<HashJobResult> {
    if (this.closed) throw new Error('image hash pool is closed');
    checkImageBytes(bytes, this.limits);
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    if (this.queue.length >= this.maxQueued) throw new Error(`image hash pool busy: ${this.queue.length} images waiting`);
    return new Promise<HashJobResult>((resolve, reject) => {
      const job: Job = { id: ++this.seq, bytes, hash: options.hash, signal, onAbort: undefined, resolve, reject, settled: false, slot: undefined, timer: undefined };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Fails what is pending, terminates every worker; resolves once they have all exited. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.respawns) clearTimeout(t);
    this.respawns.clear();
    const err = new Error('image hash pool is closed');
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
    for (const job of this.queue.splice(0)) this.settle(job, err);
    const slots = this.slots.splice(0);
    for (const s of slots) this.failJobs(s, err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private settle(job: Job, err: Error | undefined, result?: HashJobResult): void {
    if (job.settled) return;
    job.settled = true;
    job.bytes = undefined;
    if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
    if (err) job.reject(err);
    else job.resolve(result!);
  }

  private abort(job: Job): void {
    const err = abortError(job.signal!);
    if (!job.slot) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(job, err);
      this.updateRef();
      return;
    }
    // In a worker: the caller gets its answer now; the worker drops the job at its next stage and
    // the slot stays taken until it says so.
    this.settle(job, err);
    job.slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies HashWorkerRequest);
  }

  /** Hands waiting jobs to ready workers, least loaded first. */
  private pump(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (s.ready && !s.killed && s.jobs.size < this.jobsPerWorker && (!best || s.jobs.size < best.jobs.size)) best = s;
      if (!best) break;
      this.send(best, this.queue.shift()!);
    }
    this.updateRef();
  }

  private send(slot: Slot, job: Job): void {
    // The caller keeps its bytes, so the worker gets a copy, made once. Bytes that fill their
    // buffer are structured-cloned (one copy into the message: ~30 µs for 190 KB on the VM,
    // against ~190 µs to allocate a fresh buffer and transfer it); a view into a larger buffer is
    // copied out first, since a clone would copy the whole buffer, and that copy is transferred.
    const own = job.bytes!;
    const whole = own.byteOffset === 0 && own.byteLength === own.buffer.byteLength && own.buffer instanceof ArrayBuffer;
    const bytes = whole ? own : new Uint8Array(own);
    job.bytes = undefined;
    job.slot = slot;
    slot.jobs.set(job.id, job);
    job.timer = setTimeout(() => this.kill(slot, `a job got no answer in ${this.stuckMs} ms`), this.stuckMs);
    job.timer.unref();
    slot.worker.postMessage({ type: 'job', id: job.id, bytes, hash: job.hash } satisfies HashJobRequest, whole ? [] : [bytes.buffer as ArrayBuffer]);
  }

  private onReply(slot: Slot, reply: HashWorkerReply): void {
    if (reply.type === 'ready') {
      slot.ready = true;
      clearTimeout(slot.bootTimer);
      if (this.allReady()) for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.pump();
      return;
    }
    const job = slot.jobs.get(reply.id);
    if (!job) return;
    slot.jobs.delete(reply.id);
    clearTimeout(job.timer);
    this.failures = 0; // it answered: replacements work
    if (reply.type === 'done') {
      this.settle(job, undefined, decodeResult(reply));
    } else {
      this.settle(job, fromWireError(reply.error));
    }
    this.pump();
  }

  private failJobs(slot: Slot, err: Error): void {
    for (const job of slot.jobs.values()) {
      clearTimeout(job.timer);
      this.settle(job, err);
    }
    slot.jobs.clear();
  }

  /** Stuck: its jobs fail now, the worker is terminated; `exit` replaces it. */
  private kill(slot: Slot, why: string): void {
    if (slot.killed || this.closed) return;
    slot.killed = true;
    slot.why = why;
    this.counts.stuck++;
    this.failJobs(slot, new Error(`image hash worker stuck (${why}); replaced`));
    void slot.worker.terminate();
  }

  private spawn(): void {
    const data: HashWorkerData = { limits: this.limits, decodeConcurrency: WORKER_DECODE_CONCURRENCY, niceness: this.niceness };
    const worker = startWorker(this.entry, data, { maxOldGenerationSizeMb: HASH_WORKER_HEAP_MB });
    const slot: Slot = { worker, ready: false, jobs: new Map(), bootTimer: undefined, why: undefined, killed: false };
    if (this.refd) worker.ref();
    else worker.unref();
    slot.bootTimer = setTimeout(() => this.kill(slot, `not ready after ${HASH_WORKER_BOOT_MS} ms`), HASH_WORKER_BOOT_MS);
    slot.bootTimer.unref();
    worker.on('message', (reply: HashWorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => {
      slot.why ??= err.message;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    this.slots.push(slot);
  }

  private onExit(slot: Slot, code: number): void {
    clearTimeout(slot.bootTimer);
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // closed: already failed and removed
    this.slots.splice(i, 1);
    if (!slot.killed) this.counts.crashed++;
    this.failJobs(slot, new Error(`image hash worker exited (code ${code}${slot.why ? `: ${slot.why}` : ''}); replaced`));
    if (this.closed) return;
    this.replace();
    this.updateRef();
  }

  /** Starts a worker in place of a lost one; back-off only while replacements keep failing without finishing a job. */
  private replace(): void {
    const n = this.failures++;
    const delay = n === 0 ? 0 : Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (n - 1));
    const t = setTimeout(() => {
      this.respawns.delete(t);
      if (this.closed) return;
      this.counts.restarts++;
      try {
        this.spawn();
      } catch {
        // Could not even start a thread (resources): try again later, never throw from a timer.
        this.replace();
      }
    }, delay);
    this.respawns.add(t);
  }

  /**
   * Workers keep the process alive only while images are pending: an idle gateway or tool can exit
   * without close(), and an awaited image is not lost to an early exit.
   */
  private updateRef(): void {
    let pending = this.queue.length > 0;
    for (const s of this.slots) if (s.jobs.size > 0) pending = true;
    if (pending === this.refd) return;
    this.refd = pending;
    for (const s of this.slots) {
      if (pending) s.worker.ref();
      else s.worker.unref();
    }
  }
}
