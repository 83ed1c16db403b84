/**
 * What users control about what they receive: block lists (`user:block` / `user:unblock`) and
 * their own comment filter (`filter:set`: messages with these words are hidden from them).
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
const filterKey = (userId: string) => `modgate:filter:${userId}`;

/** A user's own hidden words, compiled (filters/keyword provides the matcher). */
export interface UserFilter {
  hides(text: string): boolean;
}
export type CompileUserFilter = (terms: readonly string[]) => UserFilter;

/** Plain matcher (NFKC, case-folded substring): the default until a normalising one is supplied. */
export const plainUserFilter: CompileUserFilter = (terms) => {
  const wanted = terms.map((t) => t.normalize('NFKC').toLowerCase());
  return { hides: (text) => ((t) => wanted.some((w) => t.includes(w)))(text.normalize('NFKC').toLowerCase()) };
};

export class UserPrefs implements RecipientRules {
  private readonly blocks = new Map<string, Set<string>>();
  private readonly filters = new Map<string, { terms: string[]; filter: UserFilter }>();

  constructor(
    private readonly redis: Redis | undefined,
    private readonly compile: CompileUserFilter = plainUserFilter,
  ) {}

  isPersonal(userId: string): boolean {
    return (this.blocks.get(userId)?.size ?? 0) > 0 || this.filters.has(userId);
  }

  accepts(userId: string, senderId: string | undefined, text?: string): boolean {
    if (senderId !== undefined && this.blocks.get(userId)?.has(senderId)) return false;
    // A user's comment filter hides others' messages, never their own.
    if (text !== undefined && senderId !== userId) {
      const f = this.filters.get(userId);
      if (f && f.filter.hides(text)) return false;
    }
    return true;
  }

  filterTerms(userId: string): readonly string[] {
    return this.filters.get(userId)?.terms ?? [];
  }

  /** Replace a user's cached comment filter (load, or a change announced by another node). */
  setFilter(userId: string, terms: readonly string[]): void {
    if (terms.length) this.filters.set(userId, { terms: [...terms], filter: this.compile(terms) });
    else this.filters.delete(userId);
  }

  /** Store a user's comment filter (replacing the old one); persisted before it is reported done. */
  async updateFilter(userId: string, terms: readonly string[]): Promise<void> {
    if (this.redis) {
      if (terms.length) await this.redis.set(filterKey(userId), JSON.stringify(terms));
      else await this.redis.del(filterKey(userId));
    }
    this.setFilter(userId, terms);
  }

  blocked(userId: string): ReadonlySet<string> {
    return this.blocks.get(userId) ?? EMPTY;
  }

  /**
   * Load a user's blocks (on connect). Keeps the cached copy if Redis cannot answer. Undefined
   * when there is nothing to load (no Redis: this node's memory is all there is).
   */
  load(userId: string): Promise<void> | undefined {
    return this.redis ? this.loadFromRedis(this.redis, userId) : undefined;
  }

  private async loadFromRedis(redis: NonNullable<typeof this.redis>, userId: string): Promise<void> {
    try {
      const [members, filter] = await Promise.all([redis.smembers(key(userId)), redis.get(filterKey(userId))]);
      this.set(userId, members);
      this.setFilter(userId, filter ? (JSON.parse(filter) as string[]) : []);
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
    this.filters.delete(userId);
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
