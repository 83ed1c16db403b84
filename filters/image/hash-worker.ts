/**
 * Worker thread entry for the image hash pool (hash-pool.ts): decodes and hashes images sent by
 * the event loop, answers with their hashes (hash-job.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveHashJobs, type HashWorkerData } from './hash-job.ts';

if (!parentPort) throw new Error('hash-worker.ts runs as a worker thread');
serveHashJobs(parentPort, workerData as HashWorkerData);
