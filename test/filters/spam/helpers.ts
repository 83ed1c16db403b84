/** Shared set-up for the spam filter tests: an injected clock, room settings, hook recorders. */
import type { FilterContext, PipelineMessage, Verdict } from '../../../filters/pipeline.ts';
import { createSpamFilter, type RoomSpamSettings, type SpamFilterOptions } from '../../../filters/spam/spam-filter.ts';
import type { CoordinatedGroup, SpamFinding } from '../../../filters/spam/types.ts';

export const CTX: FilterContext = { deadlineMs: 2, get signal() { return new AbortController().signal; } };

/** A fixed start: far from 0 so that "never sent" (tat 0) and "sent at t" differ. */
export const T0 = 1_700_000_000_000;

export interface Harness {
  spam: ReturnType<typeof createSpamFilter>;
  rooms: Map<string, RoomSpamSettings>;
  exempt: Set<string>;
  violations: { userId: string; finding: SpamFinding }[];
  groups: CoordinatedGroup[];
  clock: { t: number };
  advance(ms: number): void;
  /** Sends a text (or an image when `text` is undefined) and returns the verdict. */
  send(userId: string, text?: string, room?: string): Verdict;
  lastId(): string;
}

export function harness(o: Partial<SpamFilterOptions> = {}, clock: { t: number } = { t: T0 }): Harness {
  const rooms = new Map<string, RoomSpamSettings>();
  const exempt = new Set<string>();
  const violations: Harness['violations'] = [];
  const groups: CoordinatedGroup[] = [];
  const spam = createSpamFilter({
    nodeId: 'node-a',
    roomSettings: (r) => rooms.get(r),
    isExempt: (u) => exempt.has(u),
    now: () => clock.t,
    onViolation: (userId, finding) => violations.push({ userId, finding }),
    onGroup: (g) => groups.push(g),
    ...o,
  });
  let seq = 0;
  const prefix = o.nodeId ?? 'node-a';
  return {
    spam,
    rooms,
    exempt,
    violations,
    groups,
    clock,
    advance: (ms) => {
      clock.t += ms;
    },
    send(userId, text, room = 'lobby') {
      const msg: PipelineMessage =
        text === undefined ? { kind: 'image', id: `${prefix}-m${++seq}`, room, userId, image: new Uint8Array(4) } : { kind: 'text', id: `${prefix}-m${++seq}`, room, userId, text };
      const v = spam.filter.check(msg, CTX);
      if (v instanceof Promise) throw new Error('the spam filter must be synchronous');
      return v;
    },
    lastId: () => `${prefix}-m${seq}`,
  };
}

/** The PROTOCOL.md error code of a verdict, or 'pass'. */
export function outcome(v: Verdict): string {
  if (v.action === 'pass') return 'pass';
  const e = v.error!;
  return e.code === 'blocked' ? `blocked:${String(e.policy)}` : e.code;
}
