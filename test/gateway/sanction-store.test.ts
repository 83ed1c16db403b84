import { afterAll, beforeAll } from 'vitest';
import { MemorySanctionStore } from '../../gateway/sanction-store.ts';
import { RedisSanctionStore } from '../../gateway/redis-sanction-store.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { sanctionStoreContract } from './sanction-store.contract.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

sanctionStoreContract('memory', async () => new MemorySanctionStore());

sanctionStoreContract(
  'redis',
  async () => {
    const store = new RedisSanctionStore({ url: redis.url, nodeId: `t${Math.random().toString(36).slice(2, 8)}`, log: createLogger('silent') });
    await store.start();
    return store;
  },
  () => new Promise((r) => setTimeout(r, 50)),
);
