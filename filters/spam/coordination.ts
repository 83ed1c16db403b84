/**
 * Coordinated spam: the same or near-same text from many accounts in a short window.
 *
 * Two stages, because nearly every long chat line is sent once, by one user:
 *
 * 1. A fixed-size sketch (typed arrays, nothing allocated per message): each long message writes
 *    its signature (16 bits per bin), sender, room, message id and time into a ring, and its BANDS
 *    band keys (fingerprint.ts) into their slots with its sequence number (which names its ring
 *    place). A later message from ANOTHER user that finds one of its band keys in the sketch within
 *    the window, and whose signature is similar enough to the one in the ring, starts stage 2.
 *    Laid out for the cache, since every long message probes and writes BANDS random slots: a slot
 *    is four adjacent int32s (key, sequence, the last-seen time of stage 2 below, unused), one
 *    cache line per probe; what a message is (sender, room, id, time, signature) is written once,
 *    in ring order. (One band alone is weak
 *    evidence: chat lines built from common words share 4-bin bands with some earlier line all
 *    the time — measured, nearly every line on a small vocabulary — so the full signature
 *    decides.) A slot is overwritten by the next key that hashes there: first sightings are
 *    forgotten after ~ slots / (BANDS × long messages per second) seconds — minutes at ordinary
 *    rates; a raid repeats its text fast enough not to be forgotten.
 * 2. A group candidate (an entry, bounded LRU): the texts seen from ≥ 2 accounts. The entry keeps
 *    a representative signature (a later message joins only if similar enough to it) and the
 *    distinct users within the window with room and message id. Each sketch slot also keeps, for
 *    the band keys that fall on it, when an entry filed under one of them was last seen: a band
 *    whose slot has seen nothing within the window skips the entry index (no live entry can be
 *    filed under it) — the bands of ordinary lines, and of lines whose entry went stale.
 *    When the users in one room reach `coordRoomUsers`, or all users reach `coordGlobalUsers`,
 *    the entry becomes a group: this message and every later one matching it — in any room,
 *    while the campaign goes on (a sighting within the window) — are refused.
 *
 * The messages before detection were delivered: nothing can tell a campaign from its first
 * copies. They are counted (`groupDeliveredBeforeDetection`) and listed in the group report
 * (`onGroup`: user, room, message id) so that the caller can delete them.
 *
 * With Redis, every long message's sighting is shipped in the periodic sync (cluster-sync.ts)
 * under each of its band keys, and the merged sightings of all nodes come back: a text sent by
 * accounts on different nodes becomes a candidate, and then a group, as if on one node.
 * Detection on a node lags by one sync. Group ids derive from the representative's smallest band
 * key, so nodes that saw the same text name the group alike.
 */
import { BANDS, bandKey, SIG_BINS, similarityAtLeast, type Signature } from './fingerprint.ts';
import { Lru } from './lru.ts';
import type { SpamCapacity, SpamLimits } from './limits.ts';
import type { GroupMember } from './types.ts';

interface Member {
  userId: string;
  at: number;
  room: string;
  msgId: string;
}

/** Members of a group, frozen and cached: `evidence` is `group:<id>`, then `user:<id>` for each. */
export interface MemberList {
  members: readonly GroupMember[];
  ids: readonly string[];
  evidence: readonly string[];
}

export class CoordEntry {
  /** Distinct users: a small array (≤ groupMembers), searched linearly. */
  members: Member[] = [];
  /** Local sightings not yet shipped to Redis, flat: userId, at, room, msgId, ... */
  unsynced: (string | number)[] | undefined;
  /** Set once the entry reached a threshold. */
  group: { id: string; scope: 'room' | 'global'; room: string | undefined } | undefined;
  /** Bumped when members change: keys the member-list cache. */
  version = 0;
  cache: (MemberList & { version: number }) | undefined;

  constructor(
    /** Band keys it is filed under. */
    readonly keys: readonly number[],
    /** Representative signature; undefined for an entry made from other nodes' sightings until a
     *  local message joins it (then that message's signature). */
    public rep: Signature | undefined,
    public lastAt: number,
  ) {}

