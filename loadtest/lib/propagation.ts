/**
 * Shared by the propagation scenarios (7: a ban, 9: a stream kill): a private redis-server with
 * two gateway nodes on it, raw-door clients, the raw Redis PUBLISH→SUBSCRIBE baseline, and the
 * interleaved raw/modgate blocks, all timed on this process's clock into µs HdrHistograms.
 *
 * The redis-server runs on the load generator's CPU, the two gateways on the server's CPU (pinned
 * once they are ready: they start up on both); every connection is on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import hdr from 'hdr-histogram-js';
import { mintToken, type MintOptions } from '../../gateway/auth.ts';
import { findFreePort, ManagedChild, pinNow, sleep, startRedisServer, waitReady } from './proc.ts';
import { round4 } from './stats.ts';
import type { BenchContext } from './types.ts';

/** How long one sample may wait for what it measures before it counts as a failure. */
export const SAMPLE_TIMEOUT_MS = 5_000;

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Latencies in µs, 1 µs to 60 s. */
export function usHistogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}
export type Histogram = ReturnType<typeof usHistogram>;

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export interface LatencyFigures {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  samples: number;
}

export function latencyFigures(h: Histogram): LatencyFigures {
  return { p50_ms: round4(h.getValueAtPercentile(50) / 1000), p99_ms: round4(h.getValueAtPercentile(99) / 1000), max_ms: round4(h.maxValue / 1000), samples: h.totalCount };
}

/** Markdown table rows `| label | p50 | p99 | max |` with their header. */
export function latencyTable(rows: [label: string, f: Record<string, number>][]): string[] {
  return ['| variant | p50 ms | p99 ms | max ms |', '|---|---|---|---|', ...rows.map(([label, f]) => `| ${label} | ${f.p50_ms} | ${f.p99_ms} | ${f.max_ms} |`)];
}

export function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** A raw-door (`/ws`, `/ws/admin`) connection: acked requests and pushed events. */
export class RawConn {
  private nextAck = 0;
  private readonly pending = new Map<number, (d: { ok: boolean; [k: string]: unknown }) => void>();
  private readonly handlers = new Map<string, (data: Record<string, unknown>) => void>();

  constructor(readonly ws: WebSocket) {
    ws.on('message', (buf) => {
      const f = JSON.parse(String(buf)) as { event?: string; ack?: number; data: never };
      if (typeof f.ack === 'number' && f.event === undefined) {
        this.pending.get(f.ack)?.(f.data);
        this.pending.delete(f.ack);
      } else if (f.event !== undefined) {
        this.handlers.get(f.event)?.(f.data);
      }
    });
  }

  /** Sends the request at once; the promise is its reply. */
  request(event: string, data: unknown): Promise<{ ok: boolean; [k: string]: unknown }> {
    const ack = ++this.nextAck;
    const reply = new Promise<{ ok: boolean; [k: string]: unknown }>((r) => this.pending.set(ack, r));
    this.ws.send(JSON.stringify({ event, data, ack }));
    return reply;
  }

