/**
 * Scenario 5 — the image path.
 *
 * (a) Cost per image, side by side at 512², 720p and 12 MP JPEGs (generated with sharp at start):
 *     - `shrink-on-load` (modgate): header check, then one sharp decode straight to ≤ 512 px
 *       (libjpeg decodes at 1/2, 1/4 or 1/8 scale), then PDQ (8 dihedral hashes) and blockhash;
 *     - `naive`: sharp decodes the full-resolution RGBA, then the same hashers run on it;
 *     - `full-decode-then-resize` (context): full-resolution decode, then libvips resizes the raw
 *       pixels to ≤ 512 and the same hashers run: what shrink-on-load alone saves.
 *     - `in a hash worker` (context): the same shrink-on-load decode + both hashes as the filter runs
 *       them, in its worker pool (filters/image/hash-pool.ts): wall time per image, message passing
 *       included (one image at a time, so no queueing).
 *     Variants interleaved per round (A B C D A B C D ...); ms per image for decode, PDQ alone,
 *     blockhash alone, and both in the filter's single pixel pass. The ratio the bar is about:
 *     naive ÷ shrink-on-load at 12 MP for decode + both hashes (what the filter runs), per round,
 *     median; decode + PDQ and decode + blockhash ratios, and naive ÷ in-a-worker, beside it.
 * (b) Event-loop delay p99 (`monitorEventLoopDelay`, 1 ms resolution) while 50 images/s (720p,
 *     open loop, through the Pipeline and the real image filter with 10k banked hashes) flow, vs the
 *     same process idle. Side by side, windows interleaved idle / pool / in-thread:
 *     - `pool`: the filter as the gateway runs it — decode and hashing in its worker threads, only
 *       the bank lookups on the event loop (the bar is about this one);
 *     - `in-thread`: the same filter with `hashWorkers: 0` — decode from the event loop, hashing on
 *       it in 0.5 ms slices: the path before the pool, as the baseline.
 *     Also event-loop utilisation and image latency.
 *
 * The scenario runs in this process (the image filter is in-process code); libvips, the threadpool
 * and the hash worker run on other threads (not pinned: on 2 cores they share the machine with the
 * event loop, which is what the bar is about).
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { Pipeline, type PipelineResult } from '../../filters/pipeline.ts';
import { blockhashSteps } from '../../filters/image/blockhash.ts';
import { decodeForHashing, type DecodeLimits } from '../../filters/image/decode.ts';
import { hammingHex, hash256ToHex } from '../../filters/image/hash256.ts';
import { hashRgba } from '../../filters/image/hash-pixels.ts';
import { HashPool } from '../../filters/image/hash-pool.ts';
import { createImageFilter, type ImageFilter } from '../../filters/image/image-filter.ts';
import { PDQ_INPUT_MAX_SIDE, pdqSteps } from '../../filters/image/pdq.ts';
import { runToEnd } from '../../filters/image/slices.ts';
import { sleep } from '../lib/proc.ts';
import { round4, spread } from '../lib/stats.ts';
import type { BenchContext, Figures, Scenario, ScenarioResult } from '../lib/types.ts';

const BAR = '≥ 3× faster than naive full decode + hash at 12 MP; event-loop delay p99 grows ≤ 2 ms at 50 images/s';
const MIN_SPEEDUP_12MP = 3;
const MAX_LOOP_DELAY_GROWTH_MS = 2;
/** Images per second in (b), as BENCHMARKS.md states. */
const RATE = 50;

const SIZES = [
  { key: '512²', width: 512, height: 512 },
  { key: '720p', width: 1280, height: 720 },
  { key: '12MP', width: 4000, height: 3000 },
] as const;
type SizeKey = (typeof SIZES)[number]['key'];
const VARIANTS = ['shrink-on-load', 'naive', 'full-decode-then-resize'] as const;
type Variant = (typeof VARIANTS)[number];
/** The filter's own path, in its worker pool (wall time per image only). */
const IN_WORKER = 'in a hash worker';
/** Loaded windows of (b): the filter on its worker pool, and on the event loop (the baseline). */
const LOOP_MODES = ['pool', 'in-thread'] as const;
type LoopMode = (typeof LOOP_MODES)[number];

