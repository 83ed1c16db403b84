import { describe, expect, it } from 'vitest';
import { NormalizedText, normalizeInto, symbolString } from '../../../filters/keyword/normalize.ts';
import { SplitTracker, TAIL_SYMBOLS } from '../../../filters/keyword/split-tracker.ts';

function send(t: SplitTracker, user: string, room: string, id: string, text: string, now: number, nt = new NormalizedText()) {
  const tail = t.load(user, room, now, nt);
  normalizeInto(nt, text, tail > 0);
  const combined = symbolString(nt);
  const earlier = t.messageIdsOf(0, tail);
  t.save(id, now, nt);
  return { tail, combined, earlier };
}

describe('SplitTracker', () => {
  it('puts the recent tail in front of the next message of the same user and room', () => {
    const t = new SplitTracker({ windowMs: 1000 });
    expect(send(t, 'u', 'r', 'm1', 'what the fu', 0).tail).toBe(0);
    expect(send(t, 'u', 'r', 'm2', 'ck', 500)).toEqual({ tail: 9, combined: 'whatthefuck', earlier: ['m1'] });
  });

  it('keeps at most TAIL_SYMBOLS symbols', () => {
    const t = new SplitTracker();
    send(t, 'u', 'r', 'm1', 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', 0);
    expect(send(t, 'u', 'r', 'm2', '!', 1).tail).toBe(TAIL_SYMBOLS);
  });

  it('forgets a tail older than the window', () => {
    const t = new SplitTracker({ windowMs: 1000 });
    send(t, 'u', 'r', 'm1', 'fu', 0);
    const r = send(t, 'u', 'r', 'm2', 'ck', 1001);
    expect(r.tail).toBe(0);
    expect(send(t, 'u', 'r', 'm3', 'x', 1002).earlier).toEqual(['m2']);
  });

  it('is bounded: the least recently used (user, room) loses its tail first', () => {
    const t = new SplitTracker({ maxEntries: 2 });
    send(t, 'a', 'r', 'a1', 'aa', 0);
    send(t, 'b', 'r', 'b1', 'bb', 0);
    send(t, 'a', 'r', 'a2', 'aa', 1); // a is now more recent than b
    send(t, 'c', 'r', 'c1', 'cc', 2); // evicts b
    expect(t.size).toBe(2);
    expect(send(t, 'b', 'r', 'b2', 'x', 3).tail).toBe(0);
    expect(send(t, 'c', 'r', 'c2', 'x', 3).tail).toBeGreaterThan(0);
  });
});
