/**
 * CPU time of another process, read from /proc, so it works for any server — including
 * modgate, whose code the harness does not touch.
 *
 * Primary source: /proc/<pid>/task/<tid>/schedstat, whose first field is nanoseconds on CPU for
 * that thread. Summed over every thread of the process and of its descendants, this is what
 * process.cpuUsage() would report (user + system, all threads) but readable from outside and
 * with ns resolution. /proc/<pid>/schedstat alone is NOT enough: it covers the main thread only,
 * and Node does real work on other threads (GC helpers, libuv pool).
 *
 * Blind spot: a thread or child that exits between two readings takes its time with it. The
 * cross-check below (utime + stime from /proc/<pid>/stat, which keeps the time of exited
 * threads and reaped children, but only in clock ticks, usually 10 ms) catches that.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** ns on CPU of `rootPid`, all its threads, and all its descendant processes with their threads. */
export function processTreeCpuNs(rootPid: number): number {
  let total = 0;
  for (const pid of processTree(rootPid)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tids) {
      try {
        const first = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ', 1)[0];
        total += Number(first);
      } catch {
        // thread exited meanwhile
      }
    }
  }
  return total;
}

/**
 * utime + stime + cutime + cstime of `pid` in clock ticks (all threads, plus reaped children).
 * Coarse; used only to cross-check processTreeCpuNs.
 */
export function processCpuTicks(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return NaN;
  // Fields after "(comm)": index 0 is field 3 (state); utime..cstime are fields 14..17.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
}

/** `pid` followed by every live descendant (found through the ppid field of /proc/<n>/stat). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const fields = statFields(pid);
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Fields of /proc/<pid>/stat after the "(comm)" field, which may itself contain spaces. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;
/** `getconf CLK_TCK` (100 on practically every Linux), for converting processCpuTicks. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}