  find(userId: string): Member | undefined {
    const m = this.members;
    for (let i = 0; i < m.length; i++) if (m[i]!.userId === userId) return m[i];
    return undefined;
  }

  /** Smallest band key: names the group. */
  get primary(): number {
    let m = this.keys[0]!;
    for (const k of this.keys) if (k < m) m = k;
    return m;
  }
}

export interface CoordHit {
  entry: CoordEntry;
  /** The message that made the entry a group (first detection on this node). */
  first: boolean;
  /** Distinct users in the window when detected (in the room for scope `room`). */
  count: number;
}

/** One field of a sync: a band key, the sightings filed under it, and what to do with the answer. */
export interface Shipment {
  field: string;
  sightings: (string | number)[];
  merge(json: string, now: number): void;
}

const EMPTY_KEY = -1;
const BIN16 = 0xffff;
/** A loose sighting waiting to be shipped, flat: its BANDS band keys, userId, at, room, msgId,
 *  then its SIG_BINS signature bins (kept here, not shipped). */
const LOOSE_FIELDS = BANDS + 4 + SIG_BINS;
/** Int32s per sketch slot, and their meaning. */
const SLOT = 4;
const S_KEY = 0;
/** Sequence number (int32) of the message that wrote the key. */
const S_SEQ = 1;
/** An upper bound of `lastAt` of every entry ever filed under a key that falls on this slot, in
 *  units of SEEN_UNIT_MS since `epoch`, rounded up. */
const S_SEEN = 2;
const SEEN_UNIT_MS = 1024;
const SEEN_NEVER = -0x80000000;

export class Coordination {
  private readonly slotMask: number;
  /** SLOT int32s per slot: the band key (EMPTY_KEY: none), the sequence number of the message
   *  that wrote it, and the last-seen time of entries filed under keys falling on the slot. */
  private readonly slots: Int32Array;
  /** Per ring place (one per filed message, in order): its sequence number, signature (16 bits
   *  per bin: a 1/65536 chance that two different bin values look equal, negligible next to the
   *  estimate's own error), time, sender, room and message id. */
  private readonly ringSeq: Int32Array;
  private readonly ringSig: Uint16Array;
  private readonly ringAt: Float64Array;
  private readonly ringUser: string[];
  private readonly ringRoom: string[];
  private readonly ringMsg: string[];
  private readonly ringMask: number;
  private seq = 0;
  private readonly minEqual: number;
  /** Candidates: band key → entry (each entry under each of its keys). */
  private readonly entries: Lru<number, CoordEntry>;
  /** Origin of the slots' last-seen times (the first time this sketch was given). */
  private epoch = NaN;
  private readonly dirty = new Set<CoordEntry>();
  /** Sightings of texts without an entry, waiting for the sync: LOOSE_FIELDS values each. */
  private loose: (string | number)[] = [];
  private readonly keys = new Array<number>(BANDS).fill(0);

  constructor(
    private readonly limits: Readonly<SpamLimits>,
    private readonly capacity: Readonly<SpamCapacity>,
    private readonly clustered: boolean,
  ) {
    const slots = 2 ** Math.ceil(Math.log2(capacity.coordinationSketch));
    this.slotMask = slots - 1;
    this.slots = new Int32Array(slots * SLOT);
    for (let s = 0; s < slots; s++) {
      this.slots[s * SLOT + S_KEY] = EMPTY_KEY;
      this.slots[s * SLOT + S_SEEN] = SEEN_NEVER;
    }
    // One ring place per message, BANDS slots per message: the ring outlives what the slots can point at.
    const ring = 2 ** Math.ceil(Math.log2(Math.max(2, slots / BANDS)));
    this.ringMask = ring - 1;
    this.ringSeq = new Int32Array(ring).fill(-1);
    this.ringSig = new Uint16Array(ring * SIG_BINS);
    this.ringAt = new Float64Array(ring);
    this.ringUser = new Array<string>(ring).fill('');
    this.ringRoom = new Array<string>(ring).fill('');
    this.ringMsg = new Array<string>(ring).fill('');
    this.minEqual = Math.ceil(limits.coordJaccard * SIG_BINS - 1e-9);
    this.entries = new Lru(capacity.coordination);
  }

