/**
 * Multi-index hashing (Norouzi, Punjani & Fleet, "Fast Search in Hamming Space with Multi-Index
 * Hashing", CVPR 2012) for 256-bit hashes: exact radius queries, 100 % recall.
 *
 * Each hash is cut into M chunks of b bits (M · b = 256) and filed under each chunk's value in M
 * tables. Pigeonhole: if two hashes differ in at most r bits, some chunk differs in at most
 * ⌊r / M⌋ bits. So a query looks up, in every table, the buckets whose key is within ⌊r / M⌋ of
 * its own chunk, and checks only those candidates with a full popcount: no false negative.
 *
 * The split (measured by loadtest/scenarios/06-hash-index.ts, 1M random hashes, r = 31):
 *  - 16 × 16-bit (the default): ⌊31/16⌋ = 1, so 17 buckets per table (the key and its 16
 *    one-bit neighbours): 272 buckets of ~15 entries ≈ 4k candidates, 1/250 of a scan.
 *  - 32 × 8-bit: ⌊31/32⌋ = 0, one exact bucket per table, but with 256 keys per table a bucket
 *    holds ~3.9k entries: ≈ 125k candidates, an eighth of a scan, short of the ≥ 10× bar.
 * Many near-identical hashes crowd a few buckets and slow queries toward a scan; recall stays exact.
 *
 * Layout (typed arrays only, no object per hash):
 *  - every hash in one Uint32Array, 8 words per slot; ids are slot numbers;
 *  - the bulk of the hashes in a compact table (CSR: per table, the slots sorted by chunk value,
 *    with bucket offsets), so a bucket is one contiguous run and the candidates' hash loads are
 *    independent (the CPU overlaps the cache misses; a linked list would chase them one by one —
 *    measured ~5× slower at 1M);
 *  - hashes added since the last compaction in a small delta: per-table linked lists, cheap to
 *    add to and remove from. `compact()` folds the delta in (a counting sort, O(n); ~2 s at 1M on
 *    the 2-core VM, synchronous): done automatically once the delta reaches DELTA_COMPACT_AT, and by
 *    bulk loads (`addMany`).
 *  - removing a compacted hash leaves a tombstone (its slot is reused only after compaction).
 * About 100 bytes per hash at 16-bit chunks: ≈ 100 MB for 1M hashes.
 */
import { HASH256_BITS, HASH256_WORDS, popcount32, type Hash256 } from './hash256.ts';

export type ChunkBits = 8 | 16;

export interface HashIndexOptions {
  /** Bits per chunk (the split). Default DEFAULT_CHUNK_BITS. */
  chunkBits?: ChunkBits;
  /** Slots allocated up front (grows by doubling). */
  initialCapacity?: number;
  /**
   * Answer a query by scanning when the tables would visit about as many entries (default true).
   * Tests turn it off to exercise the tables at every radius.
   */
  scanFallback?: boolean;
}

export interface IndexMatch {
  id: number;
  distance: number;
}

/** The split that measured ≥ 10× faster than a linear scan at 1M hashes, r ≤ 31 (see above). */
export const DEFAULT_CHUNK_BITS: ChunkBits = 16;
/**
 * Delta size that triggers compaction. At 64k hashes the delta's lists hold about one entry per
 * bucket (65536 keys), so pointer chasing stays cheap; compacting more often would rebuild a large
 * index for a handful of additions.
 */
export const DELTA_COMPACT_AT = 65_536;
/**
 * A query whose bucket enumeration would reach about as many entries as a scan scans instead: when
 * the expected candidates exceed this share of the index (large radius, or a small index).
 */
const SCAN_WHEN_CANDIDATES_OVER = 0.5;
const DEFAULT_CAPACITY = 1024;
const NONE = -1;

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Where a slot is filed. */
const FREE = 0;
const IN_BASE = 1;
const IN_DELTA = 2;
/** In the base tables but removed: skipped by queries, slot freed at the next compaction. */
const TOMBSTONE = 3;

export class HashIndex {
  readonly chunkBits: ChunkBits;
  /** Number of chunks (tables). */
  readonly chunks: number;
  private readonly keys: number;
  private readonly chunksPerWord: number;
  private readonly mask: number;
  private readonly scanFallback: boolean;

  private capacity: number;
  private words: Uint32Array;
  private state: Uint8Array;
  private highWater = 0;
  private readonly free: number[] = [];
  private count = 0;

