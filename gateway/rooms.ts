/**
 * Rooms on this node and the fan-out to their members, both doors at once.
 *
 * Fan-out is where the CPU goes, so the common case costs no JS per recipient: members without
 * personal rules share the room's uWS topics (raw door: one pre-serialised frame published natively;
 * socket.io: its uWS adapter does the same for WebSocket transports). Members with personal rules
 * (a block list, a comment filter) leave the shared topics and get individual delivery, so one user's blocks
 * never take the fast path away from everybody else.
 */
import type { Namespace } from 'socket.io';
import type { TemplatedApp } from 'uWebSockets.js';
import type { Conn } from './connection.ts';
import type { RoomSettings } from './protocol.ts';

const SEP = '\x1f';
/** uWS topic for raw-door members of a room. */
export const rawTopic = (room: string): string => `ws${SEP}${room}`;
/** socket.io room name: the `r:` prefix keeps room ids apart from socket ids (which never hold ':'). */
export const sioRoom = (room: string): string => `r:${room}`;

export const DEFAULT_ROOM_SETTINGS: Readonly<RoomSettings> = Object.freeze({ slowModeSec: 0, linksAllowed: true });

interface RoomState {
  members: Set<Conn>;
  /** Members delivered to one by one (they have personal rules). */
  personal: Set<Conn>;
  sharedWs: number;
  sharedSio: number;
  /** The room's uWS topic for raw-door members, made once (publish runs per message). */
  wsTopic: string;
}

/** Per-user rules that make a recipient "personal". */
export interface RecipientRules {
  /** True if this user has any rule that needs per-message decisions. */
  isPersonal(userId: string): boolean;
  /** Whether `userId` wants to receive a message from `senderId` (with this text, if any). */
  accepts(userId: string, senderId: string | undefined, text: string | undefined): boolean;
}

const NONE: readonly Conn[] = Object.freeze([]);

export class Rooms {
  private readonly rooms = new Map<string, RoomState>();
  /** A user's connections on this node: an array (usually of one), lighter than a Set. */
  private readonly byUser = new Map<string, readonly Conn[]>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly nsp: Namespace,
    private readonly rules: RecipientRules,
    /** Room settings (shared by every node); absent = defaults. */
    private readonly roomSettings: (room: string) => Partial<RoomSettings> | undefined = () => undefined,
  ) {}

  get size(): number {
    return this.rooms.size;
  }

  has(room: string): boolean {
    return this.rooms.has(room);
  }

  /** Members of a room on this node. */
  memberCount(room: string): number {
    return this.rooms.get(room)?.members.size ?? 0;
  }

  /**
   * The room's settings with the defaults filled in. Asked on every message (the spam filter), so
   * the merged object is made once per stored settings document and shared: do not modify it.
   */
  settings(room: string): Readonly<RoomSettings> {
    const stored = this.roomSettings(room);
    if (!stored) return DEFAULT_ROOM_SETTINGS;
    let merged = this.merged.get(stored);
    if (!merged) this.merged.set(stored, (merged = Object.freeze({ ...DEFAULT_ROOM_SETTINGS, ...stored })));
    return merged;
  }

  /** Merged settings by the stored document they came from (a change stores a new document). */
  private readonly merged = new WeakMap<object, Readonly<RoomSettings>>();

  /** Track a connection (on open). */
  add(conn: Conn): void {
    // Arrays are replaced, never changed in place (exact size; safe to iterate while closing).
    const list = this.byUser.get(conn.user.id);
    if (!list) this.byUser.set(conn.user.id, [conn]);
    else if (!list.includes(conn)) this.byUser.set(conn.user.id, list.concat(conn));
  }

  /** Forget a connection (on close); returns the rooms left empty on this node. */
  remove(conn: Conn): string[] {
    const emptied: string[] = [];
    for (const room of conn.rooms) if (this.leave(conn, room, false)) emptied.push(room);
    const list = this.byUser.get(conn.user.id);
    if (list?.includes(conn)) {
      if (list.length === 1) this.byUser.delete(conn.user.id);
      else this.byUser.set(conn.user.id, list.filter((c) => c !== conn));
    }
    return emptied;
  }

  /** The user's connections on this node (a snapshot: closing them does not change it). */
  connectionsOf(userId: string): readonly Conn[] {
    return this.byUser.get(userId) ?? NONE;
  }

  /** Returns true when this is the room's first member on this node. */
  join(conn: Conn, room: string): boolean {
    if (conn.rooms.has(room)) return false;
    let state = this.rooms.get(room);
    const first = !state;
    if (!state) {
      state = { members: new Set(), personal: new Set(), sharedWs: 0, sharedSio: 0, wsTopic: rawTopic(room) };
      this.rooms.set(room, state);
    }
    conn.rooms.add(room);
    state.members.add(conn);
    if (this.rules.isPersonal(conn.user.id)) state.personal.add(conn);
    else this.share(state, conn, room);
    return first;
  }

  /** Returns true when the room is now empty on this node. */
  leave(conn: Conn, room: string, unsubscribe = true): boolean {
    const state = this.rooms.get(room);
    conn.rooms.delete(room);
    if (!state || !state.members.delete(conn)) return false;
    if (!state.personal.delete(conn)) this.unshare(state, conn, room, unsubscribe);
    if (state.members.size === 0) {
      this.rooms.delete(room);
      return true;
    }
    return false;
  }

  /** Re-sort a user's connections after their personal rules changed (e.g. first block). */
  refreshUser(userId: string): void {
    const personal = this.rules.isPersonal(userId);
    for (const conn of this.connectionsOf(userId)) {
      for (const room of conn.rooms) {
        const state = this.rooms.get(room);
        if (!state) continue;
        const isPersonal = state.personal.has(conn);
        if (personal && !isPersonal) {
          this.unshare(state, conn, room, true);
          state.personal.add(conn);
        } else if (!personal && isPersonal) {
          state.personal.delete(conn);
          this.share(state, conn, room);
        }
      }
    }
  }

  /**
   * Deliver an event to every member of `room` on this node. `senderId` lets personal rules (blocks)
   * drop it for the recipients who asked so.
   */
  deliver(room: string, event: string, data: unknown, senderId?: string): void {
    const state = this.rooms.get(room);
    if (!state) return;
    let frame: string | undefined;
    if (state.sharedWs > 0) {
      frame = JSON.stringify({ event, data });
      this.app.publish(state.wsTopic, frame, false);
    }
    if (state.sharedSio > 0) this.nsp.local.to(sioRoom(room)).emit(event, data);
    const text = event === 'message' ? (data as { text?: string }).text : undefined;
    for (const conn of state.personal) {
      if (conn.closed || !this.rules.accepts(conn.user.id, senderId, text)) continue;
      if (conn.sendRawFrame) conn.sendRawFrame((frame ??= JSON.stringify({ event, data })));
      else conn.emit(event, data);
    }
  }

  private share(state: RoomState, conn: Conn, room: string): void {
    conn.subscribeShared(room);
    if (conn.door === 'ws') state.sharedWs++;
    else state.sharedSio++;
  }

  private unshare(state: RoomState, conn: Conn, room: string, unsubscribe: boolean): void {
    if (unsubscribe && !conn.closed) conn.unsubscribeShared(room);
    if (conn.door === 'ws') state.sharedWs--;
    else state.sharedSio--;
  }
}