  /** Candidate index slots held (BANDS per candidate). */
  get size(): number {
    return this.entries.size;
  }

  get evicted(): number {
    return this.entries.evicted;
  }

  /** Files one message (a non-exempt user, long enough); says whether it belongs to a group. */
  observe(sig: Signature, userId: string, room: string, msgId: string, now: number): CoordHit | undefined {
    const cutoff = now - this.limits.coordWindowMs;
    const keys = this.keys;
    if (this.epoch !== this.epoch) this.epoch = now;
    // A bucket last seen before this unit holds no entry within the window.
    const liveUnit = Math.floor((cutoff - this.epoch) / SEEN_UNIT_MS);
    let e: CoordEntry | undefined;
    for (let b = 0; b < BANDS; b++) {
      const key = bandKey(sig, b);
      keys[b] = key;
      if (e !== undefined || this.slots[(key & this.slotMask) * SLOT + S_SEEN]! < liveUnit) continue;
      const c = this.entries.get(key);
      if (c !== undefined && c.lastAt >= cutoff && (c.rep === undefined || similarityAtLeast(c.rep, sig, this.limits.coordJaccard) >= 0)) e = c;
    }
    if (e === undefined) {
      // Stage 1: has another user sent this text recently?
      const slots = this.slots;
      let pos = -1;
      for (let b = 0; b < BANDS; b++) {
        const s = (keys[b]! & this.slotMask) * SLOT;
        if (slots[s + S_KEY] !== keys[b]) continue;
        const seq = slots[s + S_SEQ]!;
        const p = seq & this.ringMask;
        if (this.ringSeq[p] === seq && this.ringAt[p]! >= cutoff && this.ringUser[p] !== userId && this.ringMatches(p, sig)) {
          pos = p;
          break;
        }
      }
      if (pos === -1) {
        const seq = this.seq++ | 0;
        const p = seq & this.ringMask;
        const base = p * SIG_BINS;
        for (let k = 0; k < SIG_BINS; k++) this.ringSig[base + k] = sig[k]! & BIN16;
        this.ringSeq[p] = seq;
        this.ringAt[p] = now;
        this.ringUser[p] = userId;
        this.ringRoom[p] = room;
        this.ringMsg[p] = msgId;
        for (let b = 0; b < BANDS; b++) {
          const s = (keys[b]! & this.slotMask) * SLOT;
          slots[s + S_KEY] = keys[b]!;
          slots[s + S_SEQ] = seq;
        }
        if (this.clustered && this.loose.length < this.capacity.pendingMessages * LOOSE_FIELDS) {
          for (let b = 0; b < BANDS; b++) this.loose.push(keys[b]!);
          this.loose.push(userId, now, room, msgId);
          // The signature stays here, not shipped, copied bin by bin (no array per message): an
          // entry the cluster's answer makes from this sighting takes it as its representative.
          for (let k = 0; k < SIG_BINS; k++) this.loose.push(sig[k]!);
        }
        return undefined;
      }
      e = this.promote(keys.slice(), sig.slice(), now);
      e.members.push({ userId: this.ringUser[pos]!, at: this.ringAt[pos]!, room: this.ringRoom[pos]!, msgId: this.ringMsg[pos]! });
    } else if (e.rep === undefined) {
      e.rep = sig.slice();
    }
    this.touch(e, now);
    const m = e.find(userId);
    if (m) {
      if (m.room !== room) e.version++;
      m.at = now;
      m.room = room;
      m.msgId = msgId;
    } else if (e.members.length < this.capacity.groupMembers) {
      e.members.push({ userId, at: now, room, msgId });
      e.version++;
    }
    if (this.clustered) {
      (e.unsynced ??= []).push(userId, now, room, msgId);
      this.dirty.add(e);
    }
    if (e.group) return { entry: e, first: false, count: e.members.length };
    return this.detect(e, room, cutoff);
  }

