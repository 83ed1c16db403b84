/**
 * What users control about what they receive: today, block lists (`user:block` / `user:unblock`).
 *
 * Blocks are user state, not connection state: they apply to every connection of the user on every
 * node and survive reconnects. In clustered mode they live in a Redis set per user, loaded when the
 * user connects (off the message path) and announced on the bus when they change, so the user's
 * other nodes update their copy.
 */
import type { Redis } from 'ioredis';
import type { RecipientRules } from './rooms.ts';

const EMPTY: ReadonlySet<string> = new Set();
const key = (userId: string) => `modgate:blocks:${userId}`;

export class UserPrefs implements RecipientRules {
  private readonly blocks = new Map<string, Set<string>>();

  constructor(private readonly redis?: Redis) {}

  isPersonal(userId: string): boolean {
    return (this.blocks.get(userId)?.size ?? 0) > 0;
  }

  accepts(userId: string, senderId: string | undefined): boolean {
    return senderId === undefined || !this.blocks.get(userId)?.has(senderId);
  }

  blocked(userId: string): ReadonlySet<string> {
    return this.blocks.get(userId) ?? EMPTY;
  }

  /** Load a user's blocks (on connect). Keeps the cached copy if Redis cannot answer. */
  async load(userId: string): Promise<void> {
    if (!this.redis) return;
    try {
      const members = await this.redis.smembers(key(userId));
      this.set(userId, members);
    } catch {
      // Redis down: keep what this node knows (possibly nothing) rather than refuse the user.
    }
  }

  /** Replace a user's cached blocks (load, or a change announced by another node). */
  set(userId: string, members: Iterable<string>): void {
    const s = new Set(members);
    if (s.size) this.blocks.set(userId, s);
    else this.blocks.delete(userId);
  }

  /** Drop the cache of a user with no connection left on this node. */
  forget(userId: string): void {
    this.blocks.delete(userId);
  }

  /** Add or remove a block; persisted before it is reported done. Returns the new list. */
  async update(userId: string, target: string, blocked: boolean, max: number): Promise<string[] | 'limit'> {
    const current = this.blocks.get(userId) ?? new Set<string>();
    if (blocked && !current.has(target) && current.size >= max) return 'limit';
    if (this.redis) {
      if (blocked) await this.redis.sadd(key(userId), target);
      else await this.redis.srem(key(userId), target);
    }
    const next = new Set(current);
    if (blocked) next.add(target);
    else next.delete(target);
    this.set(userId, next);
    return [...next];
  }
}
