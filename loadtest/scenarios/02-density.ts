/**
 * Scenario 2 — connection density: resident memory per idle connection, modgate vs the floor.
 *
 * Variants, each server in its own process pinned to the server CPU, started fresh for every run:
 *   - modgate-ws     modgate, raw WebSocket door `/ws` (HS256 token per connection, distinct `sub`)
 *   - modgate-sio    modgate, socket.io door (websocket transport, token in the auth payload)
 *   - bare-uws       loadtest/relays/bare-uws.ts: uWebSockets.js pub/sub, no auth, no state
 *   - bare-socketio  loadtest/relays/bare-socketio.ts: socket.io 4 on node:http + ws
 *
 * One run: start the server; open a small warm-up batch of connections (so one-time costs —
 * lazily loaded code, JIT, first-use buffers — land before the baseline); wait; read the server's
 * RSS (baseline); open N more connections from several client processes (pinned to the load
 * generator CPU), each connection joined to one of 100 rooms and then left idle; wait again; read
 * RSS again. RSS per connection = (after − baseline) ÷ N. The ratio of the bar is modgate ÷ bare
 * uWS per idle connection, for each modgate door, taken per round (variants interleaved
 * A B C D A B C D).
 *
 * RSS is VmRSS from /proc/<pid>/status of the server process (all its threads); each reading is
 * the median of a few samples. RssAnon (heap, stacks, malloc arenas: what connections
 * actually allocate) is reported beside it. Before each reading the server runs a full GC in every
 * isolate (main thread and worker threads): every server is started with `--inspect=127.0.0.1:0`
 * and the harness asks its inspector for `HeapProfiler.collectGarbage` (the servers' code is
 * untouched; nothing else is asked of the inspector). Without that, when V8 happens to collect
 * garbage decides the figure (see Inspector).
 *
 * The same file is the client process: `DENSITY_CLIENT='<json ClientConfig>' node --import tsx
 * loadtest/scenarios/02-density.ts` opens its connections, prints `CONNECTED <json>`, and holds
 * them idle until SIGTERM (or its own time cap). Importing the file (as bench.ts does) never
 * starts a client.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { waitForFile } from '../lib/files.ts';
import { describeExit, findFreePort, invalidRunsMarkdown, ManagedChild, sleep, waitReady } from '../lib/proc.ts';
import { addSpread, cell, fmt, round4, roundRatios, spread, type Spread } from '../lib/stats.ts';
import type { BenchContext, Figures, Scenario, ScenarioResult } from '../lib/types.ts';

const BAR = 'modgate ≤ 1.5× bare uWS RSS per idle connection';
/** modgate bytes per idle connection ÷ bare uWS bytes per idle connection must not exceed this. */
const MAX_MODGATE_OVER_UWS = 1.5;

const CLIENT_ENV = 'DENSITY_CLIENT';
const CONNECTED_PREFIX = 'CONNECTED ';
const FAILED_PREFIX = 'FAILED ';
const LOST_PREFIX = 'LOST ';

interface Plan {
  rounds: number;
  /** Idle connections measured per run (N). */
  connections: number;
  /** Connections opened (and kept) before the baseline reading. */
  warmupConnections: number;
  rooms: number;
  /** Connections per client process at most. */
  perClientProcess: number;
  /** Wait after the last connection is up, before each RSS reading. */
  settleMs: number;
  /** RSS samples per reading (median taken), and the gap between them. */
  rssSamples: number;
  rssSampleGapMs: number;
  /** Run a round's variants at once, each with its own server and clients (quick only: RSS is a
   *  per-process figure that CPU contention barely moves, so the smoke check fits its minute;
   *  the full run interleaves them one at a time). Parallel variants are not pinned to cores
   *  either: start-ups (4 servers, their clients) then spread over both. */
  parallelVariants: boolean;
}

/** Full: 10k idle connections per variant (BENCHMARKS.md #2), 3 interleaved rounds. 4 client
 *  processes of 2,500: one Node process holds 10k `ws` sockets fine, but socket.io-client
 *  sockets cost several times more on the client side, and 4 processes set up in parallel. */
const FULL: Plan = {
  rounds: 3,
  connections: 10_000,
  warmupConnections: 200,
  rooms: 100,
  perClientProcess: 2_500,
  settleMs: 3_000,
  rssSamples: 5,
  rssSampleGapMs: 200,
  parallelVariants: false,
};
/** --quick: 500 connections, one round — a smoke check, not a claim (fixed costs such as a
 *  young-generation resize weigh twenty times more per connection than in the full run). */
const QUICK: Plan = {
  rounds: 1,
  connections: 500,
  warmupConnections: 50,
  rooms: 50,
  perClientProcess: 500,
  settleMs: 500,
  rssSamples: 3,
  rssSampleGapMs: 100,
  parallelVariants: true,
};

/** Whether processes are pinned (taskset) to the server and generator cores: not when the
 *  variants run at once (quick). */
const pinned = (ctx: BenchContext) => !(ctx.quick ? QUICK : FULL).parallelVariants;