interface Plan {
  rounds: number;
  /** Images per variant, size and round. */
  reps: Record<SizeKey, number>;
  /** Idle/loaded window pairs and their length. */
  loopRounds: number;
  loopWindowSec: number;
}
const FULL: Plan = { rounds: 5, reps: { '512²': 10, '720p': 6, '12MP': 2 }, loopRounds: 4, loopWindowSec: 6 };
/** --quick: a smoke check, not a claim. */
const QUICK: Plan = { rounds: 1, reps: { '512²': 2, '720p': 1, '12MP': 1 }, loopRounds: 1, loopWindowSec: 1 };

/** The bench feeds camera-size files; the protocol's 1 MiB cap is the gateway's business. */
const LIMITS: Partial<DecodeLimits> = { maxBytes: 32 * 1024 * 1024 };

/** Mulberry32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A photo-like JPEG: a 400×300 scene of gradient, blobs and shapes, resized to the target, with
 * per-pixel sensor-like noise added at full size (so the file has a camera's entropy, not the
 * smoothness of an upscale: a 12 MP one is ~3–5 MB at quality 88).
 */
async function photo(seed: number, width: number, height: number): Promise<Buffer> {
  const rnd = prng(seed);
  const w = 400;
  const h = 300;
  const base = Buffer.alloc(w * h * 3);
  const c = () => [rnd() * 255, rnd() * 255, rnd() * 255];
  const [a, b] = [c(), c()];
  const shapes = Array.from({ length: 30 }, () => ({ x: rnd() * w, y: rnd() * h, r: 5 + rnd() * 60, col: c() }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x / w + y / h) / 2;
      // The last shape covering the pixel wins, else the gradient (no array per pixel: 120k pixels).
      let top: number[] | undefined;
      for (const s of shapes) if ((x - s.x) ** 2 + (y - s.y) ** 2 < s.r * s.r) top = s.col;
      const o = (y * w + x) * 3;
      for (let k = 0; k < 3; k++) base[o + k] = top ? top[k]! : a![k]! + (b![k]! - a![k]!) * t;
    }
  }
  const { data } = await sharp(base, { raw: { width: w, height: h, channels: 3 } }).resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer({ resolveWithObject: true });
  const noise = randomBytes(data.length);
  // A clamped view saturates at 0 and 255 by itself (the 12 MP loop is 36M bytes).
  const px = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < px.length; i++) px[i] = px[i]! + ((noise[i]! % 25) - 12);
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 88 }).toBuffer();
}

interface Timing {
  decode: number;
  /** PDQ alone (8 dihedral hashes), blockhash alone, and both in the filter's single pass. */
  pdq: number;
  blockhash: number;
  both: number;
  pdqHex: string;
}

const now = () => performance.now();

async function runVariant(variant: Variant, bytes: Buffer): Promise<Timing> {
  const t0 = now();
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  if (variant === 'shrink-on-load') {
    const d = await decodeForHashing(bytes, { limits: LIMITS });
    ({ rgba, width, height } = d);
  } else {
    const full = await sharp(bytes, { limitInputPixels: 50_000_000, failOn: 'warning', sequentialRead: true }).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    if (variant === 'naive') {
      rgba = full.data;
      ({ width, height } = full.info);
    } else {
      const small = await sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: 4 } })
        .resize(PDQ_INPUT_MAX_SIDE, PDQ_INPUT_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
        .raw()
        .toBuffer({ resolveWithObject: true });
      rgba = small.data;
      ({ width, height } = small.info);
    }
  }
  const t1 = now();
  const pdq = runToEnd(pdqSteps(rgba, width, height, 4));
  const t2 = now();
  runToEnd(blockhashSteps(rgba, width, height));
  const t3 = now();
  hashRgba(rgba, width, height);
  const t4 = now();
  return { decode: t1 - t0, pdq: t2 - t1, blockhash: t3 - t2, both: t4 - t3, pdqHex: hash256ToHex(pdq.hashes[0]!) };
}

const median = (xs: number[]) => spread(xs)?.median ?? Number.NaN;

/** One image through the filter's worker pool: wall time, and its PDQ (checked against the in-process one). */
async function runInWorker(pool: HashPool, bytes: Buffer): Promise<{ ms: number; pdqHex: string }> {
  const t0 = now();
  const r = await pool.run(bytes, { hash: true });
  return { ms: now() - t0, pdqHex: hash256ToHex(r.hashes!.pdq.hashes[0]!) };
}

