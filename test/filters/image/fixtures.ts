/**
 * Image fixtures generated at test time (nothing downloaded): textured synthetic scenes —
 * gradients, shapes, stripes and noise from a seeded PRNG — encoded and transformed with sharp.
 * A scene is a function of its seed, so every run sees the same pixels.
 */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';

/** Mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * RGB pixels of scene `seed`, `width × height`: a two-colour gradient, soft blobs (most of the
 * energy at low spatial frequencies, like photographs), a few hard-edged shapes, a faint texture
 * and sensor-like noise.
 */
export function scenePixels(seed: number, width: number, height: number): Buffer {
  const rnd = prng(seed);
  const colour = () => [rnd() * 255, rnd() * 255, rnd() * 255] as const;
  const a = colour();
  const b = colour();
  const angle = rnd() * Math.PI * 2;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const blobs = Array.from({ length: 4 + Math.floor(rnd() * 4) }, () => ({ x: rnd(), y: rnd(), s: 0.08 + rnd() * 0.2, colour: colour(), weight: 0.5 + rnd() * 0.5 }));
  // A few large shapes, then many small ones: edges everywhere, as in photographs (PDQ's quality
  // counts the gradients of its 64×64 downsample; smooth blobs alone score below 50).
  const shape = (size: number) => ({
    circle: rnd() < 0.5,
    x: rnd() * (1 - size),
    y: rnd() * (1 - size),
    r: size * (0.3 + rnd() * 0.7),
    w: size * (0.5 + rnd()),
    h: size * (0.5 + rnd()),
    colour: colour(),
  });
  const shapes = [...Array.from({ length: 3 + Math.floor(rnd() * 4) }, () => shape(0.3)), ...Array.from({ length: 25 + Math.floor(rnd() * 15) }, () => shape(0.08))];
  const texture = { freq: 2 + rnd() * 4, angle: rnd() * Math.PI, amp: 6 + rnd() * 8 };
  const noise = prng(seed ^ 0x5bd1e995);
  const aspect = height / width;
  const out = Buffer.alloc(width * height * 3);
  const col = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    const v = y / height;
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const t = Math.min(1, Math.max(0, 0.5 + (u - 0.5) * dx + (v - 0.5) * dy));
      for (let k = 0; k < 3; k++) col[k] = a[k]! + (b[k]! - a[k]!) * t;
      for (const bl of blobs) {
        const w = bl.weight * Math.exp(-((u - bl.x) ** 2 + ((v - bl.y) * aspect) ** 2) / (2 * bl.s * bl.s));
        for (let k = 0; k < 3; k++) col[k] = col[k]! * (1 - w) + bl.colour[k]! * w;
      }
      for (const s of shapes) {
        const inside = s.circle ? (u - s.x) ** 2 + ((v - s.y) * aspect) ** 2 < s.r * s.r : u >= s.x && u < s.x + s.w && v >= s.y && v < s.y + s.h;
        if (inside) for (let k = 0; k < 3; k++) col[k] = s.colour[k]!;
      }
      const tex = Math.sin((u * Math.cos(texture.angle) + v * Math.sin(texture.angle)) * texture.freq * Math.PI * 2) * texture.amp;
      const p = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) out[p + k] = Math.max(0, Math.min(255, Math.round(col[k]! + tex + (noise() - 0.5) * 16)));
    }
  }
  return out;
}

/** Scene `seed` as a sharp pipeline (raw RGB input). */
export function scene(seed: number, width = 640, height = 480): Sharp {
  return sharp(scenePixels(seed, width, height), { raw: { width, height, channels: 3 } });
}

export async function sceneJpeg(seed: number, width = 640, height = 480, quality = 90): Promise<Buffer> {
  return scene(seed, width, height).jpeg({ quality }).toBuffer();
}

/** A flat (single colour) image: no texture, PDQ quality ~0. */
export async function flatJpeg(width = 320, height = 240, grey = 128): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } }).jpeg().toBuffer();
}

/** Transformations a re-uploaded copy typically went through. */
export const variants: Record<string, (img: Buffer) => Promise<Buffer>> = {
  'jpeg q95': (img) => sharp(img).jpeg({ quality: 95 }).toBuffer(),
  'jpeg q50': (img) => sharp(img).jpeg({ quality: 50 }).toBuffer(),
  'jpeg q20': (img) => sharp(img).jpeg({ quality: 20 }).toBuffer(),
  'resized to 50%': async (img) => {
    const m = await sharp(img).metadata();
    return sharp(img).resize(Math.round(m.width / 2)).jpeg({ quality: 85 }).toBuffer();
  },
  'resized to 25%': async (img) => {
    const m = await sharp(img).metadata();
    return sharp(img).resize(Math.round(m.width / 4)).jpeg({ quality: 85 }).toBuffer();
  },
  'upscaled 150%': async (img) => {
    const m = await sharp(img).metadata();
    return sharp(img).resize(Math.round(m.width * 1.5)).jpeg({ quality: 85 }).toBuffer();
  },
  // PDQ is known to be sensitive to crops: measured on the reference's bridge photo, 1 % per side
  // moves it ~12 bits, 2 % ~32, 3 % ~60. "Slightly cropped" here is 1 % per side.
  'cropped 1% per side': async (img) => {
    const m = await sharp(img).metadata();
    const dx = Math.round(m.width * 0.01);
    const dy = Math.round(m.height * 0.01);
    return sharp(img).extract({ left: dx, top: dy, width: m.width - 2 * dx, height: m.height - 2 * dy }).jpeg({ quality: 85 }).toBuffer();
  },
  'png': (img) => sharp(img).png().toBuffer(),
  'webp q60': (img) => sharp(img).webp({ quality: 60 }).toBuffer(),
  'brightness +10%': (img) => sharp(img).modulate({ brightness: 1.1 }).jpeg({ quality: 85 }).toBuffer(),
};

/** Rotations and flips: PDQ's dihedral hashes match them, blockhash does not. */
export const dihedralVariants: Record<string, (img: Buffer) => Promise<Buffer>> = {
  'rotated 90°': (img) => sharp(img).rotate(90).jpeg({ quality: 90 }).toBuffer(),
  'rotated 180°': (img) => sharp(img).rotate(180).jpeg({ quality: 90 }).toBuffer(),
  'rotated 270°': (img) => sharp(img).rotate(270).jpeg({ quality: 90 }).toBuffer(),
  'mirrored': (img) => sharp(img).flop().jpeg({ quality: 90 }).toBuffer(),
  'flipped': (img) => sharp(img).flip().jpeg({ quality: 90 }).toBuffer(),
  'transposed': (img) => sharp(img).rotate(90).flop().jpeg({ quality: 90 }).toBuffer(),
};

/**
 * The PDQ conformance vectors live outside the repository (../shared/vectors/pdq from the repo
 * root; PDQ_VECTORS_DIR overrides). Returns the folder, or undefined when it is absent (tests then
 * skip and say why).
 */
export function pdqVectorsDir(): string | undefined {
  const fromEnv = process.env.PDQ_VECTORS_DIR;
  const dir = fromEnv ? (fromEnv.endsWith('/') ? fromEnv : `${fromEnv}/`) : fileURLToPath(new URL('../../../../shared/vectors/pdq/', import.meta.url));
  return existsSync(`${dir}vectors.json`) ? dir : undefined;
}
