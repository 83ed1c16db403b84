/**
 * Run-time configuration shared by every node: term lists, hash banks, room settings, domain lists.
 *
 * A document is `(kind, key) → JSON value` (e.g. `('terms', 'global')`, `('room', 'lobby')`). A
 * write is one Lua script: HSET the value, bump a version, PUBLISH the change (with the value, so
 * other nodes apply it without a round trip). Every node also checks the version once a second and
 * reloads everything on a gap or after a reconnect, so a lost wake-up costs at most a second. Values
 * live in Redis (they survive restarts; production Redis runs with AOF). In embedded mode the same
 * interface is served from memory.
 */
import { Redis } from 'ioredis';
import { fastFailRedisOptions } from './bus.ts';
import type { Logger } from './logger.ts';

export type ConfigKind = 'terms' | 'banks' | 'room' | 'domains' | 'streams' | 'queue';
export type ConfigListener = (kind: ConfigKind, key: string, value: unknown | undefined) => void;

export interface SharedConfig {
  start(): Promise<void>;
  get(kind: ConfigKind, key: string): unknown | undefined;
  all(kind: ConfigKind): ReadonlyMap<string, unknown>;
  /** Write (or delete, with `undefined`); resolves once stored and announced. Throws when Redis is unreachable. */
  set(kind: ConfigKind, key: string, value: unknown | undefined): Promise<void>;
  /** Called for every change applied on this node (local or remote) and for each entry at start. */
  onChange(l: ConfigListener): void;
  unhealthy(): string | null;
  close(): Promise<void>;
}

export class SharedConfigUnavailable extends Error {
  override name = 'SharedConfigUnavailable';
}

const KINDS: readonly ConfigKind[] = ['terms', 'banks', 'room', 'domains', 'streams', 'queue'];

abstract class Base {
  protected readonly data = new Map<ConfigKind, Map<string, unknown>>(KINDS.map((k) => [k, new Map()]));
  private readonly listeners: ConfigListener[] = [];

  get(kind: ConfigKind, key: string): unknown | undefined {
    return this.data.get(kind)!.get(key);
  }
  all(kind: ConfigKind): ReadonlyMap<string, unknown> {
    return this.data.get(kind)!;
  }
  onChange(l: ConfigListener): void {
    this.listeners.push(l);
  }
  protected apply(kind: ConfigKind, key: string, value: unknown | undefined): void {
    const m = this.data.get(kind);
    if (!m) return;
    if (value === undefined) m.delete(key);
    else m.set(key, value);
    for (const l of this.listeners) l(kind, key, value);
  }
}

export class MemorySharedConfig extends Base implements SharedConfig {
  async start(): Promise<void> {}
  async set(kind: ConfigKind, key: string, value: unknown | undefined): Promise<void> {
    this.apply(kind, key, value === undefined ? undefined : structuredClone(value));
  }
  unhealthy(): null {
    return null;
  }
  async close(): Promise<void> {}
}

const VERSION_KEY = 'modgate:cfg:version';
const WAKE = 'modgate:cfg:wake';
const hashKey = (kind: ConfigKind) => `modgate:cfg:${kind}`;
/** A lost wake-up is noticed within this long. */
const CHECK_INTERVAL_MS = 1000;

// KEYS: hash, version   ARGV: channel, kind, key, json ('' = delete)
const SET_SCRIPT = `
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], ARGV[3]) else redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
local v = redis.call('INCR', KEYS[2])
local value = ARGV[4]
if value == '' then value = 'null' end
redis.call('PUBLISH', ARGV[1], '{"v":' .. v .. ',"kind":"' .. ARGV[2] .. '","key":' .. cjson.encode(ARGV[3]) .. ',"value":' .. value .. '}')
return v`;

interface CfgRedis extends Redis {
  mgCfgSet(hash: string, version: string, channel: string, kind: string, key: string, json: string): Promise<number>;
}

export class RedisSharedConfig extends Base implements SharedConfig {
  private readonly cmd: CfgRedis;
  private readonly sub: Redis;
  private version = 0;
  private loaded = false;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;

