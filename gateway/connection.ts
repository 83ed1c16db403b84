/**
 * One client connection, whichever door it came through. The doors (raw `/ws`, socket.io) differ in
 * framing and in how they join a room's shared topic; everything above them — rooms, the message
 * path, replies — sees only this interface.
 */
import type { Logger } from './logger.ts';
import type { Identity } from './protocol.ts';

export type Door = 'ws' | 'sio';

/**
 * The rooms a connection has joined: a few per connection (capped by limits.maxRoomsPerConnection),
 * so an array beats a Set's hash table on memory (an idle connection in one room: ~40 bytes
 * instead of ~150). The array is replaced on every change, so leaving rooms while iterating is safe.
 */
export class RoomSet implements Iterable<string> {
  private items: readonly string[] = [];

  get size(): number {
    return this.items.length;
  }

  has(room: string): boolean {
    return this.items.includes(room);
  }

  add(room: string): this {
    // A new exact-size array each time (push or spread would reserve spare slots).
    if (!this.items.includes(room)) this.items = this.items.concat(room);
    return this;
  }

  delete(room: string): boolean {
    if (!this.items.includes(room)) return false;
    this.items = this.items.filter((r) => r !== room);
    return true;
  }

  /** Safe while rooms are added or left: add and delete replace the array, never change it. */
  [Symbol.iterator](): Iterator<string> {
    return this.items[Symbol.iterator]();
  }
}

/** What a connection needs from its door, shared by every connection of that door. */
export interface ConnHost {
  readonly config: { readonly limits: { readonly floodRatePerSec: number; readonly floodBurst: number } };
  /** A connection's log child: never carries the token or message bodies. */
  connLog(connId: string, door: Door, user: Identity): Logger;
}

/**
 * State every connection carries, kept small: an idle connection is mostly this object (10k per
 * node is the density bar). The log child is made on first use — most connections never log —
 * and the flood limit is two numbers here, not an object per connection.
 */
export abstract class BaseConn {
  abstract readonly door: Door;
  readonly rooms = new RoomSet();
  tail: Promise<void> | undefined = undefined;
  ready: Promise<void> | undefined = undefined;
  closed = false;
  /**
   * Hard flood limit: a token bucket (config.limits.floodRatePerSec, floodBurst), kept in
   * integers (milli-tokens; ms since the process started) so V8 stores them in the object
   * instead of boxing two doubles per connection.
   */
  private floodMilli: number;
  private floodLast: number;
  private logger: Logger | undefined = undefined;

  constructor(
    readonly id: string,
    readonly user: Identity,
    readonly ip: string,
    private readonly host: ConnHost,
  ) {
    this.floodMilli = host.config.limits.floodBurst * 1000;
    this.floodLast = Math.floor(performance.now());
  }

  get log(): Logger {
    return (this.logger ??= this.host.connLog(this.id, this.door, this.user));
  }

  takeFlood(now = performance.now()): boolean {
    const { floodRatePerSec, floodBurst } = this.host.config.limits;
    const t = Math.floor(now);
    // Elapsed ms × tokens per second = milli-tokens earned.
    this.floodMilli = Math.min(floodBurst * 1000, this.floodMilli + (t - this.floodLast) * floodRatePerSec);
    this.floodLast = t;
    if (this.floodMilli < 1000) return false;
    this.floodMilli -= 1000;
    return true;
  }
}

export interface Conn {
  readonly id: string;
  readonly door: Door;
  readonly user: Identity;
  /** Remote address as the gateway saw it (for IP bans). */
  readonly ip: string;
  readonly log: Logger;
  /** Rooms this connection has joined. */
  readonly rooms: RoomSet;
  /** Take one message from the hard flood limit; false: over it (the door closes the connection). */
  takeFlood(): boolean;
  /** Set while what the user controls is still loading after the handshake: requests wait on it. */
  ready: Promise<void> | undefined;
  /** Tail of this connection's in-flight message work, so a sender's messages stay in order. */
  tail: Promise<void> | undefined;
  closed: boolean;
  /** Send one event to this client. */
  emit(event: string, data: unknown): void;
  /** Send a pre-serialised raw-door event frame (same bytes for many recipients). Socket.io ignores. */
  sendRawFrame?(frame: string): void;
  /** Join / leave the room's shared broadcast topic (native uWS publish, no JS per recipient). */
  subscribeShared(room: string): void;
  unsubscribeShared(room: string): void;
  /** Bytes queued to the client and not yet written (slow-reader detection). */
  bufferedAmount(): number;
  /** Close the connection. `reconnect` tells clients whether coming back makes sense. */
  close(reason: string, reconnect: boolean): void;
}
