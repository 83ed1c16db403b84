/**
 * Pixel loops written as generators that `yield` every few rows, and two ways to run them:
 * to the end at once (pure, synchronous: tests, tools, livestream frames already off the hot path),
 * or in slices that give the event loop a turn whenever a slice has run for SLICE_MS.
 *
 * Why: on the machines we measured, the JS part of hashing one ≤ 512×512 image (luminance, PDQ's
 * blur passes, blockhash's downscale) takes 2–4 ms. Run in one go, 50 images/s would add that much
 * to the p99 event-loop delay of every chat message on the node; in slices the loop waits at most
 * about SLICE_MS for an image (BENCHMARKS.md #5 holds that to ≤ 2 ms of growth).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A unit of sliced work: yields between steps, returns its result. */
export type Steps<T> = Generator<void, T, void>;

/**
 * Longest stretch of pixel work before the event loop gets a turn. Half a millisecond keeps the
 * loop-delay growth well inside the 2 ms bar while costing one setImmediate (~µs) per slice.
 */
export const SLICE_MS = 0.5;

/** Runs the steps to the end, synchronously. */
export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The error an aborted run rejects with (the signal's reason when it is an Error). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('image hashing aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * Runs the steps, yielding to the event loop (setImmediate: after pending I/O) whenever a slice
 * has taken `sliceMs`; stops with the abort error at the next step once `signal` is aborted.
 */
export async function runSliced<T>(steps: Steps<T>, signal?: AbortSignal, sliceMs = SLICE_MS): Promise<T> {
  let start = performance.now();
  for (;;) {
    if (signal?.aborted) {
      steps.return(undefined as never);
      throw abortError(signal);
    }
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= sliceMs) {
      await nextTurn();
      start = performance.now();
    }
  }
}