  constructor(
    url: string,
    nodeId: string,
    private readonly log: Logger,
  ) {
    super();
    this.cmd = new Redis(url, fastFailRedisOptions(`modgate-cfg-${nodeId}`)) as CfgRedis;
    this.cmd.defineCommand('mgCfgSet', { numberOfKeys: 2, lua: SET_SCRIPT });
    this.sub = new Redis(url, { ...fastFailRedisOptions(`modgate-cfg-sub-${nodeId}`), enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    for (const c of [this.cmd, this.sub]) c.on('error', (e: Error) => this.log.warn({ err: e.message }, 'shared config redis error'));
    this.sub.on('message', (_ch: string, payload: string) => this.onWake(payload));
    this.cmd.on('ready', () => {
      if (this.loaded) this.reloadSoon();
    });
  }

  async start(): Promise<void> {
    this.cmd.connect().catch(() => {});
    this.sub.connect().catch(() => {});
    await this.sub.subscribe(WAKE);
    if (this.cmd.status !== 'ready') await new Promise<void>((r) => this.cmd.once('ready', () => r()));
    await this.reload();
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  private onWake(payload: string): void {
    if (!this.loaded) return;
    try {
      const w = JSON.parse(payload) as { v: number; kind: ConfigKind; key: string; value: unknown };
      if (w.v === this.version + 1 && !this.reloading) {
        this.version = w.v;
        const value = w.value === null ? undefined : w.value;
        // This node's own writes are applied already.
        if (JSON.stringify(this.get(w.kind, w.key)) !== JSON.stringify(value)) this.apply(w.kind, w.key, value);
        return;
      }
      if (w.v <= this.version) return;
    } catch {
      // fall through
    }
    this.reloadSoon();
  }

  private async check(): Promise<void> {
    if (this.cmd.status !== 'ready' || this.reloading) return;
    try {
      const v = Number((await this.cmd.get(VERSION_KEY)) ?? 0);
      if (v !== this.version) this.reloadSoon();
    } catch {
      // next tick
    }
  }

  private reloadSoon(): void {
    this.reloading ??= this.reload()
      .catch((e: Error) => this.log.warn({ err: e.message }, 'shared config reload failed'))
      .finally(() => {
        this.reloading = undefined;
      });
  }

  /** Load every document; apply what changed (including deletions). */
  private async reload(): Promise<void> {
    const multi = this.cmd.multi().get(VERSION_KEY);
    for (const k of KINDS) multi.hgetall(hashKey(k));
    const res = await multi.exec();
    if (!res) throw new Error('reload aborted');
    const [[, v], ...hashes] = res as [[Error | null, string | null], ...[Error | null, Record<string, string>][]];
    KINDS.forEach((kind, i) => {
      const stored = hashes[i]?.[1] ?? {};
      const mine = this.data.get(kind)!;
      for (const key of [...mine.keys()]) if (!(key in stored)) this.apply(kind, key, undefined);
      for (const [key, json] of Object.entries(stored)) {
        if (JSON.stringify(mine.get(key)) !== json) this.apply(kind, key, JSON.parse(json));
      }
    });
    this.version = Number(v ?? 0);
    this.loaded = true;
  }

  async set(kind: ConfigKind, key: string, value: unknown | undefined): Promise<void> {
    if (this.cmd.status !== 'ready') throw new SharedConfigUnavailable('configuration store unreachable');
    try {
      await this.cmd.mgCfgSet(hashKey(kind), VERSION_KEY, WAKE, kind, key, value === undefined ? '' : JSON.stringify(value));
    } catch {
      throw new SharedConfigUnavailable('configuration store unreachable');
    }
    // Apply here at once (the wake-up will find it already applied or catch up by version).
    if (JSON.stringify(this.get(kind, key)) !== JSON.stringify(value)) this.apply(kind, key, value === undefined ? undefined : structuredClone(value));
  }

  unhealthy(): string | null {
    if (!this.loaded) return 'shared configuration not loaded yet';
    if (this.cmd.status !== 'ready') return `config redis ${this.cmd.status}`;
    return null;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