async function perImage(ctx: BenchContext, plan: Plan, images: Record<SizeKey, Buffer[]>) {
  // samples[size][variant] = per-image timings; ratios per round at 12 MP.
  const samples = new Map<string, Timing[]>();
  const key = (s: SizeKey, v: Variant) => `${s}|${v}`;
  const roundMeans = new Map<string, { decode: number; pdq: number; blockhash: number; both: number }[]>();
  const inWorker = new Map<SizeKey, { ms: number; pdqHex: string }[]>();
  const inWorkerRoundMeans: number[] = [];
  const pool = new HashPool({ size: 1, limits: LIMITS });
  await pool.ready();
  // Warm-up: JIT and libvips.
  for (const s of SIZES) {
    for (const v of VARIANTS) await runVariant(v, images[s.key][0]!);
    await runInWorker(pool, images[s.key][0]!);
  }
  for (let r = 0; r < plan.rounds; r++) {
    for (const s of SIZES) {
      for (const v of VARIANTS) {
        const ts: Timing[] = [];
        for (let i = 0; i < plan.reps[s.key]; i++) ts.push(await runVariant(v, images[s.key][i % images[s.key].length]!));
        samples.set(key(s.key, v), [...(samples.get(key(s.key, v)) ?? []), ...ts]);
        const mean = (f: (t: Timing) => number) => ts.reduce((a, t) => a + f(t), 0) / ts.length;
        roundMeans.set(key(s.key, v), [...(roundMeans.get(key(s.key, v)) ?? []), { decode: mean((t) => t.decode), pdq: mean((t) => t.pdq), blockhash: mean((t) => t.blockhash), both: mean((t) => t.both) }]);
      }
      const ws: { ms: number; pdqHex: string }[] = [];
      for (let i = 0; i < plan.reps[s.key]; i++) ws.push(await runInWorker(pool, images[s.key][i % images[s.key].length]!));
      inWorker.set(s.key, [...(inWorker.get(s.key) ?? []), ...ws]);
      if (s.key === '12MP') inWorkerRoundMeans.push(ws.reduce((a, w) => a + w.ms, 0) / ws.length);
    }
    ctx.log(`  scenario 5: per-image round ${r + 1}/${plan.rounds}`);
  }
  await pool.close();
  const figures: Figures = {};
  for (const s of SIZES) {
    for (const v of VARIANTS) {
      const ts = samples.get(key(s.key, v))!;
      const d = median(ts.map((t) => t.decode));
      const p = median(ts.map((t) => t.pdq));
      const b = median(ts.map((t) => t.blockhash));
      figures[`${v}@${s.key}`] = {
        decode_ms: round4(d),
        pdq_ms: round4(p),
        blockhash_ms: round4(b),
        both_hashes_ms: round4(median(ts.map((t) => t.both))),
        pdq_total_ms: round4(median(ts.map((t) => t.decode + t.pdq))),
        blockhash_total_ms: round4(median(ts.map((t) => t.decode + t.blockhash))),
        both_total_ms: round4(median(ts.map((t) => t.decode + t.both))),
        images: ts.length,
      };
    }
    // The two decode paths should hash alike (PDQ is defined on the reference's ≤ 512 thumbnail).
    const a = samples.get(key(s.key, 'shrink-on-load'))![0]!.pdqHex;
    const n = samples.get(key(s.key, 'naive'))![0]!.pdqHex;
    figures[`shrink-on-load@${s.key}`]!.pdq_bits_from_naive = hammingHex(a, n);
    const ws = inWorker.get(s.key)!;
    // The worker runs the same code on the same bytes: its hash must be the in-process one (0 bits).
    figures[`${IN_WORKER}@${s.key}`] = { both_total_ms: round4(median(ws.map((w) => w.ms))), images: ws.length, pdq_bits_from_in_process: hammingHex(ws[0]!.pdqHex, a) };
  }
  // Ratios per round at 12 MP, naive ÷ shrink-on-load (side by side in time).
  const ours = roundMeans.get(key('12MP', 'shrink-on-load'))!;
  const naive = roundMeans.get(key('12MP', 'naive'))!;
  const per = (f: (m: { decode: number; pdq: number; blockhash: number; both: number }) => number) => ours.map((o, i) => f(naive[i]!) / f(o));
  const both = spread(per((m) => m.decode + m.both))!;
  const pdq = spread(per((m) => m.decode + m.pdq))!;
  const blockhash = spread(per((m) => m.decode + m.blockhash))!;
  const naiveOverWorker = spread(naive.map((m, i) => (m.decode + m.both) / inWorkerRoundMeans[i]!))!;
  return { figures, both, pdq, blockhash, naiveOverWorker };
}