  // Base (compacted): per table t, bucket k = baseEntries[t·n + baseOffsets[t·(keys+1) + k] ..].
  private baseSize = 0;
  private baseOffsets: Uint32Array;
  private baseEntries: Int32Array = new Int32Array(0);
  private tombstones = 0;

  // Delta: linked lists over delta positions; deltaSlot[p] is the slot at position p.
  private deltaCap = 0;
  private deltaSlot: Int32Array = new Int32Array(0);
  private deltaNext: Int32Array = new Int32Array(0);
  private readonly deltaHeads: Int32Array;
  private deltaPosOf: Int32Array;
  private deltaHigh = 0;
  private readonly deltaFree: number[] = [];
  private deltaCount = 0;

  private readonly q = new Uint32Array(HASH256_WORDS);

  constructor(options: HashIndexOptions = {}) {
    const bits = options.chunkBits ?? DEFAULT_CHUNK_BITS;
    if (bits !== 8 && bits !== 16) throw new RangeError(`chunkBits must be 8 or 16, got ${bits}`);
    this.chunkBits = bits;
    this.chunks = HASH256_BITS / bits;
    this.keys = 1 << bits;
    this.chunksPerWord = 32 / bits;
    this.mask = this.keys - 1;
    this.scanFallback = options.scanFallback ?? true;
    this.capacity = Math.max(16, Math.floor(options.initialCapacity ?? DEFAULT_CAPACITY));
    this.words = new Uint32Array(this.capacity * HASH256_WORDS);
    this.state = new Uint8Array(this.capacity);
    this.deltaPosOf = new Int32Array(this.capacity).fill(NONE);
    this.baseOffsets = new Uint32Array(this.chunks * (this.keys + 1));
    this.deltaHeads = new Int32Array(this.chunks * this.keys).fill(NONE);
  }

  /** Number of hashes held. */
  get size(): number {
    return this.count;
  }

  /** Hashes not yet compacted (for tests and metrics). */
  get pending(): number {
    return this.deltaCount;
  }

  private chunkOf(words: Uint32Array, base: number, table: number): number {
    const w = words[base + ((table / this.chunksPerWord) | 0)]!;
    return (w >>> ((table % this.chunksPerWord) * this.chunkBits)) & this.mask;
  }

  private growSlots(): void {
    const cap = this.capacity * 2;
    const words = new Uint32Array(cap * HASH256_WORDS);
    words.set(this.words);
    const state = new Uint8Array(cap);
    state.set(this.state);
    const pos = new Int32Array(cap).fill(NONE);
    pos.set(this.deltaPosOf);
    this.words = words;
    this.state = state;
    this.deltaPosOf = pos;
    this.capacity = cap;
  }

  private growDelta(): void {
    const cap = Math.max(64, this.deltaCap * 2);
    const slot = new Int32Array(cap).fill(NONE);
    slot.set(this.deltaSlot);
    const next = new Int32Array(cap * this.chunks).fill(NONE);
    next.set(this.deltaNext);
    this.deltaSlot = slot;
    this.deltaNext = next;
    this.deltaCap = cap;
  }

