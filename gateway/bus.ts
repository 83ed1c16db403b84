/**
 * The room bus between gateway nodes.
 *
 * One mechanism serves both doors: an event for a room is delivered on the sending node directly,
 * and published once on the room's Redis pub/sub channel; every other node that has members in the
 * room is subscribed to that channel and delivers it to its own members (socket.io and raw alike,
 * with the same per-recipient rules). socket.io's Redis adapter was not used because it carries only
 * the socket.io door, and remote deliveries would bypass the raw door and the per-recipient rules.
 *
 * Guarantee (docs/architecture.md): at most once, in per-sender order. A node subscribes to a room's
 * channel before it acknowledges the first `room:join` there, so everything published after a join
 * reply reaches that member while both nodes stay connected to Redis; events published while a
 * node's subscriber is reconnecting are not replayed (chat is ephemeral — sanction state, which
 * must not be lost, travels through a versioned log instead).
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

export type Deliver = (room: string, event: string, data: unknown, senderId: string | undefined) => void;
/** Node-to-node notes that are not room events (e.g. a user's block list changed). */
export type OnControl = (type: string, data: unknown) => void;

export interface Bus {
  readonly clustered: boolean;
  /** Start receiving the room's events from other nodes (resolves once subscribed). */
  join(room: string): Promise<void>;
  /** Stop receiving them (the last local member left). */
  leave(room: string): void;
  /** Send an event to the other nodes' members of `room`. Never throws, never waits. */
  publish(room: string, event: string, data: unknown, senderId: string | undefined): void;
  /** Tell every other node something (best effort, like publish). */
  publishControl(type: string, data: unknown): void;
  /** null when healthy, else why not. */
  unhealthy(): string | null;
  close(): Promise<void>;
}

/** Single node: nothing to tell anybody. */
export class LocalBus implements Bus {
  readonly clustered = false;
  async join(): Promise<void> {}
  leave(): void {}
  publish(): void {}
  publishControl(): void {}
  unhealthy(): null {
    return null;
  }
  async close(): Promise<void> {}
}

const CHANNEL_PREFIX = 'modgate:room:';
const CONTROL_CHANNEL = 'modgate:control';

/** ioredis options for connections that must never make the message path wait. */
export function fastFailRedisOptions(name: string) {
  return {
    connectionName: name,
    // Queueing commands while disconnected would make a publish hang far past any budget.
    enableOfflineQueue: false,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    // Reconnect quickly with jitter, capped at 2 s, forever: a node must come back by itself.
    retryStrategy: (times: number) => Math.min(2000, 50 * 2 ** Math.min(times, 6)) + Math.floor(Math.random() * 100),
    lazyConnect: true,
  } as const;
}

export class RedisBus implements Bus {
  readonly clustered = true;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly subscribed = new Map<string, Promise<void>>();

  constructor(
    url: string,
    private readonly nodeId: string,
    private readonly deliver: Deliver,
    private readonly control: OnControl,
    private readonly log: Logger,
    private readonly onError: (op: 'publish' | 'subscribe' | 'decode') => void,
  ) {
    this.pub = new Redis(url, fastFailRedisOptions(`modgate-bus-pub-${nodeId}`));
    // The subscriber may queue its (re)subscriptions while disconnected: ioredis replays them.
    this.sub = new Redis(url, { ...fastFailRedisOptions(`modgate-bus-sub-${nodeId}`), enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    for (const [name, c] of [['pub', this.pub], ['sub', this.sub]] as const) {
      c.on('error', (e: Error) => this.log.warn({ err: e.message, conn: name }, 'bus redis error'));
    }
    this.sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.onMessage(channel, payload));
  }

  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    await this.sub.subscribe(CONTROL_CHANNEL);
  }

  private onMessage(channel: Buffer, payload: Buffer): void {
    let m: { n: string; e: string; d: unknown; s?: string };
    try {
      m = JSON.parse(payload.toString('utf8'));
    } catch {
      this.onError('decode');
      return;
    }
    if (m.n === this.nodeId) return; // delivered locally already
    const name = channel.toString('utf8');
    if (name === CONTROL_CHANNEL) return this.control(m.e, m.d);
    this.deliver(name.slice(CHANNEL_PREFIX.length), m.e, m.d, m.s);
  }

  join(room: string): Promise<void> {
    let p = this.subscribed.get(room);
    if (!p && this.sub.status !== 'ready') {
      // Redis is away: the subscription waits in ioredis's queue and is made on reconnect. The
      // member joins now (same-node delivery does not need Redis) rather than hang.
      this.subscribed.set(room, Promise.resolve());
      this.sub.subscribe(CHANNEL_PREFIX + room).catch(() => {
        this.subscribed.delete(room);
        this.onError('subscribe');
      });
      return Promise.resolve();
    }
    if (!p) {
      p = this.sub.subscribe(CHANNEL_PREFIX + room).then(
        () => undefined,
        (e: Error) => {
          this.subscribed.delete(room);
          this.onError('subscribe');
          throw e;
        },
      );
      this.subscribed.set(room, p);
    }
    return p;
  }

  leave(room: string): void {
    if (!this.subscribed.delete(room)) return;
    this.sub.unsubscribe(CHANNEL_PREFIX + room).catch(() => this.onError('subscribe'));
  }

  publish(room: string, event: string, data: unknown, senderId: string | undefined): void {
    const payload = JSON.stringify({ n: this.nodeId, e: event, d: data, s: senderId });
    this.pub.publish(CHANNEL_PREFIX + room, payload).catch(() => this.onError('publish'));
  }

  publishControl(type: string, data: unknown): void {
    const payload = JSON.stringify({ n: this.nodeId, e: type, d: data });
    this.pub.publish(CONTROL_CHANNEL, payload).catch(() => this.onError('publish'));
  }

  unhealthy(): string | null {
    if (this.pub.status !== 'ready') return `redis publisher ${this.pub.status}`;
    if (this.sub.status !== 'ready') return `redis subscriber ${this.sub.status}`;
    return null;
  }

  async close(): Promise<void> {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