/** Handshakes in flight per client process. */
const CONNECT_CONCURRENCY = 25;
/** Cap on one inspector request (a full GC of a few hundred MiB takes well under a second). */
const INSPECTOR_TIMEOUT_MS = 15_000;
/** After the forced GC, before reading RSS: V8 releases freed pages from a background thread. */
const POST_GC_MS = 300;
/** Cap on one client process setting up its connections (socket.io at 10k is the slow one). */
const CONNECT_TIMEOUT_MS = 90_000;
/** modgate loads TypeScript and its filters at start; allow for a slow first start. */
const READY_TIMEOUT_MS = 20_000;
/** File descriptors a process needs beyond its sockets (node itself, pipes, log files). */
const FD_SLACK = 256;
/** Longest reason quoted in docs/benchmarks.md for an invalid run. */
const MAX_REASON_CHARS = 400;
/** LOST lines a client prints before it only counts. */
const MAX_LOST_LINES = 5;

type VariantName = 'modgate-ws' | 'modgate-sio' | 'bare-uws' | 'bare-socketio';
type ClientKind = 'raw' | 'socketio';

/** What a client process is told to do (JSON in DENSITY_CLIENT). */
interface ClientConfig {
  label: string;
  client: ClientKind;
  /** raw: `ws://127.0.0.1:PORT/ws`; socketio: `http://127.0.0.1:PORT`. */
  url: string;
  /** When set, each connection carries its own HS256 JWT (sub `density-<index>`). */
  jwtSecret?: string | undefined;
  /** Index of the first connection (sub and room numbering continue across processes). */
  first: number;
  count: number;
  rooms: number;
  concurrency: number;
  connectTimeoutMs: number;
  /** The client exits by itself after this long, whatever happens to the harness. */
  holdCapMs: number;
  /** When set, the client starts (Node, tsx, its modules) at once but opens its connections only
   *  once this file exists: its start-up overlaps the warm-up instead of following it. */
  goFile?: string;
}

interface ConnectedReport {
  count: number;
  ms: number;
}

interface Started {
  child: ManagedChild;
  url: string;
  jwtSecret?: string | undefined;
  /** The server's inspector (`--inspect=127.0.0.1:0`), used only to run a full GC before reading RSS. */
  inspector: Inspector;
}

interface Variant {
  name: VariantName;
  client: ClientKind;
  start(ctx: BenchContext, fds: FdPlan, logFile: string): Promise<Started>;
}

/** A variant that cannot start (missing, crashed, never ready) is skipped for the other rounds. */
class Unavailable extends Error {}

interface RssReading {
  /** Sum of VmRSS over the server's process tree, bytes. */
  rss: number;
  /** Sum of RssAnon, bytes. */
  anon: number;
}

interface Measurement {
  baseline: RssReading;
  after: RssReading;
  /** The same two readings before the forced GC: context only (raw data). */
  baselineNoGc: RssReading;
  afterNoGc: RssReading;
  /** Fresh server right after it was ready, before any connection: context only. */
  idle: RssReading;
  /** N: connections added between the two readings. */
  connections: number;
  bytesPerConnection: number;
  anonBytesPerConnection: number;
  /** Wall time to open and join the N measured connections (all client processes). */
  connectMs: number;
}

interface RunRecord {
  variant: VariantName;
  round: number;
  status: 'valid' | 'invalid' | 'unavailable';
  reasons: string[];
  m?: Measurement | undefined;
}

// ---------------------------------------------------------------------------------------------
// File descriptor limits

interface FdPlan {
  soft: number;
  hard: number;
  /** Soft limit each child is started with (raised up to `hard` when ours is too low). */
  childLimit: number;
}

function fdLimits(): { soft: number; hard: number } {
  const parse = (s: string) => (s.trim() === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s.trim()));
  const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).split('\n');
  return { soft: parse(out[0] ?? '0'), hard: parse(out[1] ?? '0') };
}

/** The server holds warm-up + N sockets; a client process at most perClientProcess. */
function planFds(plan: Plan): FdPlan {
  const { soft, hard } = fdLimits();
  const need = plan.warmupConnections + plan.connections + FD_SLACK;
  if (hard < need) {
    throw new Error(
      `the open-files hard limit (ulimit -Hn) is ${hard}, below the ${need} file descriptors the server needs ` +
        `for ${plan.connections} connections; raise it (e.g. in /etc/security/limits.conf) and run again`,
    );
  }
  return { soft, hard, childLimit: Math.max(soft, Math.min(hard, need * 2)) };
}

/** `command args`, through `sh -c 'ulimit -n L; exec ...'` when our soft limit is below L. sh
 *  execs the command, so the pid (and the taskset pinning) carries over. */
function withFdLimit(fds: FdPlan, command: string, args: string[]): { command: string; args: string[] } {
  if (fds.childLimit <= fds.soft) return { command, args };
  return { command: 'sh', args: ['-c', `ulimit -n ${fds.childLimit} && exec "$@"`, 'sh', command, ...args] };
}

// ---------------------------------------------------------------------------------------------
// Servers

/** A clean, single-node modgate: nothing inherited may point it at Redis or another policy. */
function modgateEnv(port: number, jwtSecret: string): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([k]) => k !== 'REDIS_URL' && !k.startsWith('MODGATE_'));
  return {
    ...Object.fromEntries(inherited),
    PORT: String(port),
    HOST: '127.0.0.1',
    MODGATE_JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'warn',
  };
}

