import { describe, expect, it } from 'vitest';
import { MAX_TAIL_MESSAGES, MESSAGE_JOINER, SplitTracker, TAIL_TEXT_CHARS } from '../../../filters/keyword/split-tracker.ts';

/** One message through the tracker: lookup, then save with a fake automaton state. */
function send(t: SplitTracker, user: string, room: string, id: string, text: string, now: number, state = 0, owner = 1) {
  const slot = t.lookup(user, room, now);
  const before = slot >= 0 ? { tail: t.tailOf(slot), state: t.stateOf(slot, 0, owner), lastCode: t.lastCodeOf(slot) } : undefined;
  t.save(id, text, now, state, owner, 0, 0, text.length ? text.charCodeAt(text.length - 1) : -1, text.length ? 1 : 0, text.length);
  return before;
}

describe('SplitTracker', () => {
  it('remembers the recent messages, the automaton state and the last letter of (user, room)', () => {
    const t = new SplitTracker({ windowMs: 1000 });
    expect(send(t, 'u', 'r', 'm1', 'what the fu', 0, 42)).toBeUndefined();
    expect(send(t, 'u', 'r', 'm2', 'ck', 500, 7)).toEqual({
      tail: { text: `what the fu${MESSAGE_JOINER}`, starts: [0], ids: ['m1'] },
      state: 42,
      lastCode: 'u'.charCodeAt(0),
    });
    expect(send(t, 'u', 'r', 'm3', '!', 600)!.tail).toEqual({ text: `what the fu${MESSAGE_JOINER}ck${MESSAGE_JOINER}`, starts: [0, 12], ids: ['m1', 'm2'] });
  });

  it('remembers where words start at the end of the recent text, across chained messages', () => {
    const t = new SplitTracker();
    // "f", then "u": one symbol each, each a word start (bit 0 of its own mask).
    send(t, 'u', 'r', 'm1', 'f', 0);
    send(t, 'u', 'r', 'm2', 'u', 1);
    expect(t.startsOf(t.lookup('u', 'r', 2))).toBe(0b11);
  });

  it('knows a state only for the matcher that produced it', () => {
    const t = new SplitTracker();
    send(t, 'u', 'r', 'm1', 'x', 0, 5, 11);
    const slot = t.lookup('u', 'r', 1);
    expect(t.stateOf(slot, 0, 11)).toBe(5);
    expect(t.stateOf(slot, 0, 12)).toBe(-1);
  });

  it('keeps users and rooms apart, and forgets a tail older than the window', () => {
    const t = new SplitTracker({ windowMs: 1000 });
    send(t, 'u', 'r', 'm1', 'fu', 0);
    expect(send(t, 'v', 'r', 'm2', 'ck', 10)).toBeUndefined();
    expect(send(t, 'u', 'q', 'm3', 'ck', 10)).toBeUndefined();
    expect(send(t, 'u', 'r', 'm4', 'ck', 1001)).toBeUndefined();
    expect(send(t, 'u', 'r', 'm5', 'x', 1002)!.tail.ids).toEqual(['m4']);
  });

  it(`keeps at most ${MAX_TAIL_MESSAGES} messages and about ${TAIL_TEXT_CHARS} characters per (user, room)`, () => {
    const t = new SplitTracker();
    for (let i = 0; i < 20; i++) send(t, 'u', 'r', `m${i}`, 'ab', i);
    expect(send(t, 'u', 'r', 'last', 'x', 30)!.tail.ids).toHaveLength(MAX_TAIL_MESSAGES);
    send(t, 'v', 'r', 'long', 'y'.repeat(10_000), 0);
    expect(send(t, 'v', 'r', 'next', 'x', 1)!.tail.text.length).toBe(TAIL_TEXT_CHARS);
  });

  it('is bounded: the least recently used (user, room) loses its slot first', () => {
    const t = new SplitTracker({ maxEntries: 2 });
    send(t, 'a', 'r', 'a1', 'aa', 0);
    send(t, 'b', 'r', 'b1', 'bb', 0);
    send(t, 'a', 'r', 'a2', 'aa', 1); // a is now more recent than b
    send(t, 'c', 'r', 'c1', 'cc', 2); // evicts b
    expect(t.size).toBe(2);
    expect(send(t, 'b', 'r', 'b2', 'x', 3)).toBeUndefined();
    expect(send(t, 'a', 'r', 'a3', 'x', 3)).toBeUndefined(); // b2 evicted a (c was more recent)
    expect(send(t, 'b', 'r', 'b3', 'x', 4)!.tail.ids).toEqual(['b2']);
  });
});
