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
 * when full (an intrusive doubly linked list); per slot at most MAX_TAIL_MESSAGES texts and
 * TAIL_TEXT_CHARS characters. Lookups go by user id (one string per connection, its hash cached)
 * to that user's few slots, compared by room: no key string built, no room string hashed.
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

export class SplitTracker {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** user → that user's slots (one per room they wrote in recently; usually one). */
  private readonly slots = new Map<string, number[]>();
  private count = 0;
  private readonly at: Float64Array;
  /** Per slot and matcher (0 global, 1 room): automaton state after the last message, and whose. */
  private readonly state: Int32Array;
  private readonly stateOwner: Int32Array;
  /** Code of the last letter run of the recent text (-1: none). */
  private readonly lastCode: Int32Array;
  /** Word starts at the end of the recent text: bit i = a word starts i + 1 symbols from its end. */
  private readonly starts: Int32Array;
  /**
   * Recent message texts and ids: per slot a ring of MAX_TAIL_MESSAGES entries (flat arrays, so
   * recording a message is a few stores, not array reshaping), with its first entry, length and
   * total characters.
   */
  private readonly texts: string[];
  private readonly ids: string[];
  private readonly ringStart: Uint8Array;
  private readonly ringLength: Uint8Array;
  private readonly ringChars: Int32Array;
  private readonly slotUser: string[];
  private readonly slotRoom: string[];
  // LRU list over used slots: head = most recent, tail = least recent.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = -1;
  private tail = -1;
  private used = 0;
  // The (user, room) and slot of the last `lookup`, for the `save` that follows it.
  private current = -1;
  private currentUser = '';
  private currentRoom = '';

  constructor(opts: SplitTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_SPLIT_WINDOW_MS;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_SPLIT_MAX_ENTRIES);
    const n = this.maxEntries;
    this.at = new Float64Array(n);
    this.state = new Int32Array(n * 2);
    this.stateOwner = new Int32Array(n * 2);
    this.lastCode = new Int32Array(n).fill(-1);
    this.starts = new Int32Array(n);
    this.texts = new Array<string>(n * MAX_TAIL_MESSAGES).fill('');
    this.ids = new Array<string>(n * MAX_TAIL_MESSAGES).fill('');
    this.ringStart = new Uint8Array(n);
    this.ringLength = new Uint8Array(n);
    this.ringChars = new Int32Array(n);
    this.slotUser = new Array<string>(n).fill('');
    this.slotRoom = new Array<string>(n).fill('');
    this.prev = new Int32Array(n).fill(-1);
    this.next = new Int32Array(n).fill(-1);
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
    const mine = this.slots.get(userId);
    let slot = -1;
    if (mine) for (let k = 0; k < mine.length && slot < 0; k++) if (this.slotRoom[mine[k]!] === room) slot = mine[k]!;
    if (slot < 0) {
      this.current = -1;
      return -1;
    }
    this.touch(slot);
    this.current = slot;
    if (this.ringLength[slot] === 0 || now - this.at[slot]! > this.windowMs) {
      // Stale: forget it, the next save starts afresh.
      this.clear(slot);
      return -1;
    }
    return slot;
  }

  /** The state matcher `owner` (its id) ended in after the slot's text, or -1 if not known. */
  stateOf(slot: number, which: 0 | 1, owner: number): number {
    return this.stateOwner[slot * 2 + which] === owner ? this.state[slot * 2 + which]! : -1;
  }

  lastCodeOf(slot: number): number {
    return this.lastCode[slot]!;
  }

  /** Word starts at the end of the slot's text (bit i: i + 1 symbols before its end). */
  startsOf(slot: number): number {
    return this.starts[slot]!;
  }

  /** The slot's recent messages as one text, for matching them together with a new message. */
  tailOf(slot: number): Tail {
    let text = '';
    let starts: number[] = [];
    let ids: string[] = [];
    const base = slot * MAX_TAIL_MESSAGES;
    for (let k = 0; k < this.ringLength[slot]!; k++) {
      const at = base + ((this.ringStart[slot]! + k) % MAX_TAIL_MESSAGES);
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
    // The earlier text's word starts move back by this message's symbols (a fresh slot's only).
    const earlier = this.ringLength[slot]! > 0 && symbols < EARLIER_STARTS_BITS ? this.starts[slot]! << symbols : 0;
    this.starts[slot] = (earlier | starts) & ((1 << EARLIER_STARTS_BITS) - 1);
    const base = slot * MAX_TAIL_MESSAGES;
    if (this.ringLength[slot] === MAX_TAIL_MESSAGES) this.dropOldest(slot);
    // A slice may keep its message alive (V8 slices refer to their parent): bounded by the
    // two messages a slot keeps at most, each at most the gateway's text limit.
    const kept = text.length > TAIL_TEXT_CHARS ? text.slice(-TAIL_TEXT_CHARS) : text;
    const at = base + ((this.ringStart[slot]! + this.ringLength[slot]!) % MAX_TAIL_MESSAGES);
    this.texts[at] = kept;
    this.ids[at] = messageId;
    this.ringLength[slot]!++;
    this.ringChars[slot]! += kept.length;
    // Drop the oldest messages while the newer ones alone have enough text.
    while (this.ringLength[slot]! > 1 && this.ringChars[slot]! - this.texts[base + this.ringStart[slot]!]!.length >= TAIL_TEXT_CHARS) this.dropOldest(slot);
    this.state[slot * 2] = globalState;
    this.stateOwner[slot * 2] = globalOwner;
    this.state[slot * 2 + 1] = roomState;
    this.stateOwner[slot * 2 + 1] = roomOwner;
    if (lastCode >= 0) this.lastCode[slot] = lastCode;
    this.at[slot] = now;
    this.current = -1;
  }

  private dropOldest(slot: number): void {
    const at = slot * MAX_TAIL_MESSAGES + this.ringStart[slot]!;
    this.ringChars[slot]! -= this.texts[at]!.length;
    this.texts[at] = this.ids[at] = '';
    this.ringStart[slot] = (this.ringStart[slot]! + 1) % MAX_TAIL_MESSAGES;
    this.ringLength[slot]!--;
  }

  private clear(slot: number): void {
    while (this.ringLength[slot]! > 0) this.dropOldest(slot);
    this.ringStart[slot] = 0;
    this.lastCode[slot] = -1;
    this.starts[slot] = 0;
    this.stateOwner[slot * 2] = this.stateOwner[slot * 2 + 1] = 0;
  }

  private allocate(user: string, room: string): number {
    let slot: number;
    if (this.used < this.maxEntries) slot = this.used++;
    else {
      // Full: reuse the least recently used slot.
      slot = this.tail;
      this.unlink(slot);
      const theirs = this.slots.get(this.slotUser[slot]!)!;
      theirs.splice(theirs.indexOf(slot), 1);
      if (theirs.length === 0) this.slots.delete(this.slotUser[slot]!);
      this.count--;
    }
    this.clear(slot);
    const mine = this.slots.get(user);
    if (mine) mine.push(slot);
    else this.slots.set(user, [slot]);
    this.slotUser[slot] = user;
    this.slotRoom[slot] = room;
    this.count++;
    this.pushFront(slot);
    return slot;
  }

  private touch(slot: number): void {
    if (this.head === slot) return;
    this.unlink(slot);
    this.pushFront(slot);
  }

  private pushFront(slot: number): void {
    this.prev[slot] = -1;
    this.next[slot] = this.head;
    if (this.head >= 0) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail < 0) this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.prev[slot] = this.next[slot] = -1;
  }
}
