import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until } from '../helpers/gateway.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { Gateway } from '../../gateway/server.ts';

let redis: RedisServer;
let a: Gateway;
let b: Gateway;

async function ready(gw: Gateway): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
    if (r.status === 200) return;
    if (Date.now() > end) throw new Error(`node not ready: ${await r.text()}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  redis = await startRedis();
  a = await gateway({ redisUrl: redis.url, nodeId: 'node-a' });
  b = await gateway({ redisUrl: redis.url, nodeId: 'node-b' });
  await Promise.all([ready(a), ready(b)]);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

describe('two nodes on one Redis', () => {
  it('a message sent on node A reaches members on node B through both doors, and back', async () => {
    const onA = await raw(a.port, await token('ann'));
    const onBraw = await raw(b.port, await token('ben'));
    const onBsio = await sio(b.port, await token('bea'));
    await onA.request('room:join', { room: 'x' });
    await onBraw.request('room:join', { room: 'x' });
    await sioRequest(onBsio, 'room:join', { room: 'x' });
    const got = collect(onBsio);

    const r = await onA.request('message:send', { room: 'x', text: 'from A' });
    expect(r.ok).toBe(true);
    expect(await onBraw.next('message', (m) => m.text === 'from A')).toMatchObject({ id: r.id, user: { id: 'ann' } });
    await until(() => got.some((m) => m.text === 'from A'));

    await sioRequest(onBsio, 'message:send', { room: 'x', text: 'from B' });
    expect((await onA.next('message', (m) => m.text === 'from B')).user.id).toBe('bea');
    // Exactly once each: no echo back from the other node.
    await sleep(100);
    expect(got.filter((m) => m.text === 'from A')).toHaveLength(1);
    expect(onA.events.filter((e) => e.data.text === 'from A')).toHaveLength(1);
    onA.close();
    onBraw.close();
    onBsio.close();
  });

  it('keeps per-sender order across nodes', async () => {
    const sender = await sio(a.port, await token('s1'));
    const watcher = await raw(b.port, await token('w1'));
    await sioRequest(sender, 'room:join', { room: 'ordered' });
    await watcher.request('room:join', { room: 'ordered' });
    const N = 50; // under the default flood burst (60)
    for (let i = 0; i < N; i++) sender.emit('message:send', { room: 'ordered', text: `n${i}` });
    await until(() => watcher.events.length === N, 10_000, 'all messages on node B');
    expect(watcher.events.map((e) => e.data.text)).toEqual(Array.from({ length: N }, (_, i) => `n${i}`));
    sender.close();
    watcher.close();
  });

  it('does not deliver to a node whose members all left the room', async () => {
    const sender = await raw(a.port, await token('s2'));
    const leaver = await raw(b.port, await token('l2'));
    await sender.request('room:join', { room: 'gone' });
    await leaver.request('room:join', { room: 'gone' });
    await leaver.request('room:leave', { room: 'gone' });
    await sender.request('message:send', { room: 'gone', text: 'anyone?' });
    await sleep(150);
    expect(leaver.events).toEqual([]);
    sender.close();
    leaver.close();
  });

  it('a block made on node A applies to the same user connected on node B', async () => {
    const blockerA = await raw(a.port, await token('blocker'));
    const blockerB = await raw(b.port, await token('blocker'));
    const pest = await raw(b.port, await token('pest'));
    await blockerB.request('room:join', { room: 'bl' });
    await pest.request('room:join', { room: 'bl' });
    expect(await blockerA.request('user:block', { userId: 'pest' })).toEqual({ ok: true });
    await sleep(100); // the block announcement crosses the bus
    await pest.request('message:send', { room: 'bl', text: 'buzz' });
    await pest.request('message:send', { room: 'bl', text: 'marker' }); // pest sees its own
    await pest.next('message', (m) => m.text === 'marker');
    await sleep(100);
    expect(blockerB.events.map((e) => e.data.text)).toEqual([]);
    // And it survives a reconnect (stored in Redis, loaded at the handshake).
    blockerB.close();
    const again = await raw(b.port, await token('blocker'));
    await again.request('room:join', { room: 'bl' });
    await pest.request('message:send', { room: 'bl', text: 'still buzzing' });
    await sleep(150);
    expect(again.events).toEqual([]);
    for (const c of [blockerA, again, pest]) c.close();
  });

  it('reports 503 on /readyz while Redis is down, keeps local delivery, and recovers', async () => {
    const local1 = await raw(a.port, await token('l1'));
    const local2 = await sio(a.port, await token('l2'));
    const remote = await raw(b.port, await token('r1'));
    await local1.request('room:join', { room: 'outage' });
    await sioRequest(local2, 'room:join', { room: 'outage' });
    await remote.request('room:join', { room: 'outage' });
    const got = collect(local2);

    await redis.kill();
    const end = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < end) {
      status = (await fetch(`http://127.0.0.1:${a.port}/readyz`)).status;
      if (status === 200) await sleep(50);
    }
    expect(status).toBe(503);
    const body = await (await fetch(`http://127.0.0.1:${a.port}/readyz`)).json();
    expect(body.reason).toMatch(/redis/);
    // Same-node delivery does not depend on Redis.
    const r = await local1.request('message:send', { room: 'outage', text: 'during outage' });
    expect(r.ok).toBe(true);
    await until(() => got.some((m) => m.text === 'during outage'));

    await redis.restart();
    await Promise.all([ready(a), ready(b)]);
    // ioredis re-subscribes the room channels after reconnecting.
    await sleep(200);
    await local1.request('message:send', { room: 'outage', text: 'after outage' });
    expect((await remote.next('message', (m) => m.text === 'after outage')).user.id).toBe('l1');
    local1.close();
    local2.close();
    remote.close();
  });
});
