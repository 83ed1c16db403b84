/**
 * A hash worker that misbehaves on purpose (started by hash-pool.test.ts through the pool's
 * `entry` option). Images whose bytes start with a marker trigger it; every other image goes
 * through the real job (runHashJob):
 *   CRASH  an uncaught exception in the worker (it dies);
 *   HANG   a loop that never yields (only terminate() stops it);
 *   THROW  the job rejects with an ordinary error (the worker lives on).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runHashJob, serveHashJobs, type HashWorkerData } from '../../../filters/image/hash-job.ts';

const marker = (bytes: Uint8Array, m: string) => Buffer.from(bytes.subarray(0, m.length)).toString('latin1') === m;

if (!parentPort) throw new Error('misbehaving-hash-worker.ts runs as a worker thread');
serveHashJobs(parentPort, workerData as HashWorkerData, async (req, ctx) => {
  if (marker(req.bytes, 'CRASH')) {
    setImmediate(() => {
      throw new Error('hash worker crashed on purpose');
    });
    return new Promise(() => {});
  }
  if (marker(req.bytes, 'HANG')) {
    for (;;) {
      // never answers, never yields
    }
  }
  if (marker(req.bytes, 'THROW')) throw new Error('hash job failed on purpose');
  return runHashJob(req, ctx);
});