  /** Files a hash; returns its id. The same hash may be added more than once (distinct ids). */
  add(hash: Hash256): number {
    if (hash.length !== HASH256_WORDS) throw new RangeError(`a 256-bit hash is ${HASH256_WORDS} words, got ${hash.length}`);
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater === this.capacity) this.growSlots();
      slot = this.highWater++;
    }
    const base = slot * HASH256_WORDS;
    this.words.set(hash, base);
    let p = this.deltaFree.pop();
    if (p === undefined) {
      if (this.deltaHigh === this.deltaCap) this.growDelta();
      p = this.deltaHigh++;
    }
    this.deltaSlot[p] = slot;
    this.deltaPosOf[slot] = p;
    for (let t = 0; t < this.chunks; t++) {
      const h = t * this.keys + this.chunkOf(this.words, base, t);
      this.deltaNext[p * this.chunks + t] = this.deltaHeads[h]!;
      this.deltaHeads[h] = p;
    }
    this.state[slot] = IN_DELTA;
    this.deltaCount++;
    this.count++;
    if (this.deltaCount >= DELTA_COMPACT_AT) this.compact();
    return slot;
  }

  /**
   * Files many hashes; returns their ids in order. A large batch (see below) is written straight
   * into the compact tables with one compaction, instead of one delta insert each plus the
   * compactions they would trigger.
   */
  addMany(hashes: readonly Hash256[]): number[] {
    for (const h of hashes) if (h.length !== HASH256_WORDS) throw new RangeError(`a 256-bit hash is ${HASH256_WORDS} words, got ${h.length}`);
    // Bulk when the batch would trigger a compaction anyway, or is large next to the index.
    const bulk = hashes.length + this.deltaCount >= DELTA_COMPACT_AT || hashes.length * 8 > this.count + 64;
    if (!bulk) return hashes.map((h) => this.add(h));
    const ids: number[] = [];
    for (const h of hashes) {
      let slot = this.free.pop();
      if (slot === undefined) {
        if (this.highWater === this.capacity) this.growSlots();
        slot = this.highWater++;
      }
      this.words.set(h, slot * HASH256_WORDS);
      // Marked compacted now; compact() below builds their table entries.
      this.state[slot] = IN_BASE;
      this.count++;
      ids.push(slot);
    }
    this.compact();
    return ids;
  }

  /** Removes the hash with this id; false if there is none. */
  remove(id: number): boolean {
    if (!this.has(id)) return false;
    if (this.state[id] === IN_BASE) {
      this.state[id] = TOMBSTONE;
      this.tombstones++;
    } else {
      this.unlinkDelta(id);
      this.state[id] = FREE;
      this.words.fill(0, id * HASH256_WORDS, (id + 1) * HASH256_WORDS);
      this.free.push(id);
    }
    this.count--;
    // Tombstones cost a skipped candidate each; fold them out once they are a quarter of the base.
    if (this.tombstones > 1024 && this.tombstones * 4 > this.baseSize) this.compact();
    return true;
  }

  /** Unlinks a delta hash from each table's list (walks the bucket: ~1 entry at 64k hashes). */
  private unlinkDelta(slot: number): void {
    const p = this.deltaPosOf[slot]!;
    const base = slot * HASH256_WORDS;
    for (let t = 0; t < this.chunks; t++) {
      const h = t * this.keys + this.chunkOf(this.words, base, t);
      let cur = this.deltaHeads[h]!;
      if (cur === p) {
        this.deltaHeads[h] = this.deltaNext[p * this.chunks + t]!;
      } else {
        while (cur !== NONE) {
          const nxt = this.deltaNext[cur * this.chunks + t]!;
          if (nxt === p) {
            this.deltaNext[cur * this.chunks + t] = this.deltaNext[p * this.chunks + t]!;
            break;
          }
          cur = nxt;
        }
      }
      this.deltaNext[p * this.chunks + t] = NONE;
    }
    this.deltaSlot[p] = NONE;
    this.deltaPosOf[slot] = NONE;
    this.deltaFree.push(p);
    this.deltaCount--;
  }

  has(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= this.highWater) return false;
    const s = this.state[id];
    return s === IN_BASE || s === IN_DELTA;
  }

  /** A copy of the hash with this id, or undefined. */
  get(id: number): Hash256 | undefined {
    if (!this.has(id)) return undefined;
    return this.words.slice(id * HASH256_WORDS, (id + 1) * HASH256_WORDS);
  }

  /** Ids of every hash held, ascending. */
  ids(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.highWater; s++) if (this.has(s)) out.push(s);
    return out;
  }

  /** Removes everything (keeps the slot storage's capacity). */
  clear(): void {
    this.words.fill(0);
    this.state.fill(FREE);
    this.deltaPosOf.fill(NONE);
    this.highWater = 0;
    this.free.length = 0;
    this.count = 0;
    this.baseSize = 0;
    this.baseOffsets.fill(0);
    this.baseEntries = new Int32Array(0);
    this.tombstones = 0;
    this.resetDelta();
  }

  private resetDelta(): void {
    this.deltaHeads.fill(NONE);
    this.deltaSlot = new Int32Array(0);
    this.deltaNext = new Int32Array(0);
    this.deltaCap = 0;
    this.deltaHigh = 0;
    this.deltaFree.length = 0;
    this.deltaCount = 0;
  }

  /**
   * Folds the delta into the compact tables and drops tombstones: a counting sort per table,
   * O(size · chunks). Synchronous (~2 s at 1M on the 2-core VM): it blocks the event loop.
   */
  compact(): void {
    for (let s = 0; s < this.highWater; s++) {
      if (this.state[s] === TOMBSTONE) {
        this.state[s] = FREE;
        this.words.fill(0, s * HASH256_WORDS, (s + 1) * HASH256_WORDS);
        this.free.push(s);
      } else if (this.state[s] === IN_DELTA) {
        this.state[s] = IN_BASE;
        this.deltaPosOf[s] = NONE;
      }
    }
    this.tombstones = 0;
    this.resetDelta();
    const n = this.count;
    const slots = new Int32Array(n);
    for (let s = 0, i = 0; s < this.highWater; s++) if (this.state[s] === IN_BASE) slots[i++] = s;
    const k1 = this.keys + 1;
    const offsets = new Uint32Array(this.chunks * k1);
    const entries = new Int32Array(this.chunks * n);
    const cursor = new Uint32Array(this.keys);
    for (let t = 0; t < this.chunks; t++) {
      const o = t * k1;
      for (let i = 0; i < n; i++) offsets[o + this.chunkOf(this.words, slots[i]! * HASH256_WORDS, t) + 1]!++;
      for (let k = 0; k < this.keys; k++) offsets[o + k + 1]! += offsets[o + k]!;
      cursor.set(offsets.subarray(o, o + this.keys));
      const e = t * n;
      for (let i = 0; i < n; i++) {
        const s = slots[i]!;
        entries[e + cursor[this.chunkOf(this.words, s * HASH256_WORDS, t)]!++] = s;
      }
    }
    this.baseOffsets = offsets;
    this.baseEntries = entries;
    this.baseSize = n;
  }

  private checkQuery(hash: Hash256, maxDistance: number): void {
    if (hash.length !== HASH256_WORDS) throw new RangeError(`a 256-bit hash is ${HASH256_WORDS} words, got ${hash.length}`);
    if (!Number.isInteger(maxDistance) || maxDistance < 0) throw new RangeError(`maxDistance must be a non-negative integer, got ${maxDistance}`);
  }

  /**
   * Every hash within `maxDistance` bits of `hash`, closest first (ties by id). Exact: the same
   * answer as `scan`, found through the tables.
   */
  query(hash: Hash256, maxDistance: number): IndexMatch[] {
    this.checkQuery(hash, maxDistance);
    if (this.count === 0) return [];
    const radius = Math.floor(maxDistance / this.chunks);
    let probes = 0;
    for (let i = 0; i <= radius; i++) probes += binomial(this.chunkBits, i);
    const expected = probes * this.chunks * (this.count / this.keys);
    if (this.scanFallback && expected > this.count * SCAN_WHEN_CANDIDATES_OVER) return this.scan(hash, maxDistance);

    const q = this.q;
    q.set(hash);
    const found: IndexMatch[] = [];
    const probe = new Probe(this.words, this.state, q, maxDistance, found);
    const bits = this.chunkBits;
    const n = this.baseSize;
    const k1 = this.keys + 1;
    for (let t = 0; t < this.chunks; t++) {
      const key = this.chunkOf(q, 0, t);
      const o = t * k1;
      const e = t * n;
      const lookup = (k: number): void => {
        if (n > 0) probe.run(this.baseEntries, e + this.baseOffsets[o + k]!, e + this.baseOffsets[o + k + 1]!);
        if (this.deltaCount > 0) probe.chase(this.deltaHeads[t * this.keys + k]!, this.deltaNext, this.deltaSlot, this.chunks, t);
      };
      lookup(key);
      if (radius >= 1) {
        for (let i = 0; i < bits; i++) {
          lookup(key ^ (1 << i));
          if (radius >= 2) for (let j = i + 1; j < bits; j++) lookup(key ^ (1 << i) ^ (1 << j));
        }
      }
      // Radius ≥ 3 (thresholds past 47 bits at 16-bit chunks): every key with 3..radius bits flipped.
      for (let k = 3; k <= Math.min(radius, bits); k++) flips(key, bits, k, 0, lookup);
    }
    return dedupe(found.sort(byIdThenDistance)).sort(byDistanceThenId);
  }

  /** The same answer as `query`, by checking every hash (the brute-force baseline). */
  scan(hash: Hash256, maxDistance: number): IndexMatch[] {
    this.checkQuery(hash, maxDistance);
    const out: IndexMatch[] = [];
    const words = this.words;
    const state = this.state;
    const q0 = hash[0]!, q1 = hash[1]!, q2 = hash[2]!, q3 = hash[3]!, q4 = hash[4]!, q5 = hash[5]!, q6 = hash[6]!, q7 = hash[7]!;
    for (let s = 0, b = 0; s < this.highWater; s++, b += HASH256_WORDS) {
      const st = state[s];
      if (st !== IN_BASE && st !== IN_DELTA) continue;
      const d =
        popcount32(words[b]! ^ q0) +
        popcount32(words[b + 1]! ^ q1) +
        popcount32(words[b + 2]! ^ q2) +
        popcount32(words[b + 3]! ^ q3) +
        popcount32(words[b + 4]! ^ q4) +
        popcount32(words[b + 5]! ^ q5) +
        popcount32(words[b + 6]! ^ q6) +
        popcount32(words[b + 7]! ^ q7);
      if (d <= maxDistance) out.push({ id: s, distance: d });
    }
    return out.sort(byDistanceThenId);
  }
}

