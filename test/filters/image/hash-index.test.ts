import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH256_WORDS, hamming256, type Hash256 } from '../../../filters/image/hash256.ts';
import { DELTA_COMPACT_AT, HashIndex, type ChunkBits } from '../../../filters/image/hash-index.ts';

const hashArb = fc.uint32Array({ minLength: HASH256_WORDS, maxLength: HASH256_WORDS });

/** `h` with `bits` distinct bit positions flipped. */
function flip(h: Hash256, bits: readonly number[]): Hash256 {
  const c = h.slice();
  for (const b of new Set(bits)) c[b >> 5]! ^= 1 << (b & 31);
  return c;
}

/** Brute force over a plain list: what the index must return. */
function bruteForce(live: Map<number, Hash256>, q: Hash256, r: number) {
  return [...live]
    .map(([id, h]) => ({ id, distance: hamming256(h, q) }))
    .filter((m) => m.distance <= r)
    .sort((a, b) => a.distance - b.distance || a.id - b.id);
}

type Op = { kind: 'add'; hash: Hash256 } | { kind: 'near'; of: number; bits: number[] } | { kind: 'remove'; which: number } | { kind: 'compact' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: hashArb.map((hash) => ({ kind: 'add' as const, hash })) },
  // Near neighbours: the interesting case for a radius query (within and just past 31 bits).
  { weight: 5, arbitrary: fc.record({ of: fc.nat(), bits: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }) }).map((o) => ({ kind: 'near' as const, ...o })) },
  { weight: 2, arbitrary: fc.nat().map((which) => ({ kind: 'remove' as const, which })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
);

describe.each([16, 8] as ChunkBits[])('HashIndex with %i-bit chunks', (chunkBits) => {
  it('has 100% recall against brute force, through adds, removes and compactions (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), fc.array(fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 45 })), { minLength: 1, maxLength: 10 }), fc.integer({ min: 0, max: 64 }), (ops, queries, r) => {
        const index = new HashIndex({ chunkBits, initialCapacity: 16, scanFallback: false });
        const live = new Map<number, Hash256>();
        const all: Hash256[] = [];
        for (const op of ops) {
          if (op.kind === 'add' || op.kind === 'near') {
            const h = op.kind === 'add' ? op.hash : flip(all.length ? all[op.of % all.length]! : new Uint32Array(8), op.bits);
            const id = index.add(h);
            expect(live.has(id)).toBe(false);
            live.set(id, h);
            all.push(h);
          } else if (op.kind === 'remove' && live.size) {
            const id = [...live.keys()][op.which % live.size]!;
            expect(index.remove(id)).toBe(true);
            expect(index.remove(id)).toBe(false);
            live.delete(id);
          } else if (op.kind === 'compact') {
            index.compact();
          }
        }
        expect(index.size).toBe(live.size);
        for (const [of, bits] of queries) {
          const q = flip(all.length ? all[of % all.length]! : new Uint32Array(8), bits);
          const expected = bruteForce(live, q, r);
          expect(index.query(q, r)).toEqual(expected);
          expect(index.scan(q, r)).toEqual(expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('finds a planted neighbour at exactly 31 bits among many random hashes', () => {
    const index = new HashIndex({ chunkBits });
    fc.assert(
      fc.property(fc.array(hashArb, { minLength: 200, maxLength: 200 }), hashArb, fc.shuffledSubarray([...Array(256).keys()], { minLength: 31, maxLength: 31 }), (noise, target, bits) => {
        index.clear();
        index.addMany(noise);
        const id = index.add(target);
        const hits = index.query(flip(target, bits), 31);
        expect(hits.find((m) => m.id === id)).toEqual({ id, distance: 31 });
        expect(index.query(flip(target, bits), 30).find((m) => m.id === id)).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });
});

describe('HashIndex', () => {
  it('keeps duplicates as distinct ids and removes them one at a time', () => {
    const index = new HashIndex();
    const h = new Uint32Array(8).fill(0xdeadbeef);
    const ids = [index.add(h), index.add(h), index.add(h)];
    expect(new Set(ids).size).toBe(3);
    expect(index.query(h, 0).map((m) => m.id)).toEqual(ids);
    index.remove(ids[1]!);
    expect(index.query(h, 0).map((m) => m.id)).toEqual([ids[0], ids[2]]);
    index.compact();
    index.remove(ids[0]!);
    expect(index.query(h, 0).map((m) => m.id)).toEqual([ids[2]]);
    expect(index.get(ids[2]!)).toEqual(h);
    expect(index.get(ids[0]!)).toBeUndefined();
  });

  it('reuses freed ids only for new hashes, never returning a removed one', () => {
    const index = new HashIndex();
    const a = index.add(new Uint32Array(8).fill(1));
    index.remove(a);
    const b = index.add(new Uint32Array(8).fill(2));
    expect(index.query(new Uint32Array(8).fill(1), 0)).toEqual([]);
    expect(index.query(new Uint32Array(8).fill(2), 0)).toEqual([{ id: b, distance: 0 }]);
  });

  it('compacts by itself once the delta is large, and bulk-loads in one compaction', () => {
    const index = new HashIndex({ initialCapacity: 16 });
    const hashes = Array.from({ length: DELTA_COMPACT_AT + 10 }, (_, i) => new Uint32Array([i, i * 7, 3, 4, 5, 6, 7, i]));
    for (const h of hashes.slice(0, DELTA_COMPACT_AT)) index.add(h);
    expect(index.pending).toBe(0);
    for (const h of hashes.slice(DELTA_COMPACT_AT)) index.add(h);
    expect(index.pending).toBe(10);
    const bulk = new HashIndex();
    const ids = bulk.addMany(hashes);
    expect(bulk.pending).toBe(0);
    expect(bulk.size).toBe(hashes.length);
    expect(bulk.query(hashes[12345]!, 0)).toEqual([{ id: ids[12345], distance: 0 }]);
  });

  it('many identical hashes (a crowded bucket) are all found and all removable', () => {
    const index = new HashIndex();
    const h = new Uint32Array(8);
    const ids = index.addMany(Array.from({ length: 3000 }, () => h));
    for (let i = 0; i < 100; i++) index.add(h);
    expect(index.query(h, 5)).toHaveLength(3100);
    for (const id of ids) index.remove(id);
    expect(index.query(h, 5)).toHaveLength(100);
  });

  it('validates its inputs', () => {
    const index = new HashIndex();
    expect(() => index.add(new Uint32Array(7))).toThrow(RangeError);
    expect(() => index.query(new Uint32Array(8), -1)).toThrow(RangeError);
    expect(() => index.query(new Uint32Array(8), 1.5)).toThrow(RangeError);
    expect(() => new HashIndex({ chunkBits: 12 as ChunkBits })).toThrow(RangeError);
    expect(index.remove(99)).toBe(false);
    expect(index.query(new Uint32Array(8), 31)).toEqual([]);
  });
});