  /** Whether the signature at ring place `pos` is similar to `sig`. */
  private ringMatches(pos: number, sig: Signature): boolean {
    const base = pos * SIG_BINS;
    let miss = 0;
    const allowed = SIG_BINS - this.minEqual;
    for (let k = 0; k < SIG_BINS; k++) {
      if ((sig[k]! & BIN16) !== this.ringSig[base + k] && ++miss > allowed) return false;
    }
    return true;
  }

  private promote(keys: number[], rep: Signature | undefined, now: number): CoordEntry {
    const e = new CoordEntry(keys, rep, now);
    for (const k of keys) this.file(k, e);
    return e;
  }

  /** Files `e` under `key` in the entry index, and marks the key's slot seen. */
  private file(key: number, e: CoordEntry): void {
    this.entries.set(key, e);
    this.markSeen(key, e.lastAt);
  }

  /** Entry `e` was seen at `at`: its `lastAt` and its keys' slots follow. */
  private touch(e: CoordEntry, at: number): void {
    e.lastAt = at;
    for (let i = 0; i < e.keys.length; i++) this.markSeen(e.keys[i]!, at);
  }

  private markSeen(key: number, at: number): void {
    if (this.epoch !== this.epoch) this.epoch = at;
    const unit = Math.min(0x7fffffff, Math.max(SEEN_NEVER + 1, Math.ceil((at - this.epoch) / SEEN_UNIT_MS)));
    const s = (key & this.slotMask) * SLOT + S_SEEN;
    if (this.slots[s]! < unit) this.slots[s] = unit;
  }

  /** Counts the entry's users in the window; makes it a group at a threshold. */
  private detect(e: CoordEntry, room: string, cutoff: number): CoordHit | undefined {
    const roomK = this.limits.coordRoomUsers;
    if (e.members.length < roomK) return undefined; // too few for any threshold (roomK <= globalK)
    let total = 0;
    let inRoom = 0;
    let stale = false;
    for (const m of e.members) {
      if (m.at < cutoff) {
        stale = true;
        continue;
      }
      total++;
      if (m.room === room) inRoom++;
    }
    if (stale) {
      e.members = e.members.filter((m) => m.at >= cutoff);
      e.version++;
    }
    const scope = inRoom >= roomK ? 'room' : total >= this.limits.coordGlobalUsers ? 'global' : undefined;
    if (scope === undefined) return undefined;
    e.group = { id: `cg-${e.primary.toString(16)}`, scope, room: scope === 'room' ? room : undefined };
    return { entry: e, first: true, count: scope === 'room' ? inRoom : total };
  }

  /** Members of an entry (frozen, cached until they change), most recent first. */
  members(entry: CoordEntry): MemberList {
    const c = entry.cache;
    if (c !== undefined && c.version === entry.version) return c;
    const members: GroupMember[] = [];
    for (const m of entry.members) members.push(Object.freeze({ userId: m.userId, room: m.room, messageId: m.msgId, at: m.at }));
    members.sort((a, b) => b.at - a.at);
    const ids = Object.freeze(members.map((m) => m.userId));
    const evidence = Object.freeze([`group:${entry.group?.id ?? `cg-${entry.primary.toString(16)}`}`, ...ids.map((u) => `user:${u}`)]);
    entry.cache = { version: entry.version, members: Object.freeze(members), ids, evidence };
    return entry.cache;
  }