async function startModgate(ctx: BenchContext, fds: FdPlan, name: VariantName, logFile: string): Promise<ServerProc & { jwtSecret: string }> {
  if (!existsSync(join(ctx.repoRoot, 'bin/modgate.mjs'))) throw new Unavailable('bin/modgate.mjs does not exist (yet)');
  const port = await findFreePort();
  const jwtSecret = randomBytes(32).toString('hex');
  const server = await startServer(ctx, fds, {
    name,
    args: [join(ctx.repoRoot, 'bin/modgate.mjs'), 'serve'],
    env: modgateEnv(port, jwtSecret),
    port,
    logFile,
  });
  return { ...server, jwtSecret };
}

async function startRelay(ctx: BenchContext, fds: FdPlan, name: VariantName, file: string, logFile: string): Promise<ServerProc> {
  const port = await findFreePort();
  return startServer(ctx, fds, {
    name,
    args: ['--import', 'tsx', join(ctx.repoRoot, 'loadtest/relays', file)],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    port,
    logFile,
  });
}

const VARIANTS: Variant[] = [
  {
    name: 'modgate-ws',
    client: 'raw',
    async start(ctx, fds, logFile) {
      const s = await startModgate(ctx, fds, 'modgate-ws', logFile);
      return { child: s.child, inspector: s.inspector, url: `ws://127.0.0.1:${s.port}/ws`, jwtSecret: s.jwtSecret };
    },
  },
  {
    name: 'modgate-sio',
    client: 'socketio',
    async start(ctx, fds, logFile) {
      const s = await startModgate(ctx, fds, 'modgate-sio', logFile);
      return { child: s.child, inspector: s.inspector, url: `http://127.0.0.1:${s.port}`, jwtSecret: s.jwtSecret };
    },
  },
  {
    name: 'bare-uws',
    client: 'raw',
    async start(ctx, fds, logFile) {
      const s = await startRelay(ctx, fds, 'bare-uws', 'bare-uws.ts', logFile);
      return { child: s.child, inspector: s.inspector, url: `ws://127.0.0.1:${s.port}/ws` };
    },
  },
  {
    name: 'bare-socketio',
    client: 'socketio',
    async start(ctx, fds, logFile) {
      const s = await startRelay(ctx, fds, 'bare-socketio', 'bare-socketio.ts', logFile);
      return { child: s.child, inspector: s.inspector, url: `http://127.0.0.1:${s.port}` };
    },
  },
];

interface ServerProc {
  child: ManagedChild;
  port: number;
  inspector: Inspector;
}

/**
 * Starts `node --inspect=127.0.0.1:0 <args>` pinned to the server CPU; ready on a `READY` line or
 * GET /readyz → 200, and once its inspector is reachable. The inspector (an idle agent thread until
 * a session asks for something, and present in every variant alike) is only used to run a full
 * garbage collection before each RSS reading: without it, whether the garbage of thousands of
 * handshakes happens to be collected before a reading decides the figure (a quick run once saw bare
 * uWS's RSS shrink by 6 MiB while 2,000 connections were added).
 */
async function startServer(
  ctx: BenchContext,
  fds: FdPlan,
  opts: { name: string; args: string[]; env: NodeJS.ProcessEnv; port: number; logFile: string },
): Promise<ServerProc> {
  const cmd = withFdLimit(fds, process.execPath, ['--inspect=127.0.0.1:0', ...opts.args]);
  const child = new ManagedChild({
    name: opts.name,
    command: cmd.command,
    args: cmd.args,
    cwd: ctx.repoRoot,
    env: opts.env,
    cpu: pinned(ctx) ? ctx.cpus.server : undefined,
    logFile: opts.logFile,
  });
  let inspectorUrl: string | undefined;
  child.onLine((line) => {
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
  });
  try {
    await waitReady(child, opts.port, '/readyz', READY_TIMEOUT_MS);
    // Printed at start, before the server loads anything: there by now.
    if (!inspectorUrl) throw new Error(`${opts.name}: no "Debugger listening on ws://..." line from --inspect`);
    return { child, port: opts.port, inspector: await Inspector.connect(inspectorUrl) };
  } catch (err) {
    await child.stop();
    throw new Unavailable((err as Error).message);
  }
}

