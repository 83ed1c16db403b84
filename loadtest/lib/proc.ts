/**
 * Child-process plumbing for the bench harness: spawn pinned children, capture their output,
 * wait for readiness, and make sure every child dies with the harness (normal end, error,
 * SIGINT/SIGTERM).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Time a child gets between SIGTERM and SIGKILL. Servers here exit at once on SIGTERM. */
const STOP_GRACE_MS = 2_000;
/** Lines of output kept in memory per child, quoted in error messages. */
const TAIL_LINES = 30;
/** How often readiness is polled over HTTP. */
const READY_POLL_MS = 50;
/** A child's log file stops growing past this, so a chatty server cannot fill the disk. */
const LOG_FILE_CAP_BYTES = 4 * 1024 * 1024;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short label used in messages. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  /** Full environment of the child (not merged with ours). */
  env: NodeJS.ProcessEnv;
  /** CPU to pin the child to with `taskset -c`, when pinning is available. */
  cpu?: number | undefined;
  /** Where to copy the child's stdout and stderr. */
  logFile?: string | undefined;
}

type LineListener = (line: string, stream: 'stdout' | 'stderr') => void;

const live = new Set<ManagedChild>();

export class ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  exitStatus: ExitStatus | undefined;
  private readonly proc: ChildProcess;
  private readonly tailLines: string[] = [];
  private readonly listeners = new Set<LineListener>();
  private log: WriteStream | undefined;
  private logBytes = 0;

  constructor(opts: SpawnOptions) {
    if (shuttingDown) throw new Error(`not starting ${opts.name}: the harness is shutting down`);
    this.name = opts.name;
    const [command, args] = pinned(opts.cpu, opts.command, opts.args);
    // detached: the child leads its own process group, so stop() can kill anything it forked,
    // and a terminal Ctrl-C reaches only us; our signal handlers then stop the children.
    this.proc = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.proc.pid === undefined) {
      // spawn failed synchronously (e.g. ENOENT); the 'error' event carries the reason.
      this.pid = -1;
    } else {
      this.pid = this.proc.pid;
    }
    if (opts.logFile) this.log = createWriteStream(opts.logFile);
    live.add(this);
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.proc.once('error', (err) => {
        this.pushLine(`spawn error: ${err.message}`, 'stderr');
        this.exitStatus ??= { code: null, signal: null };
        live.delete(this);
        resolve(this.exitStatus);
      });
      // 'exit' marks the child dead at once (early-exit checks); 'close' waits for its pipes.
      this.proc.once('exit', (code, signal) => {
        this.exitStatus ??= { code, signal };
      });
      this.proc.once('close', (code, signal) => {
        this.exitStatus ??= { code, signal };
        live.delete(this);
        this.log?.end();
        resolve(this.exitStatus);
      });
    });
    // Always drain both pipes: a child blocked on a full pipe would distort the measurement.
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = this.proc[stream];
      if (!readable) continue;
      createInterface({ input: readable, crlfDelay: Infinity }).on('line', (line) =>
        this.pushLine(line, stream),
      );
    }
  }

  /** Calls `fn` for every output line from now on; returns an unsubscribe function. */
  onLine(fn: LineListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The last lines of output for error messages, without stack frames and blank lines (the
   *  log file has everything). */
  tail(n = 10): string {
    return this.tailLines
      .filter((l) => l.trim() !== '' && !/^\s+at /.test(l) && !/^Node\.js v\d/.test(l))
      .slice(-n)
      .join('\n');
  }

  /** SIGTERM the child's process group, then SIGKILL it if it is still there after a grace. */
  async stop(): Promise<ExitStatus> {
    // Once the leader is gone, only what it forked can be left (holding its pipes open).
    if (!this.exitStatus) signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), STOP_GRACE_MS);
    const status = await this.exited;
    clearTimeout(timer);
    // The leader may exit on SIGTERM while something it forked lingers; the group goes too.
    signalGroup(this.pid, 'SIGKILL');
    return status;
  }

  private pushLine(line: string, stream: 'stdout' | 'stderr'): void {
    this.tailLines.push(line);
    if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
    if (this.log && this.logBytes < LOG_FILE_CAP_BYTES) {
      const text = `[${stream}] ${line}\n`;
      this.logBytes += text.length;
      this.log.write(text);
    }
    for (const fn of this.listeners) fn(line, stream);
  }
}

export function describeExit(st: ExitStatus): string {
  return st.signal ? `signal ${st.signal}` : `code ${st.code}`;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

let handlersInstalled = false;
/** Set on the first signal: from then on no new child may start. */
let shuttingDown = false;

/**
 * Kills the children when the harness ends in any way. Signals stop the children gracefully,
 * then exit; a plain exit (including after an uncaught error) SIGKILLs whatever is left,
 * because nothing asynchronous can run at that point.
 */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAllNow = () => {
    for (const c of live) signalGroup(c.pid, 'SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (shuttingDown) {
      // Second signal: no more patience.
      killAllNow();
      process.exit(code);
    }
    shuttingDown = true;
    process.stderr.write(`\nbench: ${signal}, stopping children...\n`);
    void stopAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('SIGHUP', () => onSignal('SIGHUP', 129));
  process.on('exit', killAllNow);
}

export interface CpuPlan {
  /** CPU for the server under test, or undefined when not pinning. */
  server: number | undefined;
  /** CPU for the load generator, or undefined when not pinning. */
  generator: number | undefined;
  /** Human-readable description for reports. */
  description: string;
}

/** Pins server and generator to the first two CPUs we may run on, when taskset exists. */
export function planCpus(): CpuPlan {
  const cpus = allowedCpus();
  if (!hasTaskset()) {
    return { server: undefined, generator: undefined, description: 'not pinned (taskset not found)' };
  }
  const [server, generator] = cpus;
  if (server === undefined || generator === undefined) {
    return { server: undefined, generator: undefined, description: 'not pinned (fewer than 2 CPUs)' };
  }
  return {
    server,
    generator,
    description: `server pinned to CPU ${server}, load generator to CPU ${generator} (taskset)`,
  };
}

let tasksetPresent: boolean | undefined;
function hasTaskset(): boolean {
  if (tasksetPresent === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      tasksetPresent = true;
    } catch {
      tasksetPresent = false;
    }
  }
  return tasksetPresent;
}

