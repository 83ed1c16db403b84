/**
 * One client connection, whichever door it came through. The doors (raw `/ws`, socket.io) differ in
 * framing and in how they join a room's shared topic; everything above them — rooms, the message
 * path, replies — sees only this interface.
 */
import type { Logger } from './logger.ts';
import type { Identity } from './protocol.ts';

export type Door = 'ws' | 'sio';

/** A token bucket: the per-connection hard flood limit. Abuse past it closes the connection. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }
  take(now = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
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
  readonly rooms: Set<string>;
  readonly flood: TokenBucket;
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