/**
 * A Chrome DevTools protocol session with a server, for HeapProfiler.collectGarbage only — in the
 * main isolate and in every worker thread's isolate (NodeWorker domain). The workers matter: tsx
 * registers its module hooks, which Node 20 runs on a loader thread (`node:internal/modules/esm/
 * worker`) holding several MiB of transpiler garbage; left alone, V8's memory reducer frees it
 * ~9 s after start (and bare socket.io's again ~18 s), a step of 2–5 MiB in the server's RSS
 * whenever it happens to fall between two readings.
 */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(e: Error): void }>();
  /** Worker sessions (NodeWorker.attachedToWorker), by session id → worker description. */
  readonly workers = new Map<string, string>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (buf) => {
      let msg: { id?: unknown; method?: string; params?: Record<string, unknown>; error?: { message?: string } };
      try {
        msg = JSON.parse(String(buf));
      } catch {
        return;
      }
      if (msg.method === 'NodeWorker.attachedToWorker') {
        const info = msg.params?.workerInfo as { url?: string; title?: string } | undefined;
        this.workers.set(String(msg.params?.sessionId), info?.url || info?.title || 'worker');
      } else if (msg.method === 'NodeWorker.detachedFromWorker') {
        this.workers.delete(String(msg.params?.sessionId));
      } else if (msg.method === 'NodeWorker.receivedMessageFromWorker') {
        // A worker's own protocol traffic, wrapped: its replies carry our (negated) ids.
        try {
          const inner = JSON.parse(String(msg.params?.message)) as { id?: unknown; error?: { message?: string } };
          if (typeof inner.id === 'number') this.settle(-inner.id, inner.error);
        } catch {
          // not JSON: ignore
        }
      } else if (typeof msg.id === 'number') {
        this.settle(msg.id, msg.error);
      }
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector session closed'));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = await new Promise<WebSocket>((res, rej) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: INSPECTOR_TIMEOUT_MS });
      socket.once('open', () => res(socket));
      socket.once('error', (e) => rej(new Error(`inspector ${url}: ${e.message}`)));
    });
    const inspector = new Inspector(ws);
    // Attach to the worker threads that exist (and any started later); they keep running.
    await inspector.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return inspector;
  }

  private settle(key: number, error: { message?: string } | undefined): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (error) p.reject(new Error(`inspector: ${error.message ?? JSON.stringify(error)}`));
    else p.resolve();
  }

  /** Sends a request (to a worker's session when `worker` is given) and waits for its reply.
   *  Worker requests are keyed by the negated id, the main session's by the id itself. */
  private call(method: string, params: object = {}, worker?: string): Promise<void> {
    const id = this.nextId++;
    const key = worker === undefined ? id : -id;
    return new Promise<void>((res, rej) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        rej(new Error(`inspector: ${method} not answered within ${INSPECTOR_TIMEOUT_MS} ms`));
      }, INSPECTOR_TIMEOUT_MS);
      this.pending.set(key, {
        resolve: () => (clearTimeout(timer), res()),
        reject: (e) => (clearTimeout(timer), rej(e)),
      });
      if (worker === undefined) {
        this.ws.send(JSON.stringify({ id, method, params }));
      } else {
        // The wrapper request gets its own id; its (empty) reply is not awaited, the worker's is.
        const message = JSON.stringify({ id, method, params });
        this.ws.send(JSON.stringify({ id: this.nextId++, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: worker, message } }));
      }
    });
  }

  /** A full mark-compact of every isolate in the server (weak callbacks run), main thread last. */
  async collectGarbage(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((w) => this.call('HeapProfiler.collectGarbage', {}, w)));
    await this.call('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// RSS

function readStatusKiB(pid: number): { rss: number; anon: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS'), anon: kib('RssAnon') };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** The server process itself (all its threads). Not its descendants: modgate's tsx starts an
 *  esbuild service process, whose Go heap has nothing to do with connections. */
function processRss(pid: number): RssReading {
  const s = readStatusKiB(pid);
  return s ? { rss: s.rss * 1024, anon: s.anon * 1024 } : { rss: NaN, anon: NaN };
}

/** Full GC in the server (twice: the first one's weak callbacks and finalizers free more for the
 *  second), a moment for freed pages to go back, then the median of `plan.rssSamples` readings,
 *  `plan.rssSampleGapMs` apart. */
async function readRss(pid: number, plan: Plan, inspector: Inspector): Promise<RssReading> {
  await inspector.collectGarbage();
  await inspector.collectGarbage();
  await sleep(POST_GC_MS);
  return sampleRss(pid, plan);
}

async function sampleRss(pid: number, plan: Plan): Promise<RssReading> {
  const readings: RssReading[] = [];
  for (let i = 0; i < plan.rssSamples; i++) {
    if (i) await sleep(plan.rssSampleGapMs);
    readings.push(processRss(pid));
  }
  const median = (xs: number[]) => spread(xs)!.median;
  return { rss: median(readings.map((r) => r.rss)), anon: median(readings.map((r) => r.anon)) };
}

// ---------------------------------------------------------------------------------------------
// Client processes (scenario side)

interface ClientProc {
  child: ManagedChild;
  connected: Promise<ConnectedReport>;
  lost: string[];
  lostCount(): number;
}

function startClientProcess(ctx: BenchContext, fds: FdPlan, cfg: ClientConfig, logFile: string): ClientProc {
  const self = fileURLToPath(import.meta.url);
  const cmd = withFdLimit(fds, process.execPath, ['--import', 'tsx', self]);
  const child = new ManagedChild({
    name: cfg.label,
    command: cmd.command,
    args: cmd.args,
    cwd: ctx.repoRoot,
    env: { ...process.env, [CLIENT_ENV]: JSON.stringify(cfg) },
    cpu: pinned(ctx) ? ctx.cpus.generator : undefined,
    logFile,
  });
  const lost: string[] = [];
  let lostTotal = 0;
  const connected = new Promise<ConnectedReport>((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${cfg.label}: ${cfg.count} connections not up within ${cfg.connectTimeoutMs + 10_000} ms`)),
      cfg.connectTimeoutMs + 10_000,
    );
    child.onLine((line, stream) => {
      if (stream !== 'stdout') return;
      if (line.startsWith(CONNECTED_PREFIX)) {
        clearTimeout(timer);
        resolvePromise(JSON.parse(line.slice(CONNECTED_PREFIX.length)) as ConnectedReport);
      } else if (line.startsWith(FAILED_PREFIX)) {
        clearTimeout(timer);
        reject(new Error(`${cfg.label}: ${line.slice(FAILED_PREFIX.length)}`));
      } else if (line.startsWith(LOST_PREFIX)) {
        lostTotal++;
        if (lost.length < MAX_LOST_LINES) lost.push(line.slice(LOST_PREFIX.length));
      }
    });
    void child.exited.then((st) => {
      clearTimeout(timer);
      reject(new Error(`${cfg.label} exited (${describeExit(st)}) before its connections were up; last output:\n${child.tail()}`));
    });
  });
  connected.catch(() => {}); // observed by the caller; never an unhandled rejection
  return { child, connected, lost, lostCount: () => lostTotal };
}

/** Splits `count` connections starting at `first` into client processes of at most `per`. */
function chunks(first: number, count: number, per: number): { first: number; count: number }[] {
  const n = Math.ceil(count / per);
  const out: { first: number; count: number }[] = [];
  let at = first;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(count / n) + (i < count % n ? 1 : 0);
    out.push({ first: at, count: c });
    at += c;
  }
  return out;
}

async function runOnce(ctx: BenchContext, plan: Plan, fds: FdPlan, variant: Variant, round: number): Promise<RunRecord> {
  const base = join(ctx.tmpDir, `density-${variant.name}-r${round}`);
  let started: Started;
  try {
    started = await variant.start(ctx, fds, `${base}.server.log`);
  } catch (err) {
    const status = err instanceof Unavailable ? 'unavailable' : 'invalid';
    return { variant: variant.name, round, status, reasons: [(err as Error).message] };
  }
  const clients: ClientProc[] = [];
  const pid = started.child.pid;
  const holdCapMs = 2 * CONNECT_TIMEOUT_MS + 4 * plan.settleMs + 60_000;
  const goFile = `${base}.go`;
  rmSync(goFile, { force: true }); // left by an earlier run of the bench
  const clientConfig = (label: string, first: number, count: number, go?: string): ClientConfig => ({
    label,
    client: variant.client,
    url: started.url,
    jwtSecret: started.jwtSecret,
    first,
    count,
    rooms: plan.rooms,
    concurrency: CONNECT_CONCURRENCY,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    holdCapMs,
    ...(go ? { goFile: go } : {}),
  });
  const serverGone = () =>
    started.child.exitStatus
      ? `server exited (${describeExit(started.child.exitStatus)}); last output:\n${started.child.tail()}`
      : undefined;
  try {
    await sleep(plan.settleMs / 2);
    const idle = await readRss(pid, plan, started.inspector);

    const warm = startClientProcess(ctx, fds, clientConfig(`density-client(${variant.name}, warm-up)`, 0, plan.warmupConnections), `${base}.client-warmup.log`);
    clients.push(warm);
    // The measured clients start now and wait for the go file: a client process's own start-up
    // (Node, tsx, its modules; on the generator's core) is not server memory.
    const parts = chunks(plan.warmupConnections, plan.connections, plan.perClientProcess);
    const procs = parts.map((p, i) =>
      startClientProcess(ctx, fds, clientConfig(`density-client(${variant.name}, ${i + 1}/${parts.length})`, p.first, p.count, goFile), `${base}.client-${i + 1}.log`),
    );
    clients.push(...procs);
    await warm.connected;
    await sleep(plan.settleMs);
    const baselineNoGc = await sampleRss(pid, plan);
    const baseline = await readRss(pid, plan, started.inspector);

    const t0 = performance.now();
    writeFileSync(goFile, '');
    const reports = await Promise.all(procs.map((p) => p.connected));
    const connectMs = performance.now() - t0;
    const up = reports.reduce((s, r) => s + r.count, 0);
    await sleep(plan.settleMs);
    const afterNoGc = await sampleRss(pid, plan);
    const after = await readRss(pid, plan, started.inspector);

    const reasons: string[] = [];
    if (up !== plan.connections) reasons.push(`${up} of ${plan.connections} connections came up`);
    const lostTotal = clients.reduce((s, c) => s + c.lostCount(), 0);
    if (lostTotal > 0) {
      reasons.push(`${lostTotal} connections were lost while idle: ${clients.flatMap((c) => c.lost).slice(0, 3).join('; ')}`);
    }
    const gone = serverGone();
    if (gone) reasons.push(gone);
    const deadClient = clients.find((c) => c.child.exitStatus);
    if (deadClient) reasons.push(`${deadClient.child.name} exited (${describeExit(deadClient.child.exitStatus!)}) while holding its connections`);
    const delta = after.rss - baseline.rss;
    if (!(delta > 0)) reasons.push(`RSS did not grow (baseline ${mib(baseline.rss)} MiB, after ${mib(after.rss)} MiB)`);
    const m: Measurement = {
      idle,
      baseline,
      after,
      baselineNoGc,
      afterNoGc,
      connections: plan.connections,
      bytesPerConnection: delta / plan.connections,
      anonBytesPerConnection: (after.anon - baseline.anon) / plan.connections,
      connectMs,
    };
    return { variant: variant.name, round, status: reasons.length ? 'invalid' : 'valid', reasons, m };
  } catch (err) {
    const reasons = [(err as Error).message];
    const gone = serverGone();
    if (gone) reasons.push(gone);
    return { variant: variant.name, round, status: 'invalid', reasons };
  } finally {
    started.inspector.close();
    await Promise.all(clients.map((c) => c.child.stop()));
    await started.child.stop();
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

function describeRun(r: RunRecord): string {
  const head = `round ${r.round} ${r.variant}: ${r.status}`;
  if (r.status === 'valid' && r.m) {
    const m = r.m;
    const noGc = (m.afterNoGc.rss - m.baselineNoGc.rss) / m.connections;
    return (
      `${head} — ${Math.round(m.bytesPerConnection)} B/connection RSS (${Math.round(m.anonBytesPerConnection)} B anon; ` +
      `${Math.round(noGc)} B without the forced GC), RSS ${mib(m.baseline.rss)} → ${mib(m.after.rss)} MiB, ` +
      `connected in ${(m.connectMs / 1000).toFixed(1)} s`
    );
  }
  return `${head} — ${r.reasons.join('; ')}`;
}

// ---------------------------------------------------------------------------------------------
// Summary

interface VariantSummary {
  runs: number;
  valid: RunRecord[];
  bytes?: Spread | undefined;
  anon?: Spread | undefined;
  noGc?: Spread | undefined;
  idleMiB?: Spread | undefined;
  baselineMiB?: Spread | undefined;
  afterMiB?: Spread | undefined;
  connectSec?: Spread | undefined;
}

function summarizeVariant(runs: RunRecord[], name: VariantName): VariantSummary {
  const mine = runs.filter((r) => r.variant === name);
  const valid = mine.filter((r) => r.status === 'valid' && r.m);
  const pick = (f: (m: Measurement) => number) => spread(valid.map((r) => f(r.m!)));
  const toMiB = (b: number) => b / 1024 / 1024;
  return {
    runs: mine.length,
    valid,
    bytes: pick((m) => m.bytesPerConnection),
    anon: pick((m) => m.anonBytesPerConnection),
    noGc: pick((m) => (m.afterNoGc.rss - m.baselineNoGc.rss) / m.connections),
    idleMiB: pick((m) => toMiB(m.idle.rss)),
    baselineMiB: pick((m) => toMiB(m.baseline.rss)),
    afterMiB: pick((m) => toMiB(m.after.rss)),
    connectSec: pick((m) => m.connectMs / 1000),
  };
}

/** a ÷ b of RSS per connection, per round where both ran validly: side by side in time. */
function pairedRatio(runs: RunRecord[], a: VariantName, b: VariantName): Spread | undefined {
  const byRound = (name: VariantName) =>
    new Map(runs.filter((r) => r.variant === name && r.status === 'valid' && r.m).map((r) => [r.round, r.m!.bytesPerConnection]));
  return roundRatios(byRound(a), byRound(b));
}


interface Ratios {
  ws?: Spread | undefined;
  sio?: Spread | undefined;
  sioOverBareSio?: Spread | undefined;
  bareSioOverUws?: Spread | undefined;
}

function buildResult(ctx: BenchContext, plan: Plan, fds: FdPlan, runs: RunRecord[]): ScenarioResult {
  const figures: Figures = {};
  const summaries = new Map<VariantName, VariantSummary>();
  for (const v of VARIANTS) {
    const s = summarizeVariant(runs, v.name);
    summaries.set(v.name, s);
    const f: Record<string, number> = { runs: s.runs, validRuns: s.valid.length, connections: plan.connections };
    addSpread(f, 'bytesPerConnection', s.bytes);
    addSpread(f, 'anonBytesPerConnection', s.anon);
    if (s.noGc) f.bytesPerConnectionWithoutForcedGc = round4(s.noGc.median);
    if (s.idleMiB) f.rssIdleMiB = round4(s.idleMiB.median);
    if (s.baselineMiB) f.rssBaselineMiB = round4(s.baselineMiB.median);
    if (s.afterMiB) f.rssAfterMiB = round4(s.afterMiB.median);
    if (s.connectSec) f.connectSec = round4(s.connectSec.median);
    figures[v.name] = f;
  }
  const r: Ratios = {
    ws: pairedRatio(runs, 'modgate-ws', 'bare-uws'),
    sio: pairedRatio(runs, 'modgate-sio', 'bare-uws'),
    sioOverBareSio: pairedRatio(runs, 'modgate-sio', 'bare-socketio'),
    bareSioOverUws: pairedRatio(runs, 'bare-socketio', 'bare-uws'),
  };
  const ratios: Record<string, number> = {};
  addSpread(ratios, 'modgateWsOverBareUws', r.ws);
  addSpread(ratios, 'modgateSioOverBareUws', r.sio);
  addSpread(ratios, 'modgateSioOverBareSocketio', r.sioOverBareSio);
  addSpread(ratios, 'bareSocketioOverBareUws', r.bareSioOverUws);
  figures.ratios = ratios;

  // The bar holds for modgate, so for each of its doors: the ratio reported is the worse door's.
  const worst = r.ws && r.sio ? (r.sio.median > r.ws.median ? r.sio : r.ws) : undefined;
  const met = worst !== undefined && worst.median <= MAX_MODGATE_OVER_UWS;
  return {
    id: 2,
    name: 'density',
    figures,
    ratio: worst ? round4(worst.median) : null,
    ratioSpread: worst ? [round4(worst.min), round4(worst.max)] : undefined,
    bar: BAR,
    met,
    markdown: renderMarkdown(ctx, plan, fds, runs, summaries, r),
    raw: { plan, fds, runs },
  };
}

function renderMarkdown(
  ctx: BenchContext,
  plan: Plan,
  fds: FdPlan,
  runs: RunRecord[],
  summaries: Map<VariantName, VariantSummary>,
  r: Ratios,
): string {
  const lines: string[] = [];
  const limit = (n: number) => (n >= Number.MAX_SAFE_INTEGER ? 'unlimited' : String(n));
  lines.push(
    `Load: ${plan.connections.toLocaleString('en-US')} idle connections per run, each joined to one of ${plan.rooms} ` +
      `rooms, opened from ${Math.ceil(plan.connections / plan.perClientProcess)} client processes after ` +
      `${plan.warmupConnections} warm-up connections; RSS read ${plan.settleMs / 1000} s after the last connection ` +
      `was up (median of ${plan.rssSamples} samples). ${plan.rounds} round${plan.rounds > 1 ? 's' : ''}, variants ` +
      `interleaved (${VARIANTS.map((v) => v.name).join(', ')}, ...), every run on a fresh server; ${pinned(ctx) ? ctx.cpus.description : 'no process pinned to a core'}. ` +
      `Open files: soft ${limit(fds.soft)}, hard ${limit(fds.hard)}` +
      (fds.childLimit > fds.soft ? `, children started with ${fds.childLimit}` : '') +
      '.' +
      (ctx.quick ? ' **Quick run: 500 connections, one round, the four variants at once (each its own server and clients) — a smoke check, not a claim.**' : ''),
  );
  lines.push('');
  lines.push(
    '| variant | RSS bytes / connection | RssAnon bytes / connection | without forced GC (context) | RSS fresh → baseline → after, MiB | connect s | valid runs |',
  );
  lines.push('|---|---|---|---|---|---|---|');
  for (const v of VARIANTS) {
    const s = summaries.get(v.name)!;
    const path = s.afterMiB ? `${fmt(s.idleMiB!.median, 1)} → ${fmt(s.baselineMiB!.median, 1)} → ${fmt(s.afterMiB.median, 1)}` : '—';
    lines.push(
      `| ${v.name} | ${cell(s.bytes, 0)} | ${cell(s.anon, 0)} | ${cell(s.noGc, 0)} | ${path} | ${s.connectSec ? fmt(s.connectSec.median, 1) : '—'} | ${s.valid.length} / ${s.runs} |`,
    );
  }
  lines.push('');
  lines.push('Median (min–max) over valid runs. Ratios of RSS per connection, taken per round, then median (min–max):');
  lines.push('');
  lines.push('| ratio | value | rounds | bar |');
  lines.push('|---|---|---|---|');
  const verdict = (s: Spread | undefined) => (s ? (s.median <= MAX_MODGATE_OVER_UWS ? 'met' : 'not met') : 'not measured');
  lines.push(`| modgate /ws ÷ bare uWS | ${cell(r.ws)} | ${r.ws?.n ?? 0} | ≤ ${MAX_MODGATE_OVER_UWS}: ${verdict(r.ws)} |`);
  lines.push(`| modgate socket.io ÷ bare uWS | ${cell(r.sio)} | ${r.sio?.n ?? 0} | ≤ ${MAX_MODGATE_OVER_UWS}: ${verdict(r.sio)} |`);
  lines.push(`| modgate socket.io ÷ bare socket.io | ${cell(r.sioOverBareSio)} | ${r.sioOverBareSio?.n ?? 0} | (context) |`);
  lines.push(`| bare socket.io ÷ bare uWS | ${cell(r.bareSioOverUws)} | ${r.bareSioOverUws?.n ?? 0} | (context) |`);
  lines.push('');
  lines.push(
    'RSS = VmRSS of the server process from `/proc/<pid>/status` (not its descendants: the esbuild service tsx starts ' +
      'beside modgate is not connection memory); per connection = ' +
      '(after − baseline) ÷ connections, where the baseline is taken after the warm-up connections, so one-time costs ' +
      'of the first connections (code loaded and compiled on first use) are not spread over the rest. RssAnon is the ' +
      'anonymous part (JS heap, native allocations, stacks). Before each reading the server runs two full garbage ' +
      'collections in every isolate, main thread and worker threads (among them the module-loader thread of tsx), ' +
      'requested through its inspector (every server runs with `--inspect=127.0.0.1:0`; its code is untouched): the ' +
      'figure is what idle connections keep, not how much garbage V8 happened to have collected. ' +
      'The headline ratio is the worse of the two modgate doors against bare uWS (the bar holds for both). A run is ' +
      'invalid if a connection fails to open or join, or is lost while idle, or if a process dies.',
  );
  lines.push(...invalidRunsMarkdown(runs, '.bench-tmp/density-<variant>-r<round>.*.log', MAX_REASON_CHARS));
  return lines.join('\n');
}

const scenario: Scenario = {
  id: 2,
  name: 'density',
  title: 'idle connections: server RSS per connection, modgate (/ws and socket.io) vs bare uWS vs bare socket.io',
  bar: BAR,
  async run(ctx) {
    const plan = ctx.quick ? QUICK : FULL;
    const fds = planFds(plan);
    const runs: RunRecord[] = [];
    const unavailable = new Set<VariantName>();
    const record = (rec: RunRecord): void => {
      if (rec.status === 'unavailable') unavailable.add(rec.variant);
      runs.push(rec);
      ctx.log(`density ${describeRun(rec)}`);
    };
    for (let round = 1; round <= plan.rounds; round++) {
      const variants = VARIANTS.filter((v) => !unavailable.has(v.name));
      if (plan.parallelVariants) {
        for (const rec of await Promise.all(variants.map((v) => runOnce(ctx, plan, fds, v, round)))) record(rec);
      } else {
        for (const variant of variants) record(await runOnce(ctx, plan, fds, variant, round));
      }
    }
    return buildResult(ctx, plan, fds, runs);
  },
};

export default scenario;

// ---------------------------------------------------------------------------------------------
// Client process mode: only when this file is the entry point and DENSITY_CLIENT is set.

const isEntryPoint = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntryPoint && process.env[CLIENT_ENV]) await runClient(JSON.parse(process.env[CLIENT_ENV]) as ClientConfig);

async function runClient(cfg: ClientConfig): Promise<void> {
  const { SignJWT } = await import('jose');
  const { default: WebSocket } = await import('ws');
  const { io } = await import('socket.io-client');
  const closers: (() => void)[] = [];
  let quitting = false;
  let lostLines = 0;
  /** A joined connection went away (during setup or while idle): every loss is one line, which
   *  the harness counts; details only for the first few. */
  const lost = (what: string) => {
    if (quitting) return;
    process.stdout.write(`${LOST_PREFIX}${lostLines++ < MAX_LOST_LINES ? what : '(more)'}\n`);
  };
  const fail = (why: string) => {
    quitting = true;
    process.stdout.write(`${FAILED_PREFIX}${why.replace(/\s+/g, ' ')}\n`);
    process.exit(1);
  };
  const quit = () => {
    quitting = true;
    for (const close of closers) close();
    process.exit(0);
  };
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
  setTimeout(quit, cfg.holdCapMs).unref();
  const key = cfg.jwtSecret ? new TextEncoder().encode(cfg.jwtSecret) : undefined;
  const mint = (i: number) =>
    new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`density-${i}`) // distinct per connection, as real users are
      .setExpirationTime('2h')
      .sign(key!);
  const isOk = (reply: unknown) => (reply as { ok?: unknown } | null)?.ok === true;

  /** Opens one raw connection and joins `room`; resolves once the join is acknowledged. */
  const openRaw = (i: number, room: string, token: string | undefined) =>
    new Promise<void>((res, rej) => {
      const url = token ? `${cfg.url}?token=${encodeURIComponent(token)}` : cfg.url;
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: cfg.connectTimeoutMs });
      let joined = false;
      ws.on('unexpected-response', (req, resp) => {
        rej(new Error(`connection ${i}: handshake refused: HTTP ${resp.statusCode}`));
        req.destroy();
      });
      ws.on('error', (err) => (joined ? lost(`connection ${i}: error: ${err.message}`) : rej(err)));
      ws.on('open', () => ws.send(JSON.stringify({ event: 'room:join', data: { room }, ack: 1 })));
      ws.on('message', (buf) => {
        if (joined) return;
        let frame: { ack?: unknown; data?: unknown };
        try {
          frame = JSON.parse(String(buf));
        } catch {
          return;
        }
        if (frame.ack !== 1) return;
        if (!isOk(frame.data)) return rej(new Error(`connection ${i}: room:join refused: ${JSON.stringify(frame.data)}`));
        joined = true;
        res();
      });
      ws.on('close', (code, why) => {
        if (!joined) rej(new Error(`connection ${i}: closed before joining: ${code} ${String(why)}`));
        else lost(`connection ${i}: closed by the server: ${code} ${String(why)}`.trim());
      });
      closers.push(() => ws.terminate());
    });

  /** Opens one socket.io connection (websocket transport only) and joins `room`. */
  const openSocketio = (i: number, room: string, token: string | undefined) =>
    new Promise<void>((res, rej) => {
      const socket = io(cfg.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true, // one engine.io connection per socket, not one multiplexed connection
        timeout: cfg.connectTimeoutMs,
        auth: token ? { token } : {},
      });
      let joined = false;
      socket.on('connect', () => {
        socket.emit('room:join', { room }, (reply: unknown) => {
          if (!isOk(reply)) return rej(new Error(`connection ${i}: room:join refused: ${JSON.stringify(reply)}`));
          joined = true;
          res();
        });
      });
      socket.on('connect_error', (err: Error & { data?: unknown }) => {
        if (!joined) rej(new Error(`connection ${i}: connect_error: ${err.message} ${JSON.stringify(err.data ?? null)}`));
      });
      socket.on('disconnect', (why) => {
        if (!joined) rej(new Error(`connection ${i}: disconnected before joining: ${why}`));
        else lost(`connection ${i}: disconnected: ${why}`);
      });
      closers.push(() => socket.disconnect());
    });

  const open = cfg.client === 'raw' ? openRaw : openSocketio;
  // No cap here: the client's hold cap ends it whatever happens.
  if (cfg.goFile) await waitForFile(cfg.goFile, cfg.holdCapMs);
  const t0 = performance.now();
  const timer = setTimeout(() => fail(`${cfg.count} connections not up within ${cfg.connectTimeoutMs} ms`), cfg.connectTimeoutMs);
  let next = 0;
  const worker = async () => {
    while (next < cfg.count) {
      const i = cfg.first + next++;
      const token = key ? await mint(i) : undefined;
      await open(i, `density-${i % cfg.rooms}`, token);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.count) }, worker));
  } catch (err) {
    fail((err as Error).message);
  }
  clearTimeout(timer);
  const report: ConnectedReport = { count: cfg.count, ms: Math.round(performance.now() - t0) };
  process.stdout.write(`${CONNECTED_PREFIX}${JSON.stringify(report)}\n`);
  // Hold: the open sockets keep the event loop alive until SIGTERM or the hold cap.
}