function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  // taskset execs the command, so the child's pid is the pinned program's own pid.
  if (cpu === undefined || !hasTaskset()) return [command, args];
  return ['taskset', ['-c', String(cpu), command, ...args]];
}

/**
 * Pins a running process, every thread it has, to `cpus` (one CPU or a taskset list such as
 * "0,1"; threads it starts later inherit it).
 * For servers that may start up on any core and are pinned before anything is measured.
 */
export function pinNow(pid: number, cpus: number | string | undefined): void {
  if (cpus === undefined || !hasTaskset()) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(cpus), String(pid)], { stdio: 'ignore' });
}

/**
 * Runs `fn` with this process (every thread) pinned to `cpu`, then gives it back every CPU it
 * had: the harness's own work (timers, GC, log handling) then stays off the server's core while
 * a server is measured there.
 */
export async function whilePinned<T>(cpu: number | undefined, fn: () => Promise<T>): Promise<T> {
  const all = allowedCpus();
  if (cpu === undefined || !hasTaskset() || all.length === 0) return fn();
  pinNow(process.pid, String(cpu));
  try {
    return await fn();
  } finally {
    pinNow(process.pid, all.join(','));
  }
}

/** CPUs this process may run on (Cpus_allowed_list, e.g. "0-1,4"), in order. */
export function allowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim();
    if (!list) return [];
    const out: number[] = [];
    for (const part of list.split(',')) {
      const [a, b] = part.split('-').map(Number);
      if (a === undefined || Number.isNaN(a)) continue;
      for (let c = a; c <= (b ?? a); c++) out.push(c);
    }
    return out;
  } catch {
    return [];
  }
}

/** A port that was free a moment ago on 127.0.0.1 (for servers that must be told their port). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Waits until the child prints a line starting with `READY` or `GET http://127.0.0.1:<port><path>`
 * answers 200, whichever comes first. Throws if the child exits or the timeout passes.
 */
export async function waitReady(
  child: ManagedChild,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let sawReadyLine = false;
  const off = child.onLine((line) => {
    if (/^READY\b/.test(line)) sawReadyLine = true;
  });
  let last = 'no answer';
  try {
    while (!sawReadyLine) {
      if (child.exitStatus) {
        throw new Error(
          `${child.name} exited (${describeExit(child.exitStatus)}) before it was ready; last output:\n${child.tail()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`${child.name} not ready within ${timeoutMs} ms (GET ${path}: ${last})`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(READY_POLL_MS);
    }
  } finally {
    off();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A private redis-server for a scenario (no persistence, 127.0.0.1 only), on the load
 * generator's CPU; `logName` names its log in ctx.tmpDir. Resolves once it answers PING.
 */
export async function startRedisServer(ctx: { repoRoot: string; tmpDir: string; cpus: CpuPlan }, logName: string): Promise<{ child: ManagedChild; port: number }> {
  const port = await findFreePort();
  const child = new ManagedChild({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    cwd: ctx.repoRoot,
    env: { PATH: process.env.PATH ?? '' },
    cpu: ctx.cpus.generator,
    logFile: join(ctx.tmpDir, logName),
  });
  try {
    await waitRedisPing(port, { gone: () => (child.exitStatus ? child.tail() : undefined) });
  } catch (e) {
    await child.stop();
    throw e;
  }
  return { child, port };
}

/**
 * Resolves once a redis-server on 127.0.0.1:`port` answers PING; rejects after `deadlineMs`, or
 * at once when `gone()` says the process is no longer there (its reason). Shared with the test
 * helper (test/helpers/redis-server.ts).
 */
export async function waitRedisPing(port: number, opts: { deadlineMs?: number; gone?: () => string | undefined } = {}): Promise<void> {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const until = Date.now() + deadlineMs;
  for (;;) {
    const why = opts.gone?.();
    if (why) throw new Error(`redis-server exited before it was ready:\n${why}`);
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      if (Date.now() > until) throw new Error(`redis-server on ${port} not ready within ${deadlineMs / 1000} s`);
      await sleep(50);
    }
  }
}

/**
 * The markdown list of a scenario's invalid or unavailable runs, one line each (output tails
 * collapsed, long reasons cut), or nothing when every run was valid. `logs` names where the full
 * output is.
 */
export function invalidRunsMarkdown(runs: readonly { round: number; variant: string; status: string; reasons: string[] }[], logs: string, maxChars = 400): string[] {
  const bad = runs.filter((x) => x.status !== 'valid');
  if (!bad.length) return [];
  const lines = ['', `Invalid or unavailable runs (full output in \`${logs}\`):`];
  for (const x of bad) {
    let why = x.reasons.join('; ').replace(/\s+/g, ' ').trim();
    if (why.length > maxChars) why = `${why.slice(0, maxChars)}…`;
    lines.push(`- round ${x.round} ${x.variant}: ${x.status} — ${why}`);
  }
  return lines;
}