interface Window {
  p50: number;
  p99: number;
  max: number;
  elu: number;
}

async function loopDelay(ctx: BenchContext, plan: Plan, images: Buffer[]) {
  // The filter as the gateway creates it (its worker pool), and the same filter on the event loop.
  const pooled = createImageFilter({ limits: LIMITS });
  const inThread = createImageFilter({ limits: LIMITS, hashWorkers: 0, banks: pooled.banks });
  const filters: Record<LoopMode, ImageFilter> = { pool: pooled, 'in-thread': inThread };
  // 10k banked hashes in two banks, so matching (8 dihedral PDQ queries) is part of the cost.
  pooled.banks.addBank({ id: 'bench-pdq', name: 'bench', category: 'spam', severity: 'low', algorithm: 'pdq' });
  pooled.banks.addBank({ id: 'bench-bh', name: 'bench', category: 'spam', severity: 'low', algorithm: 'blockhash' });
  pooled.banks.addHashes('bench-pdq', Array.from({ length: 5000 }, () => randomBytes(32).toString('hex')));
  pooled.banks.addHashes('bench-bh', Array.from({ length: 5000 }, () => randomBytes(32).toString('hex')));
  await pooled.hashPool!.ready();
  const pipelines = Object.fromEntries(LOOP_MODES.map((m) => [m, new Pipeline([filters[m].filter], { budgetMs: { text: 10, image: 150 } })])) as Record<LoopMode, Pipeline>;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const windows: Record<'idle' | LoopMode, Window[]> = { idle: [], pool: [], 'in-thread': [] };
  const fresh = () => ({ outcomes: {} as Record<string, number>, latencies: [] as number[], lateStarts: 0 });
  const stats: Record<LoopMode, ReturnType<typeof fresh>> = { pool: fresh(), 'in-thread': fresh() };
  let started = 0;
  const measure = async (mode: 'idle' | LoopMode): Promise<Window> => {
    const ms = plan.loopWindowSec * 1000;
    const pending: Promise<void>[] = [];
    h.reset();
    const elu0 = performance.eventLoopUtilization();
    if (mode === 'idle') {
      await sleep(ms);
    } else {
      const st = stats[mode];
      const pipeline = pipelines[mode];
      // Open loop: image i is due at t0 + i / RATE, whatever happened to the ones before.
      const t0 = now();
      const n = Math.round((ms / 1000) * RATE);
      for (let i = 0; i < n; i++) {
        const due = t0 + (i * 1000) / RATE;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
        else st.lateStarts++;
        const img = images[started++ % images.length]!;
        const sent = now();
        pending.push(
          Promise.resolve(pipeline.run({ kind: 'image', id: `i${i}`, room: 'r', userId: 'u', image: img })).then((r: PipelineResult) => {
            st.latencies.push(now() - sent);
            const o = r.failures[0]?.outcome ?? r.action;
            st.outcomes[o] = (st.outcomes[o] ?? 0) + 1;
          }),
        );
      }
      await Promise.all(pending);
    }
    const elu = performance.eventLoopUtilization(elu0);
    return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, elu: elu.utilization };
  };
  for (const m of LOOP_MODES) await measure(m); // warm-up
  for (const m of LOOP_MODES) stats[m] = fresh();
  for (let r = 0; r < plan.loopRounds; r++) {
    for (const mode of ['idle', ...LOOP_MODES] as const) windows[mode].push(await measure(mode));
    ctx.log(`  scenario 5: loop-delay round ${r + 1}/${plan.loopRounds}: p99 idle ${windows.idle.at(-1)!.p99.toFixed(2)} ms, pool ${windows.pool.at(-1)!.p99.toFixed(2)} ms, in-thread ${windows['in-thread'].at(-1)!.p99.toFixed(2)} ms`);
  }
  h.disable();
  const poolStats = pooled.hashPool!.stats();
  await Promise.all([pooled.close(), inThread.close()]);
  const growthOf = (m: LoopMode) => spread(windows[m].map((w, i) => w.p99 - windows.idle[i]!.p99))!;
  const sum = (ws: Window[]) => ({ p50_ms: round4(median(ws.map((w) => w.p50))), p99_ms: round4(median(ws.map((w) => w.p99))), max_ms: round4(Math.max(...ws.map((w) => w.max))), elu: round4(median(ws.map((w) => w.elu))) });
  const loaded = (m: LoopMode) => {
    const { latencies, lateStarts, outcomes } = stats[m];
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...sum(windows[m]),
      image_latency_p50_ms: round4(spread(latencies)?.median ?? Number.NaN),
      image_latency_p99_ms: round4(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN),
      images: latencies.length,
      late_starts: lateStarts,
      ...Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [`outcome_${k}`, v])),
    };
  };
  return {
    figures: {
      'loop-idle': sum(windows.idle),
      // The filter as deployed (worker pool); the key is the one earlier runs used for the filter.
      'loop-50-images-per-s': { ...loaded('pool'), worker_crashes: poolStats.crashed, workers_stuck: poolStats.stuck },
      'loop-50-images-per-s-in-thread': loaded('in-thread'),
    } as Figures,
    growth: growthOf('pool'),
    growthInThread: growthOf('in-thread'),
    outcomes: stats.pool.outcomes,
    outcomesInThread: stats['in-thread'].outcomes,
  };
}