  /** The one handler of a pushed event (replaces any earlier one). */
  on(event: string, fn: (data: Record<string, unknown>) => void): void {
    this.handlers.set(event, fn);
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface Node {
  child: ManagedChild;
  port: number;
}

/** A redis-server and two gateway nodes A and B on it, sharing one HS256 secret. */
export class TwoNodes {
  private constructor(
    readonly secret: string,
    readonly redisPort: number,
    private readonly redis: ManagedChild,
    readonly nodes: Node[],
  ) {}

  get A(): Node {
    return this.nodes[0]!;
  }
  get B(): Node {
    return this.nodes[1]!;
  }

  /**
   * `tag` names the logs and the config file in ctx.tmpDir (e.g. '07'); `config` is the gateways'
   * MODGATE_CONFIG file content. Stops whatever it started if a node fails to come up.
   */
  static async start(ctx: BenchContext, tag: string, config: object): Promise<TwoNodes> {
    const secret = randomBytes(32).toString('base64url');
    const { child: redis, port: redisPort } = await startRedisServer(ctx, `${tag}-redis.log`);
    const configFile = join(ctx.tmpDir, `${tag}-modgate.json`);
    writeFileSync(configFile, JSON.stringify(config));
    const cluster = new TwoNodes(secret, redisPort, redis, []);
    try {
      for (const name of ['a', 'b']) {
        const port = await findFreePort();
        const child = new ManagedChild({
          name: `modgate-${name}`,
          command: process.execPath,
          args: ['bin/modgate.mjs', 'serve'],
          cwd: ctx.repoRoot,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', MODGATE_JWT_SECRET: secret, REDIS_URL: `redis://127.0.0.1:${redisPort}`, MODGATE_NODE_ID: `bench-${name}`, LOG_LEVEL: 'warn', MODGATE_CONFIG: configFile },
          // Started on any core, so the two start-ups run side by side; pinned once ready.
          logFile: join(ctx.tmpDir, `${tag}-modgate-${name}.log`),
        });
        cluster.nodes.push({ child, port });
      }
      for (const n of cluster.nodes) await waitReady(n.child, n.port, '/readyz', 20_000);
      for (const n of cluster.nodes) pinNow(n.child.pid, ctx.cpus.server);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** A raw-door connection to `node` as user `sub`, on `/ws` or `/ws/admin`. */
  async connect(node: Node, path: '/ws' | '/ws/admin', claims: Omit<MintOptions, 'ttlSec'>): Promise<RawConn> {
    const token = await mintToken(this.secret, { ...claims, ttlSec: 7200 });
    return new RawConn(await openWs(`ws://127.0.0.1:${node.port}${path}?token=${token}`));
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.child.stop();
    await this.redis.stop();
  }
}

/**
 * The baseline: one PUBLISH on one connection → its message on a SUBSCRIBE connection of the same
 * redis-server, one-way, timed on this process's clock.
 */
export class RawPubSub {
  readonly hist = usHistogram();
  private onMessage: ((t: number) => void) | undefined;
  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {
    sub.on('message', () => this.onMessage?.(nowMs()));
  }

  static async connect(redisPort: number): Promise<RawPubSub> {
    const raw = new RawPubSub(new Redis(redisPort, '127.0.0.1'), new Redis(redisPort, '127.0.0.1'));
    await raw.sub.subscribe('bench:raw');
    return raw;
  }

  async sample(): Promise<void> {
    const got = new Promise<number>((r) => (this.onMessage = r));
    const t0 = nowMs();
    await this.pub.publish('bench:raw', String(t0));
    recordMs(this.hist, (await got) - t0);
  }

  close(): void {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}

export interface InterleavePlan {
  /** Samples per variant. */
  samples: number;
  /** Samples per interleaved block (raw block, modgate block, raw block, ...). */
  block: number;
  /** Pause between samples, so that each one is measured on an idle path. */
  gapMs: number;
}

/**
 * Runs `warmup` samples of each variant, resets the histograms (through `reset`), then
 * `plan.samples` of each in alternating blocks: raw first, each raw sample followed by the gap
 * (a modgate sample is expected to pause by itself before the timed step). `afterBlock` runs
 * after each modgate block (e.g. to settle replies that sample did not wait for).
 */
export async function interleave(
  ctx: BenchContext,
  /** Progress lines read `  <label>: <done>/<samples> <unit>`. */
  progress: { label: string; unit: string },
  plan: InterleavePlan,
  variants: { raw: RawPubSub; modgate: () => Promise<void>; reset: () => void; afterBlock?: () => Promise<void> },
  warmup = 20,
): Promise<void> {
  for (let i = 0; i < warmup; i++) {
    await variants.raw.sample();
    await variants.modgate();
  }
  await variants.afterBlock?.();
  variants.raw.hist.reset();
  variants.reset();
  for (let done = 0; done < plan.samples; done += plan.block) {
    for (let i = 0; i < plan.block; i++) {
      await variants.raw.sample();
      await sleep(plan.gapMs);
    }
    for (let i = 0; i < plan.block; i++) await variants.modgate();
    await variants.afterBlock?.();
    ctx.log(`  ${progress.label}: ${Math.min(done + plan.block, plan.samples)}/${plan.samples} ${progress.unit}`);
  }
}