/**
 * Checks candidate slots against one query. A slot found through several tables is checked each
 * time (cheaper than remembering which were seen, measured) and deduplicated at the end.
 */
class Probe {
  private readonly q0: number;
  private readonly q1: number;
  private readonly q2: number;
  private readonly q3: number;
  private readonly q4: number;
  private readonly q5: number;
  private readonly q6: number;
  private readonly q7: number;

  constructor(
    private readonly words: Uint32Array,
    private readonly state: Uint8Array,
    q: Uint32Array,
    private readonly maxDistance: number,
    private readonly found: IndexMatch[],
  ) {
    this.q0 = q[0]!;
    this.q1 = q[1]!;
    this.q2 = q[2]!;
    this.q3 = q[3]!;
    this.q4 = q[4]!;
    this.q5 = q[5]!;
    this.q6 = q[6]!;
    this.q7 = q[7]!;
  }

  private check(s: number): void {
    const w = this.words;
    const b = s * HASH256_WORDS;
    const d =
      popcount32(w[b]! ^ this.q0) +
      popcount32(w[b + 1]! ^ this.q1) +
      popcount32(w[b + 2]! ^ this.q2) +
      popcount32(w[b + 3]! ^ this.q3) +
      popcount32(w[b + 4]! ^ this.q4) +
      popcount32(w[b + 5]! ^ this.q5) +
      popcount32(w[b + 6]! ^ this.q6) +
      popcount32(w[b + 7]! ^ this.q7);
    if (d <= this.maxDistance && this.state[s] === IN_BASE) this.found.push({ id: s, distance: d });
  }