  /**
   * Hands out local sightings to ship, grouped by band key (about `maxFields` fields), and
   * forgets them. Each shipment merges the cluster's answer back.
   */
  takeUnsynced(maxFields: number): Shipment[] {
    const out: Shipment[] = [];
    for (const e of this.dirty) {
      if (out.length + e.keys.length > maxFields) break;
      this.dirty.delete(e);
      const s = e.unsynced;
      e.unsynced = undefined;
      if (!s || s.length === 0) continue;
      // Under every band key: a node whose entry for a variant of this text shares any band merges the same members.
      for (const k of e.keys) out.push({ field: String(k), sightings: s, merge: (json, now) => this.mergeRemote(e, json, now) });
    }
    const per = LOOSE_FIELDS;
    const byKey = new Map<number, { sightings: (string | number)[]; keys: number[]; sig: Signature }>();
    let i = 0;
    const loose = this.loose;
    for (; i + per <= loose.length; i += per) {
      if (out.length + byKey.size + BANDS > maxFields) break;
      const keys = loose.slice(i, i + BANDS) as number[];
      const sighting = loose.slice(i + BANDS, i + BANDS + 4);
      for (const k of keys) {
        let g = byKey.get(k);
        if (!g) byKey.set(k, (g = { sightings: [], keys, sig: loose.slice(i + BANDS + 4, i + per) as Signature }));
        for (const x of sighting) g.sightings.push(x);
      }
    }
    this.loose = i >= loose.length ? [] : loose.slice(i);
    for (const [k, g] of byKey) out.push({ field: String(k), sightings: g.sightings, merge: (json, now) => this.mergeLoose(g.keys, g.sig, json, now) });
    // One shipment per field: the script reads every field before it writes, so a field sent
    // twice in one sync would keep only its last copy's sightings.
    const byField = new Map<string, Shipment>();
    for (const sh of out) {
      const prev = byField.get(sh.field);
      if (!prev) {
        byField.set(sh.field, sh);
        continue;
      }
      const first = prev.merge;
      byField.set(sh.field, {
        field: sh.field,
        sightings: prev.sightings.concat(sh.sightings),
        merge: (json, now) => {
          first(json, now);
          sh.merge(json, now);
        },
      });
    }
    return [...byField.values()];
  }

  /** Drops unsynced sightings (Redis unavailable: they are not shipped late). */
  discardUnsynced(): void {
    for (const e of this.dirty) e.unsynced = undefined;
    this.dirty.clear();
    this.loose = [];
  }

  /**
   * The cluster's sightings of a text this node has no entry for: an entry once ≥ 2 users, with
   * the local message's signature `sig` as its representative. Sightings carry band keys only,
   * so the members may include texts that merely share one band; the representative keeps a
   * later local message from joining unless it is similar to the local one (without it, any
   * message sharing one band joined, and chance band collisions grew into "coordinated" groups).
   */
  private mergeLoose(keys: number[], sig: Signature, json: string, now: number): void {
    const remote = parseMembers(json, now - this.limits.coordWindowMs);
    if (remote.length < 2) return;
    let e: CoordEntry | undefined;
    for (const k of keys) {
      const c = this.entries.peek(k);
      if (c !== undefined && c.lastAt >= now - this.limits.coordWindowMs && (c.rep === undefined || similarityAtLeast(c.rep, sig, this.limits.coordJaccard) >= 0)) {
        e = c;
        break;
      }
    }
    e ??= this.promote(keys, sig, now);
    this.absorb(e, remote);
  }

  /** Merges the cluster's members of an entry. */
  private mergeRemote(entry: CoordEntry, json: string, now: number): void {
    if (this.entries.peek(entry.keys[0]!) !== entry && this.entries.peek(entry.keys[1]!) !== entry) return; // replaced or evicted
    this.absorb(entry, parseMembers(json, now - this.limits.coordWindowMs));
  }

  private absorb(entry: CoordEntry, remote: Member[]): void {
    for (const r of remote) {
      const m = entry.find(r.userId);
      if (m) {
        if (m.at >= r.at) continue;
        m.at = r.at;
        m.room = r.room;
        m.msgId = r.msgId;
      } else if (entry.members.length < this.capacity.groupMembers) {
        entry.members.push(r);
      } else continue;
      entry.version++;
      if (r.at > entry.lastAt) this.touch(entry, r.at);
    }
  }
}

/** `{ userId: [at, room, msgId] }` from Redis → members within the window (malformed parts skipped). */
function parseMembers(json: string, cutoff: number): Member[] {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch {
    return [];
  }
  if (!obj || typeof obj !== 'object') return [];
  const out: Member[] = [];
  for (const [userId, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!Array.isArray(v)) continue;
    const [at, room, msgId] = v as [unknown, unknown, unknown];
    if (typeof at !== 'number' || typeof room !== 'string' || typeof msgId !== 'string' || at < cutoff) continue;
    out.push({ userId, at, room, msgId });
  }
  return out;
}
