/**
 * Worker thread entry: builds matcher tables from a compile spec and transfers the typed arrays
 * back (no copy). One build at a time; the main thread keeps matching with the old tables
 * meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { compileMatcherTables, matcherBuffers, type CompileSpec } from './term-matcher.ts';

export interface BuildRequest {
  id: number;
  spec: CompileSpec;
}

export type BuildReply = { id: number; ok: true; tables: ReturnType<typeof compileMatcherTables> } | { id: number; ok: false; error: string };

if (!parentPort) throw new Error('build-worker.ts runs as a worker thread');
const port = parentPort;
port.on('message', (req: BuildRequest) => {
  let reply: BuildReply;
  try {
    const tables = compileMatcherTables(req.spec);
    port.postMessage({ id: req.id, ok: true, tables } satisfies BuildReply, matcherBuffers(tables));
    return;
  } catch (err) {
    reply = { id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
