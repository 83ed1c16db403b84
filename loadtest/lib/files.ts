/**
 * Files as signals between the harness and the processes it starts: a process starts up at once
 * and waits for a file the harness writes when it is time to go.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';

const POLL_MS = 10;

/** Resolves true once `path` exists, false after `capMs`. */
export async function waitForFile(path: string, capMs: number): Promise<boolean> {
  const until = Date.now() + capMs;
  while (!existsSync(path)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** Writes `path` whole or not at all (a waiter never reads half a file): a temporary file, renamed. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
