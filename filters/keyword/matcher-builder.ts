/**
 * Builds matcher tables off the event loop, in one long-lived worker thread.
 *
 * The worker is started at the first build (or by `warm()`): loading it costs ~250 ms of the
 * worker's time (TypeScript through tsx), once. Builds queue in the worker and come back as
 * transferred typed arrays, so the main thread pays only for assembling the request (one joined
 * string and three small arrays) and for wrapping the result — no table is copied or built here.
 * A crashed worker fails its pending builds and is replaced at the next one.
 */
import { Worker } from 'node:worker_threads';
import type { BuildReply, BuildRequest } from './build-worker.ts';
import { compileMatcherTables, type CompileSpec, type MatcherTables } from './term-matcher.ts';

interface Pending {
  resolve: (t: MatcherTables) => void;
  reject: (e: Error) => void;
}

/** The worker runs the .ts sources through tsx, as bin/modgate.mjs does for the main thread. */
function startWorker(): Worker {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const entry = new URL(`./build-worker${ext}`, here).href;
  if (ext === '.js') return new Worker(new URL(entry));
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

export class MatcherBuilder {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /** With `inWorker: false` builds run in this thread (tests, tiny lists): they block the loop. */
  constructor(private readonly inWorker = true) {}

  /** Starts the worker now, so that the first real build does not wait for it to load. */
  warm(): void {
    if (this.inWorker && !this.closed) this.ensureWorker();
  }

  build(spec: CompileSpec): Promise<MatcherTables> {
    if (this.closed) return Promise.reject(new Error('matcher builder is closed'));
    if (!this.inWorker) {
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(compileMatcherTables(spec));
          } catch (err) {
            reject(err as Error);
          }
        }),
      );
    }
    const worker = this.ensureWorker();
    const id = ++this.seq;
    return new Promise<MatcherTables>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      const req: BuildRequest = { id, spec };
      worker.postMessage(req, [spec.modes.buffer as ArrayBuffer, spec.allow.buffer as ArrayBuffer, spec.ranks.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('matcher builder is closed'));
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker();
    w.unref();
    w.on('message', (reply: BuildReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply.tables);
      else p.reject(new Error(`matcher build failed in the worker: ${reply.error}`));
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failAll(new Error(`matcher build worker ${why}`));
    };
    w.on('error', (err) => {
      lost(`failed: ${err.message}`);
      void w.terminate();
    });
    w.on('exit', (code) => lost(`exited (${code})`));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
