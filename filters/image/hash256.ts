/**
 * 256-bit hashes (PDQ, blockhash-16) as eight 32-bit words, and their Hamming distance.
 *
 * Word 0 holds the first 8 hex characters of the hash's text form, word 7 the last 8, so that
 * `hash256ToHex(hexToHash256(h)) === h` for any lower-case hex. The Hamming distance does not care
 * about the layout as long as both sides use the same one; the hashers below write bits straight
 * into this layout so their hex equals the reference implementations' hex.
 */

/** A 256-bit hash: 8 × 32-bit words. */
export type Hash256 = Uint32Array;

export const HASH256_BITS = 256;
export const HASH256_WORDS = 8;
export const HASH256_HEX_LENGTH = 64;

const HEX_RE = /^[0-9a-fA-F]{64}$/;

/** True when `s` is 64 hex characters. */
export function isHash256Hex(s: unknown): s is string {
  return typeof s === 'string' && HEX_RE.test(s);
}

/** Parses 64 hex characters; throws a RangeError naming the problem otherwise. */
export function hexToHash256(hex: string): Hash256 {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new RangeError(`a 256-bit hash is 64 hex characters, got ${typeof hex === 'string' ? `${(hex as string).length} characters` : typeof hex}`);
  }
  const out = new Uint32Array(HASH256_WORDS);
  for (let w = 0; w < HASH256_WORDS; w++) out[w] = parseInt(hex.slice(w * 8, w * 8 + 8), 16) >>> 0;
  return out;
}

/** Lower-case hex, 64 characters. `offset` reads a hash stored inside a larger word array. */
export function hash256ToHex(h: Uint32Array, offset = 0): string {
  let s = '';
  for (let w = 0; w < HASH256_WORDS; w++) s += (h[offset + w]! >>> 0).toString(16).padStart(8, '0');
  return s;
}

/** Number of set bits of a 32-bit integer (SWAR; no table, no loop). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Hamming distance between two 256-bit hashes, each possibly stored at a word offset inside a
 * larger array (the index keeps every hash in one flat Uint32Array).
 */
export function hamming256(a: Uint32Array, b: Uint32Array, aOffset = 0, bOffset = 0): number {
  return (
    popcount32(a[aOffset]! ^ b[bOffset]!) +
    popcount32(a[aOffset + 1]! ^ b[bOffset + 1]!) +
    popcount32(a[aOffset + 2]! ^ b[bOffset + 2]!) +
    popcount32(a[aOffset + 3]! ^ b[bOffset + 3]!) +
    popcount32(a[aOffset + 4]! ^ b[bOffset + 4]!) +
    popcount32(a[aOffset + 5]! ^ b[bOffset + 5]!) +
    popcount32(a[aOffset + 6]! ^ b[bOffset + 6]!) +
    popcount32(a[aOffset + 7]! ^ b[bOffset + 7]!)
  );
}

/** Hamming distance between two hashes given as hex. */
export function hammingHex(a: string, b: string): number {
  return hamming256(hexToHash256(a), hexToHash256(b));
}
