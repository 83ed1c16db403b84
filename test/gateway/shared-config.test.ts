import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemorySharedConfig, RedisSharedConfig, SharedConfigUnavailable, type SharedConfig } from '../../gateway/shared-config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { until } from '../helpers/gateway.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const log = createLogger('silent');
async function redisConfig(node: string): Promise<RedisSharedConfig> {
  const c = new RedisSharedConfig(redis.url, node, log);
  await c.start();
  return c;
}

describe.each([
  ['memory', async () => new MemorySharedConfig() as SharedConfig],
  ['redis', async () => (await redisConfig(`n${Math.random()}`)) as SharedConfig],
])('SharedConfig (%s)', (_name, make) => {
  it('stores, lists, replaces and deletes documents, telling listeners', async () => {
    const c = await make();
    const seen: [string, string, unknown][] = [];
    c.onChange((k, key, v) => seen.push([k, key, v]));
    await c.set('room', 'lobby-x', { slowModeSec: 5 });
    await c.set('room', 'lobby-x', { slowModeSec: 10 });
    expect(c.get('room', 'lobby-x')).toEqual({ slowModeSec: 10 });
    expect([...c.all('room').keys()]).toContain('lobby-x');
    await c.set('room', 'lobby-x', undefined);
    expect(c.get('room', 'lobby-x')).toBeUndefined();
    expect(seen.filter(([, key]) => key === 'lobby-x').map(([, , v]) => v)).toEqual([{ slowModeSec: 5 }, { slowModeSec: 10 }, undefined]);
    await c.close();
  });
});

describe('RedisSharedConfig across nodes', () => {
  it('reaches another node at once, after a lost wake-up within a second, and survives restarts', async () => {
    const a = await redisConfig('a');
    const b = await redisConfig('b');
    await a.set('terms', 'global', { terms: ['x'] });
    await until(() => JSON.stringify(b.get('terms', 'global')) === '{"terms":["x"]}', 2000, 'node b');
    const admin = new Redis(redis.port, '127.0.0.1');
    await admin.client('KILL', 'TYPE', 'pubsub');
    await a.set('terms', 'room:r1', { terms: ['y'] });
    await until(() => b.get('terms', 'room:r1') !== undefined, 3000, 'node b after the cut');
    admin.disconnect();
    await b.close();
    const c = await redisConfig('c');
    expect(c.get('terms', 'room:r1')).toEqual({ terms: ['y'] });
    await a.close();
    await c.close();
  });

  it('refuses writes while Redis is unreachable', async () => {
    const r2 = await startRedis();
    const c = new RedisSharedConfig(r2.url, 'x', log);
    await c.start();
    await r2.kill();
    await until(() => c.unhealthy() !== null, 3000);
    await expect(c.set('room', 'a', {})).rejects.toBeInstanceOf(SharedConfigUnavailable);
    await c.close();
  });
});
