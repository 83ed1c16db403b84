/**
 * A deliberately naive PDQ, transcribed step by step from the reference's structure (full-image
 * X, Y, X, Y box passes in float32 with the reference's four phases, centre decimation, the DCT
 * as two matrix products, Torben-style median = 128th smallest). Test-only: pdq.ts computes the
 * same numbers a cheaper way, and the tests hold it to this.
 */
const box1d = (src: Float32Array, dst: Float32Array, start: number, length: number, stride: number, window: number) => {
  const half = Math.floor((window + 2) / 2);
  const p1 = half - 1;
  const p2 = window - half + 1;
  const p3 = length - window;
  const p4 = half - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let size = 0;
  for (let i = 0; i < p1; i++, ri += stride) (sum += src[ri]!), size++;
  for (let i = 0; i < p2; i++, ri += stride, oi += stride) {
    sum += src[ri]!;
    size++;
    dst[oi] = sum / size;
  }
  for (let i = 0; i < p3; i++, li += stride, ri += stride, oi += stride) {
    sum += src[ri]!;
    sum -= src[li]!;
    dst[oi] = sum / size;
  }
  for (let i = 0; i < p4; i++, li += stride, oi += stride) {
    sum -= src[li]!;
    size--;
    dst[oi] = sum / size;
  }
};

export function referencePdq(luma: Float32Array, w: number, h: number): { bits: number[]; quality: number } {
  const a = Float32Array.from(luma);
  const b = new Float32Array(w * h);
  const win = (n: number) => Math.floor((n + 127) / 128);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < h; y++) box1d(a, b, y * w, w, 1, win(w));
    for (let x = 0; x < w; x++) box1d(b, a, x, h, w, win(h));
  }
  const d64: number[][] = [];
  for (let i = 0; i < 64; i++) {
    d64.push([]);
    const yi = Math.floor(((i + 0.5) * h) / 64);
    for (let j = 0; j < 64; j++) d64[i]!.push(a[yi * w + Math.floor(((j + 0.5) * w) / 64)]!);
  }
  let g = 0;
  for (let i = 0; i < 63; i++) for (let j = 0; j < 64; j++) g += Math.abs(Math.trunc(((d64[i]![j]! - d64[i + 1]![j]!) * 100) / 255));
  for (let i = 0; i < 64; i++) for (let j = 0; j < 63; j++) g += Math.abs(Math.trunc(((d64[i]![j]! - d64[i]![j + 1]!) * 100) / 255));
  const quality = Math.min(100, Math.floor(g / 90));
  const D = (i: number, j: number) => Math.sqrt(2 / 64) * Math.cos((Math.PI / 128) * (i + 1) * (2 * j + 1));
  const B: number[] = [];
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) for (let l = 0; l < 64; l++) s += D(i, k) * d64[k]![l]! * D(j, l);
      B.push(s);
    }
  }
  const median = [...B].sort((x, y) => x - y)[127]!;
  return { bits: B.map((v) => (v > median ? 1 : 0)), quality };
}

/** Bit k of a hash in pdq.ts's layout (the reference's hex), for comparing with referencePdq. */
export function bitOf(hash: Uint32Array, k: number): number {
  const w16 = k >> 4;
  return (hash[(15 - w16) >> 1]! >>> ((w16 & 1 ? 16 : 0) + (k & 15))) & 1;
}
