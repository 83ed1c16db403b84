/**
 * A bounded map with approximate least-recently-used eviction ("CLOCK", second chance):
 * amortised O(1), and a hit costs one Map lookup plus setting a flag.
 *
 * Entries sit in a Map in insertion order, each with a `used` flag set by `get`. When the map
 * grows past `capacity`, one sweep from the oldest end evicts unused entries and gives used ones
 * a second chance (flag cleared, moved to the young end), until the map is back to
 * LOW_WATER × capacity. So memory never exceeds `capacity` entries (+1 during an insert), an
 * entry used since the last sweep survives it, and a sweep's cost is paid by the inserts that
 * made it necessary.
 *
 * Why not a strict LRU (delete + re-insert on every hit): it doubles the cost of the rate check.
 * Why not a Map that deletes `keys().next().value` past its capacity (what the gateway's bounded
 * maps did): V8 leaves a hole for each deleted entry until the table is rehashed, and a fresh
 * iterator walks every hole from the start, so each eviction rescans the ones before it: the
 * cost per insert grows with the map's size.
 * Why not two generations of Maps (swap when the young one is full): a working set larger than
 * half the capacity then moves every entry between Maps on every pass — measured 3-4× slower
 * than a plain Map lookup with 50k active users.
 */

/** A sweep evicts down to this share of the capacity: sweeps stay rare (1 per capacity/16 inserts). */
const LOW_WATER = 15 / 16;

/** An `Lru` entry: the value and its flag. */
interface Slot<V> extends LruItem {
  value: V;
}

/** A bounded map of any values: each kept in a small slot object carrying the flag. */
export class Lru<K, V> {
  private readonly items: ItemLru<K, Slot<V>>;

  constructor(readonly capacity: number) {
    this.items = new ItemLru(capacity);
  }

  get size(): number {
    return this.items.size;
  }

  /** Entries evicted since construction. */
  get evicted(): number {
    return this.items.evicted;
  }

  get(key: K): V | undefined {
    return this.items.get(key)?.value;
  }

  /** Looks without marking the entry used. */
  peek(key: K): V | undefined {
    return this.items.peek(key)?.value;
  }

  set(key: K, value: V): void {
    const s = this.items.peek(key);
    if (s !== undefined) {
      s.value = value;
      s.lruUsed = true;
      return;
    }
    // New entries start unused: a key seen once goes before anything seen again.
    this.items.add(key, { value, lruUsed: false });
  }

  delete(key: K): boolean {
    return this.items.delete(key);
  }

  clear(): void {
    this.items.clear();
  }
}

/** What an `ItemLru` value carries: its own "used" flag (no wrapper object per entry). */
export interface LruItem {
  lruUsed: boolean;
}

/**
 * The CLOCK eviction itself, for values that are objects of ours with the flag kept on the value:
 * one object and one pointer hop less per entry — the per-user rate check touches one object.
 * A value must be stored under one key only (the flag is per value). `Lru` wraps it for any value.
 */
export class ItemLru<K, V extends LruItem> {
  private readonly map = new Map<K, V>();
  private readonly lowWater: number;
  evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`Lru capacity must be an integer >= 2, got ${capacity}`);
    this.lowWater = Math.max(1, Math.floor(capacity * LOW_WATER));
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    // Only write when it changes: a hot entry's cache line is not dirtied on every hit.
    if (v !== undefined && !v.lruUsed) v.lruUsed = true;
    return v;
  }

  /** Looks without marking the entry used. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Adds a new entry (callers check `get` first). */
  add(key: K, value: V): void {
    value.lruUsed = false;
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.sweep();
  }

  private sweep(): void {
    // One iterator for the whole sweep: entries moved to the end are reached again (with the
    // flag cleared) if the sweep gets that far, so it always ends.
    for (const [k, v] of this.map) {
      if (this.map.size <= this.lowWater) return;
      this.map.delete(k);
      if (v.lruUsed) {
        v.lruUsed = false;
        this.map.set(k, v);
      } else {
        this.evicted++;
      }
    }
  }
}