  /** A contiguous bucket of the compact tables. */
  run(entries: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.check(entries[i]!);
  }

  /** A delta bucket (linked list over delta positions). */
  chase(head: number, next: Int32Array, slotAt: Int32Array, chunks: number, table: number): void {
    const w = this.words;
    for (let p = head; p !== NONE; p = next[p * chunks + table]!) {
      const s = slotAt[p]!;
      const b = s * HASH256_WORDS;
      const d =
        popcount32(w[b]! ^ this.q0) +
        popcount32(w[b + 1]! ^ this.q1) +
        popcount32(w[b + 2]! ^ this.q2) +
        popcount32(w[b + 3]! ^ this.q3) +
        popcount32(w[b + 4]! ^ this.q4) +
        popcount32(w[b + 5]! ^ this.q5) +
        popcount32(w[b + 6]! ^ this.q6) +
        popcount32(w[b + 7]! ^ this.q7);
      if (d <= this.maxDistance) this.found.push({ id: s, distance: d });
    }
  }
}

/** Calls `visit` with every key that differs from `key` in exactly `k` of bits from..bits-1. */
function flips(key: number, bits: number, k: number, from: number, visit: (key: number) => void): void {
  if (k === 0) {
    visit(key);
    return;
  }
  for (let i = from; i <= bits - k; i++) flips(key ^ (1 << i), bits, k - 1, i + 1, visit);
}

function byDistanceThenId(a: IndexMatch, b: IndexMatch): number {
  return a.distance - b.distance || a.id - b.id;
}
function byIdThenDistance(a: IndexMatch, b: IndexMatch): number {
  return a.id - b.id || a.distance - b.distance;
}
/** Drops repeats of an id from a list sorted by id. */
function dedupe(sorted: IndexMatch[]): IndexMatch[] {
  const out: IndexMatch[] = [];
  for (const m of sorted) if (out.length === 0 || out[out.length - 1]!.id !== m.id) out.push(m);
  return out;
}
