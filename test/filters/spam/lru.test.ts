import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ItemLru, Lru } from '../../../filters/spam/lru.ts';

describe('Lru', () => {
  it('never holds more than its capacity (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 200 })), { maxLength: 500 }), (cap, ops) => {
        const lru = new Lru<number, number>(cap);
        for (const [write, k] of ops) {
          if (write) lru.set(k, k);
          else lru.get(k);
          expect(lru.size).toBeLessThanOrEqual(cap);
        }
      }),
    );
  });

  it('keeps entries that are used, evicts those that are not', () => {
    const lru = new Lru<string, number>(16);
    lru.set('hot', 1);
    for (let i = 0; i < 1000; i++) {
      lru.set(`k${i}`, i);
      expect(lru.get('hot')).toBe(1); // touched every round: never evicted
    }
    expect(lru.get('k0')).toBeUndefined();
    expect(lru.get('k999')).toBe(999);
    expect(lru.evicted).toBe(1000 + 1 - lru.size);
  });

  it('keeps a working set that fits, however it is cycled', () => {
    const lru = new Lru<number, number>(100);
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 90; k++) {
        if (lru.get(k) === undefined) lru.set(k, k);
      }
    }
    expect(lru.evicted).toBe(0);
  });

  it('peek does not refresh; set overwrites; delete removes', () => {
    const lru = new Lru<string, number>(4);
    lru.set('a', 1);
    lru.set('a', 2);
    expect(lru.peek('a')).toBe(2);
    expect(lru.delete('a')).toBe(true);
    expect(lru.get('a')).toBeUndefined();
    expect(() => new Lru(1)).toThrow(RangeError);
  });

  it('ItemLru: the same eviction with the flag on the value', () => {
    const lru = new ItemLru<string, { lruUsed: boolean; n: number }>(16);
    lru.add('hot', { lruUsed: false, n: 0 });
    for (let i = 0; i < 1000; i++) {
      lru.add(`k${i}`, { lruUsed: false, n: i });
      expect(lru.get('hot')?.n).toBe(0);
      expect(lru.size).toBeLessThanOrEqual(16);
    }
    expect(lru.get('k0')).toBeUndefined();
    expect(lru.evicted).toBe(1001 - lru.size);
  });
});