const scenario: Scenario = {
  id: 5,
  name: 'image-path',
  title: 'shrink-on-load decode + hash vs naive full decode + hash (512², 720p, 12 MP; PDQ and blockhash); event-loop delay at 50 images/s',
  bar: BAR,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const plan = ctx.quick ? QUICK : FULL;
    // libvips' operation cache would serve repeated inputs from memory; the gateway sees each
    // image once, so measure without it.
    sharp.cache(false);
    ctx.log('  scenario 5: generating JPEGs');
    const images = {} as Record<SizeKey, Buffer[]>;
    for (const s of SIZES) images[s.key] = await Promise.all([1, 2].map((seed) => photo(seed * 7 + s.width, s.width, s.height)));
    const flow = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(100 + i, 1280, 720)));
    const per = await perImage(ctx, plan, images);
    const loop = await loopDelay(ctx, plan, flow);
    sharp.cache(true);

    const speedMet = per.both.median >= MIN_SPEEDUP_12MP;
    const loopMet = loop.growth.median <= MAX_LOOP_DELAY_GROWTH_MS;
    const heldOf = (o: Record<string, number>) => Object.entries(o).filter(([k]) => k !== 'pass' && k !== 'drop');
    const bytes = Object.fromEntries(SIZES.map((s) => [s.key, Math.round(images[s.key][0]!.length / 1024)]));
    const figures: Figures = {
      ...per.figures,
      ...loop.figures,
      ratios: {
        naive_over_shrink_12MP_both: round4(per.both.median),
        naive_over_shrink_12MP_pdq: round4(per.pdq.median),
        naive_over_shrink_12MP_blockhash: round4(per.blockhash.median),
        naive_over_in_worker_12MP: round4(per.naiveOverWorker.median),
        loop_p99_growth_ms: round4(loop.growth.median),
        loop_p99_growth_in_thread_ms: round4(loop.growthInThread.median),
      },
    };
    const f = (v: Variant, s: SizeKey) => figures[`${v}@${s}`]!;
    const rows = SIZES.flatMap((s) => [
      ...VARIANTS.map((v) => `| ${s.key} (${bytes[s.key]} KB) | ${v} | ${f(v, s.key).decode_ms} | ${f(v, s.key).pdq_ms} | ${f(v, s.key).blockhash_ms} | ${f(v, s.key).both_hashes_ms} | ${f(v, s.key).both_total_ms} |`),
      `| ${s.key} | ${IN_WORKER} (shrink-on-load, the filter's path) | | | | | ${figures[`${IN_WORKER}@${s.key}`]!.both_total_ms} |`,
    ]);
    const idle = figures['loop-idle']!;
    const loaded = figures['loop-50-images-per-s']!;
    const loadedInThread = figures['loop-50-images-per-s-in-thread']!;
    const latencyLine = (name: string, l: Record<string, number>, o: Record<string, number>) => {
      const held = heldOf(o);
      return `${name}: image latency p50 ${l.image_latency_p50_ms} ms, p99 ${l.image_latency_p99_ms} ms over ${l.images} images${held.length ? `; not checked in time (held): ${held.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}${l.late_starts ? `; ${l.late_starts} images started late` : ''}`;
    };
    const markdown = [
      `Per image, medians over ${plan.rounds} interleaved rounds (JPEG q88 with sensor-like noise, generated at start). PDQ = the 8 dihedral hashes; "both" = PDQ and blockhash in the filter's single pixel pass; total = decode + both:`,
      '',
      '| size | path | decode ms | PDQ ms | blockhash ms | both ms | total ms |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `12 MP, naive ÷ shrink-on-load (per round, median and spread): decode + both hashes ${round4(per.both.median)} (${round4(per.both.min)}–${round4(per.both.max)}); bar ≥ ${MIN_SPEEDUP_12MP}: ${speedMet ? 'met' : 'NOT met'}. Beside it, decode + PDQ alone ${round4(per.pdq.median)} (${round4(per.pdq.min)}–${round4(per.pdq.max)}), decode + blockhash alone ${round4(per.blockhash.median)} (${round4(per.blockhash.min)}–${round4(per.blockhash.max)}) — blockhash over full-resolution pixels is one add per pixel, so the naive side loses less there. PDQ bits between the two decode paths: ${SIZES.map((s) => `${s.key} ${f('shrink-on-load', s.key).pdq_bits_from_naive}`).join(', ')}. Naive ÷ the filter's path in its hash worker (wall time, message passing included): ${round4(per.naiveOverWorker.median)} (${round4(per.naiveOverWorker.min)}–${round4(per.naiveOverWorker.max)}); PDQ bits between worker and in-process: ${SIZES.map((s) => `${s.key} ${figures[`${IN_WORKER}@${s.key}`]!.pdq_bits_from_in_process}`).join(', ')}.`,
      '',
      `Event loop (monitorEventLoopDelay, 1 ms resolution), ${plan.loopRounds} rounds of ${plan.loopWindowSec} s windows interleaved idle / pool / in-thread; load = ${RATE} images/s of 720p JPEG (open loop) through the Pipeline and the image filter (10k banked hashes). "pool": the filter as the gateway runs it (decode and hashing in its worker thread, bank lookups on the event loop); "in-thread": the same filter with \`hashWorkers: 0\` (decode from the event loop, hashing on it in 0.5 ms slices — the path before the pool):`,
      '',
      '| window | p50 ms | p99 ms | max ms | loop utilisation |',
      '|---|---|---|---|---|',
      `| idle | ${idle.p50_ms} | ${idle.p99_ms} | ${idle.max_ms} | ${idle.elu} |`,
      `| ${RATE} images/s, pool (modgate) | ${loaded.p50_ms} | ${loaded.p99_ms} | ${loaded.max_ms} | ${loaded.elu} |`,
      `| ${RATE} images/s, in-thread (baseline) | ${loadedInThread.p50_ms} | ${loadedInThread.p99_ms} | ${loadedInThread.max_ms} | ${loadedInThread.elu} |`,
      '',
      `p99 growth over idle (per round, median and spread): pool ${round4(loop.growth.median)} ms (${round4(loop.growth.min)}–${round4(loop.growth.max)}), bar ≤ ${MAX_LOOP_DELAY_GROWTH_MS} ms: ${loopMet ? 'met' : 'NOT met'}; in-thread ${round4(loop.growthInThread.median)} ms (${round4(loop.growthInThread.min)}–${round4(loop.growthInThread.max)}). ${latencyLine('Pool', loaded, loop.outcomes)}; ${latencyLine('in-thread', loadedInThread, loop.outcomesInThread)}.${loaded.worker_crashes || loaded.workers_stuck ? ` Hash workers lost: ${loaded.worker_crashes} crashed, ${loaded.workers_stuck} stuck.` : ''}`,
    ].join('\n');
    return {
      id: 5,
      name: 'image-path',
      figures,
      ratio: round4(per.both.median),
      ratioSpread: [round4(per.both.min), round4(per.both.max)],
      bar: BAR,
      met: speedMet && loopMet,
      markdown,
      raw: { plan, per, loop },
    };
  },
};
export default scenario;
