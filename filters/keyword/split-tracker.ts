/**
 * Split evasion: a term typed across a user's consecutive messages in one room ("fu", then "ck").
 *
 * Cheap on every message, exact when it matters:
 *   - for each (user, room) the tracker keeps, for a few seconds, the automaton state each
 *     matcher ended in after the user's last message, and the texts of the recent messages;
 *   - the next message is scanned *from those states*, as if it followed the earlier text
 *     directly. A hit that starts before the message (`TermMatcher.crossing`) — or a message that
 *     continues the last letter run ("as" then "s") — is a candidate split;
 *   - only then are the recent texts and the message normalised together (joined by
 *     MESSAGE_JOINER, which reads as punctuation) and matched again, which gives the exact
 *     verdict, the span in the current message, and the ids of the messages the term spans.
 *
 * Memory is bounded: at most `maxEntries` (user, room) slots, the least recently used reused
 * when full; per slot at most MAX_TAIL_MESSAGES texts and TAIL_TEXT_CHARS characters. Lookups
 * go by user id (one string per connection, its hash cached) to that user's few slots, chained
 * and compared by room: no key string built, no room string hashed.
 *
 * Laid out for the cache: this runs on every message, for a different user each time, so what a
 * slot holds is one 64-byte record (time, automaton states, last code, word starts, ring
 * position and the lengths of its texts) rather than a dozen arrays indexed by slot; recency is
 * a stamp per slot plus an append-only queue of (slot, stamp) — exact LRU order without touching
 * the neighbours of a doubly linked list on every message.
 */

import { EARLIER_STARTS_BITS } from './term-matcher.ts';

/**
 * Joins recent messages when they are matched together: a private-use character, which the
 * normaliser treats as punctuation (a word gap, not whitespace), so "fu" + "ck" reads as "fu.ck".
 */
export const MESSAGE_JOINER = '\uE000';
/** Recent messages kept per (user, room): "f" "u" "c" "k" still chains. */
export const MAX_TAIL_MESSAGES = 8;
/**
 * Characters of recent text kept per (user, room), and matched together with a new message: the
 * first part of a split term is shorter than the term, and terms are at most 64 characters. A
 * slot keeps at most twice that (the message that crosses the limit is kept whole, cut to this
 * length if longer).
 */
export const TAIL_TEXT_CHARS = 64;
/** Default window between two messages of a split: "within a few seconds". */
export const DEFAULT_SPLIT_WINDOW_MS = 5_000;
/**
 * Default slots: users who sent a message in the last few seconds on one node. Beyond that the
 * least recent senders lose their tail, which only means an older split goes unseen.
 */
export const DEFAULT_SPLIT_MAX_ENTRIES = 20_000;

export interface SplitTrackerOptions {
  windowMs?: number;
  maxEntries?: number;
}

/** The recent messages of a slot as one text (oldest first, each followed by the joiner). */
export interface Tail {
  text: string;
  /** Offset in `text` where each message starts, oldest first, and its id. */
  starts: number[];
  ids: string[];
}

// Slot record: 64 bytes, read through three views of one buffer (offsets in each view's units).
const REC_BYTES = 64;
const F_AT = 0; // Float64: time of the last message
const I_STATE = 2; // Int32 ×4: state, owner for matcher 0 then 1
const I_LAST_CODE = 6;
const I_STARTS = 7;
const I_RING_START = 8;
const I_RING_LENGTH = 9;
const I_RING_CHARS = 10;
/** Next slot of the same user (-1: none). */
const I_NEXT_OF_USER = 11;
const B_TEXT_LENGTHS = 48; // Uint8 ×MAX_TAIL_MESSAGES: length of each kept text (≤ TAIL_TEXT_CHARS)
const F_STRIDE = REC_BYTES / 8;
const I_STRIDE = REC_BYTES / 4;

export class SplitTracker {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** user → the first of that user's slots (one per room they wrote in recently; usually one). */
  private readonly first = new Map<string, number>();
  private count = 0;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  /**
   * Recent message texts and ids: per slot a ring of MAX_TAIL_MESSAGES entries (flat arrays, so
   * recording a message is a few stores, not array reshaping).
   */
  private readonly texts: string[];
  private readonly ids: string[];
  private readonly slotUser: string[];
  private readonly slotRoom: string[];
  /** Recency: each use of a slot stamps it and appends (slot, stamp) to a queue; the oldest
   *  queue entry whose stamp is still its slot's is the least recently used slot. */
  private readonly stamp: Int32Array;
  private clock = 0;
  private readonly queue: Int32Array;
  private qHead = 0;
  private qLength = 0;
  private used = 0;
  // The (user, room) and slot of the last `lookup`, for the `save` that follows it.
  private current = -1;
  private currentUser = '';
  private currentRoom = '';

