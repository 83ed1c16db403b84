import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hamming256, hammingHex, hash256ToHex, hexToHash256, isHash256Hex, popcount32 } from '../../../filters/image/hash256.ts';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('hash256', () => {
  it('hex round-trips, lower-casing', () => {
    fc.assert(
      fc.property(hex64, (h) => {
        expect(hash256ToHex(hexToHash256(h))).toBe(h);
      }),
    );
    expect(hash256ToHex(hexToHash256('AB'.repeat(32)))).toBe('ab'.repeat(32));
  });

  it.each([['', 'empty'], ['0'.repeat(63), 'short'], ['0'.repeat(65), 'long'], ['g'.repeat(64), 'not hex']])('refuses %j (%s)', (s) => {
    expect(isHash256Hex(s)).toBe(false);
    expect(() => hexToHash256(s)).toThrow(RangeError);
  });

  it('popcount32 counts bits of any 32-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
        expect(popcount32(x)).toBe(x.toString(2).split('1').length - 1);
      }),
    );
  });

  it('hamming256 equals the count of differing hex bits, and is a metric', () => {
    const naive = (a: string, b: string) => [...a].reduce((n, c, i) => n + popcount32(parseInt(c, 16) ^ parseInt(b[i]!, 16)), 0);
    fc.assert(
      fc.property(hex64, hex64, hex64, (a, b, c) => {
        expect(hammingHex(a, b)).toBe(naive(a, b));
        expect(hammingHex(a, a)).toBe(0);
        expect(hammingHex(a, b)).toBe(hammingHex(b, a));
        expect(hammingHex(a, c)).toBeLessThanOrEqual(hammingHex(a, b) + hammingHex(b, c));
      }),
    );
    expect(hammingHex('0'.repeat(64), 'f'.repeat(64))).toBe(256);
  });

  it('reads hashes stored at a word offset', () => {
    const a = hexToHash256('12'.repeat(32));
    const flat = new Uint32Array(24);
    flat.set(a, 8);
    expect(hamming256(flat, a, 8, 0)).toBe(0);
    expect(hash256ToHex(flat, 8)).toBe('12'.repeat(32));
  });
});
