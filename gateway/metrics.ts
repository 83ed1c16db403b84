/**
 * Prometheus metrics (prom-client), one registry per gateway instance so that several gateways in
 * one process (tests) do not collide. Names are the SRE-facing contract: see docs/operations.md.
 */
import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.ts';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * prom-client's default metrics, one module each, minus its event-loop-lag module. That module
 * runs a second monitorEventLoopDelay beside ours (at 10 ms, as ours did): two timers waking an
 * idle gateway, CPU that benchmark 1 charges to every delivery. One monitor (ours) now feeds
 * both our quantiles and the `nodejs_eventloop_lag_*` gauges prom-client would have exported.
 * The modules are CommonJS files of the pinned prom-client without an exports map.
 */
type DefaultMetric = (registry: Registry, config: { prefix: string }) => void;
const requireCjs = createRequire(import.meta.url);
const DEFAULT_METRICS: DefaultMetric[] = [
  'processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  ...(typeof (process as { getActiveResourcesInfo?: unknown }).getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc',
].map((name) => requireCjs(`prom-client/lib/metrics/${name}`) as DefaultMetric);

/** Sampling interval of the event-loop delay monitor: a stall longer than this is always seen. */
const LOOP_MONITOR_RESOLUTION_MS = 20;

/** Microsecond-to-second buckets for in-process stages: the pipeline budget is ~10 ms. */
const STAGE_BUCKETS = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'modgate_connections', help: 'Open client connections', labelNames: ['door', 'ns'], registers: [this.registry] });
  readonly connectionsTotal = new Counter({ name: 'modgate_connections_total', help: 'Accepted connections', labelNames: ['door', 'ns'], registers: [this.registry] });
  readonly handshakeRefused = new Counter({ name: 'modgate_handshake_refused_total', help: 'Refused handshakes by code', labelNames: ['door', 'code'], registers: [this.registry] });
  // Recorded on every message: FastCounter/FastHistogram (no label hashing per call).
  readonly messagesIn = new FastCounter('modgate_messages_in_total', 'Inbound client events', ['door', 'event'], this.registry);
  readonly messagesOut = new FastCounter('modgate_messages_out_total', 'Chat messages fanned out (one per room publish, not per recipient)', ['origin'], this.registry);
  readonly acks = new FastCounter('modgate_acks_total', 'Replies by event and result code', ['event', 'code'], this.registry);
  readonly disconnects = new Counter({ name: 'modgate_disconnects_total', help: 'Connections closed by the gateway, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly stageSeconds = new FastHistogram('modgate_stage_seconds', 'Latency per message-path stage', ['stage'], STAGE_BUCKETS, this.registry);
  readonly filterOutcome = new FastCounter('modgate_filter_outcome_total', 'Pipeline outcomes per filter (pass, mask, hold, drop, timeout, error, budget, shadow)', ['filter', 'outcome'], this.registry);
  readonly filterSeconds = new FastHistogram('modgate_filter_seconds', 'Latency per filter', ['filter'], STAGE_BUCKETS, this.registry);
  readonly automatedViolations = new FastCounter('modgate_automated_violations_total', 'Violations from automated detection: recorded, throttled (per-user cap), failed (store unreachable)', ['result'], this.registry);
  readonly publishHook = new FastCounter('modgate_publish_hook_total', 'Media server publish-hook answers', ['result'], this.registry);
  readonly failOpen = new Counter({ name: 'modgate_fail_open_total', help: 'Checks that failed open (let traffic through) because a dependency failed', labelNames: ['part'], registers: [this.registry] });
  readonly busErrors = new Counter({ name: 'modgate_bus_errors_total', help: 'Cluster bus publish/subscribe failures', labelNames: ['op'], registers: [this.registry] });
  readonly eventLoopLag = new Gauge({
    name: 'modgate_event_loop_lag_seconds',
    help: 'Event loop delay since the last scrape',
    labelNames: ['quantile'],
    registers: [this.registry],
    collect: () => this.collectLag(),
  });
  private readonly loop: IntervalHistogram;

  /** Audit entries the bounded queue had to drop, and entries not yet written (DESIGN.md: counted). */
  watchAudit(audit: { readonly dropped: number; readonly pending: number }): void {
    new Gauge({ name: 'modgate_audit_dropped', help: 'Audit entries dropped since start (queue full, invalid, closed)', registers: [this.registry], collect() { this.set(audit.dropped); } });
    new Gauge({ name: 'modgate_audit_pending', help: 'Audit entries queued and not yet written', registers: [this.registry], collect() { this.set(audit.pending); } });
  }

  /** The image pool's workers and jobs (filters/image/hash-pool.ts stats()), read at scrape time. */
  watchImagePool(stats: () => { workers: number; running: number; queued: number; crashed: number; stuck: number } | undefined): void {
    const gauge = (name: string, help: string, pick: (s: NonNullable<ReturnType<typeof stats>>) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { const s = stats(); if (s) this.set(pick(s)); } });
    gauge('modgate_image_workers', 'Image decode/hash worker threads alive', (s) => s.workers);
    gauge('modgate_image_jobs_running', 'Images being decoded and hashed in workers', (s) => s.running);
    gauge('modgate_image_jobs_queued', 'Images waiting for an image worker', (s) => s.queued);
    gauge('modgate_image_workers_crashed', 'Image workers that exited unexpectedly since start (their images were held)', (s) => s.crashed);
    gauge('modgate_image_workers_stuck', 'Image workers terminated for a job or boot over its limit since start', (s) => s.stuck);
  }

  constructor() {
    for (const metric of DEFAULT_METRICS) metric(this.registry, { prefix: 'modgate_' });
    this.loop = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    this.loop.enable();
    // prom-client's names for the same histogram (they were here before the monitors were merged).
    const nodeLag: Array<[string, string, (h: IntervalHistogram) => number]> = [
      ['min', 'The minimum recorded event loop delay.', (h) => h.min],
      ['max', 'The maximum recorded event loop delay.', (h) => h.max],
      ['mean', 'The mean of the recorded event loop delays.', (h) => h.mean],
      ['stddev', 'The standard deviation of the recorded event loop delays.', (h) => h.stddev],
      ['p50', 'The 50th percentile of the recorded event loop delays.', (h) => h.percentile(50)],
      ['p90', 'The 90th percentile of the recorded event loop delays.', (h) => h.percentile(90)],
      ['p99', 'The 99th percentile of the recorded event loop delays.', (h) => h.percentile(99)],
    ];
    for (const [name, help, pick] of nodeLag) {
      const loop = this.loop;
      const gauge = new Gauge({ name: `modgate_nodejs_eventloop_lag_${name}_seconds`, help, registers: [this.registry] });
      this.nodeLag.push(() => gauge.set(loop.count > 0 ? pick(loop) / 1e9 : 0));
    }
  }

  private readonly nodeLag: Array<() => void> = [];

  /** Reads and resets the one histogram: the modgate_event_loop_lag_seconds gauge collects first
   *  (it is registered before the nodejs_* gauges), so it sets those too. */
  private collectLag(): void {
    const empty = this.loop.count === 0;
    this.eventLoopLag.set({ quantile: '0.5' }, empty ? 0 : this.loop.percentile(50) / 1e9);
    this.eventLoopLag.set({ quantile: '0.99' }, empty ? 0 : this.loop.percentile(99) / 1e9);
    this.eventLoopLag.set({ quantile: 'max' }, empty ? 0 : this.loop.max / 1e9);
    for (const set of this.nodeLag) set();
    this.loop.reset();
  }

  close(): void {
    this.loop.disable();
  }
}