  constructor(opts: SplitTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_SPLIT_WINDOW_MS;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_SPLIT_MAX_ENTRIES);
    const n = this.maxEntries;
    const buf = new ArrayBuffer(n * REC_BYTES);
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    this.u8 = new Uint8Array(buf);
    for (let s = 0; s < n; s++) {
      this.i32[s * I_STRIDE + I_LAST_CODE] = -1;
      this.i32[s * I_STRIDE + I_NEXT_OF_USER] = -1;
    }
    this.texts = new Array<string>(n * MAX_TAIL_MESSAGES).fill('');
    this.ids = new Array<string>(n * MAX_TAIL_MESSAGES).fill('');
    this.slotUser = new Array<string>(n).fill('');
    this.slotRoom = new Array<string>(n).fill('');
    this.stamp = new Int32Array(n);
    // Pairs; room for one entry per slot plus as many stale ones before a compaction.
    this.queue = new Int32Array(4 * n + 4);
  }

  /** (user, room) pairs with a slot. */
  get size(): number {
    return this.count;
  }

  /**
   * The slot of (user, room) if its last message is within the window, else -1. Must be followed
   * by `save` for the same message.
   */
  lookup(userId: string, room: string, now: number): number {
    this.currentUser = userId;
    this.currentRoom = room;
    let slot = this.first.get(userId) ?? -1;
    while (slot >= 0 && this.slotRoom[slot] !== room) slot = this.i32[slot * I_STRIDE + I_NEXT_OF_USER]!;
    if (slot < 0) {
      this.current = -1;
      return -1;
    }
    this.touch(slot);
    this.current = slot;
    if (this.i32[slot * I_STRIDE + I_RING_LENGTH] === 0 || now - this.f64[slot * F_STRIDE + F_AT]! > this.windowMs) {
      // Stale: forget it, the next save starts afresh.
      this.clear(slot);
      return -1;
    }
    return slot;
  }

  /** The state matcher `owner` (its id) ended in after the slot's text, or -1 if not known. */
  stateOf(slot: number, which: 0 | 1, owner: number): number {
    const at = slot * I_STRIDE + I_STATE + which * 2;
    return this.i32[at + 1] === owner ? this.i32[at]! : -1;
  }

  lastCodeOf(slot: number): number {
    return this.i32[slot * I_STRIDE + I_LAST_CODE]!;
  }

  /** Word starts at the end of the slot's text (bit i: i + 1 symbols before its end). */
  startsOf(slot: number): number {
    return this.i32[slot * I_STRIDE + I_STARTS]!;
  }

  /** The slot's recent messages as one text, for matching them together with a new message. */
  tailOf(slot: number): Tail {
    let text = '';
    let starts: number[] = [];
    let ids: string[] = [];
    const base = slot * MAX_TAIL_MESSAGES;
    const r = slot * I_STRIDE;
    for (let k = 0; k < this.i32[r + I_RING_LENGTH]!; k++) {
      const at = base + ((this.i32[r + I_RING_START]! + k) % MAX_TAIL_MESSAGES);
      starts.push(text.length);
      ids.push(this.ids[at]!);
      text += this.texts[at]! + MESSAGE_JOINER;
    }
    // Only the last TAIL_TEXT_CHARS can hold the start of a term that reaches the new message.
    const cut = text.length - TAIL_TEXT_CHARS;
    if (cut > 0) {
      let first = 0;
      while (first + 1 < starts.length && starts[first + 1]! <= cut) first++;
      starts = starts.slice(first).map((s) => Math.max(0, s - cut));
      ids = ids.slice(first);
      text = text.slice(cut);
    }
    return { text, starts, ids };
  }

  /**
   * Records the message just checked: its text and id, the state each matcher ended in (owner
   * 0 = no such matcher), the code of its last letter run (-1: it has no letters) and the word
   * starts among its last symbols (`symbols` of them: bit i = i + 1 symbols from its end).
   */
  save(messageId: string, text: string, now: number, globalState: number, globalOwner: number, roomState: number, roomOwner: number, lastCode: number, starts: number, symbols: number): void {
    let slot = this.current;
    if (slot < 0) slot = this.allocate(this.currentUser, this.currentRoom);
    const i32 = this.i32;
    const r = slot * I_STRIDE;
    // The earlier text's word starts move back by this message's symbols (a fresh slot's only).
    const earlier = i32[r + I_RING_LENGTH]! > 0 && symbols < EARLIER_STARTS_BITS ? i32[r + I_STARTS]! << symbols : 0;
    i32[r + I_STARTS] = (earlier | starts) & ((1 << EARLIER_STARTS_BITS) - 1);
    if (i32[r + I_RING_LENGTH] === MAX_TAIL_MESSAGES) this.dropOldest(slot);
    // A slice may keep its message alive (V8 slices refer to their parent): bounded by the
    // two messages a slot keeps at most, each at most the gateway's text limit.
    const kept = text.length > TAIL_TEXT_CHARS ? text.slice(-TAIL_TEXT_CHARS) : text;
    const k = (i32[r + I_RING_START]! + i32[r + I_RING_LENGTH]!) % MAX_TAIL_MESSAGES;
    const at = slot * MAX_TAIL_MESSAGES + k;
    this.texts[at] = kept;
    this.ids[at] = messageId;
    this.u8[slot * REC_BYTES + B_TEXT_LENGTHS + k] = kept.length;
    i32[r + I_RING_LENGTH]!++;
    i32[r + I_RING_CHARS]! += kept.length;
    // Drop the oldest messages while the newer ones alone have enough text.
    while (i32[r + I_RING_LENGTH]! > 1 && i32[r + I_RING_CHARS]! - this.u8[slot * REC_BYTES + B_TEXT_LENGTHS + i32[r + I_RING_START]!]! >= TAIL_TEXT_CHARS) this.dropOldest(slot);
    i32[r + I_STATE] = globalState;
    i32[r + I_STATE + 1] = globalOwner;
    i32[r + I_STATE + 2] = roomState;
    i32[r + I_STATE + 3] = roomOwner;
    if (lastCode >= 0) i32[r + I_LAST_CODE] = lastCode;
    this.f64[slot * F_STRIDE + F_AT] = now;
    this.current = -1;
  }

  private dropOldest(slot: number): void {
    const r = slot * I_STRIDE;
    const k = this.i32[r + I_RING_START]!;
    const at = slot * MAX_TAIL_MESSAGES + k;
    this.i32[r + I_RING_CHARS]! -= this.u8[slot * REC_BYTES + B_TEXT_LENGTHS + k]!;
    this.texts[at] = this.ids[at] = '';
    this.i32[r + I_RING_START] = (k + 1) % MAX_TAIL_MESSAGES;
    this.i32[r + I_RING_LENGTH]!--;
  }

  private clear(slot: number): void {
    const r = slot * I_STRIDE;
    while (this.i32[r + I_RING_LENGTH]! > 0) this.dropOldest(slot);
    this.i32[r + I_RING_START] = 0;
    this.i32[r + I_LAST_CODE] = -1;
    this.i32[r + I_STARTS] = 0;
    this.i32[r + I_STATE + 1] = this.i32[r + I_STATE + 3] = 0;
  }

  private allocate(user: string, room: string): number {
    let slot: number;
    if (this.used < this.maxEntries) slot = this.used++;
    else {
      // Full: reuse the least recently used slot.
      slot = this.leastRecent();
      this.unlinkUser(slot);
      this.count--;
    }
    this.clear(slot);
    this.i32[slot * I_STRIDE + I_NEXT_OF_USER] = this.first.get(user) ?? -1;
    this.first.set(user, slot);
    this.slotUser[slot] = user;
    this.slotRoom[slot] = room;
    this.count++;
    this.touch(slot);
    return slot;
  }

  /** Removes `slot` from its user's chain. */
  private unlinkUser(slot: number): void {
    const user = this.slotUser[slot]!;
    const next = this.i32[slot * I_STRIDE + I_NEXT_OF_USER]!;
    let s = this.first.get(user)!;
    if (s === slot) {
      if (next < 0) this.first.delete(user);
      else this.first.set(user, next);
      return;
    }
    while (this.i32[s * I_STRIDE + I_NEXT_OF_USER] !== slot) s = this.i32[s * I_STRIDE + I_NEXT_OF_USER]!;
    this.i32[s * I_STRIDE + I_NEXT_OF_USER] = next;
  }

  /** Marks `slot` as the most recently used. */
  private touch(slot: number): void {
    const st = (this.clock = (this.clock + 1) | 0);
    this.stamp[slot] = st;
    if (this.qLength * 2 === this.queue.length) this.compact();
    const q = this.queue;
    const at = ((this.qHead + this.qLength) * 2) % q.length;
    q[at] = slot;
    q[at + 1] = st;
    this.qLength++;
  }

  /** Takes the least recently used slot off the queue (every slot below `used` is in use). */
  private leastRecent(): number {
    const q = this.queue;
    for (;;) {
      const at = this.qHead * 2;
      const slot = q[at]!;
      const st = q[at + 1]!;
      this.qHead = (this.qHead + 1) % (q.length / 2);
      this.qLength--;
      if (this.stamp[slot] === st) return slot;
    }
  }

  /** Drops the queue entries of slots used again since (at most one entry per slot remains). */
  private compact(): void {
    const q = this.queue;
    const cap = q.length / 2;
    let w = 0;
    for (let i = 0; i < this.qLength; i++) {
      const at = ((this.qHead + i) % cap) * 2;
      const slot = q[at]!;
      const st = q[at + 1]!;
      if (this.stamp[slot] !== st) continue;
      // Written in place, in order, from the head: never ahead of what is still to be read.
      const to = ((this.qHead + w) % cap) * 2;
      q[to] = slot;
      q[to + 1] = st;
      w++;
    }
    this.qLength = w;
  }
}
