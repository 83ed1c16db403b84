import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/server.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await gateway({ limits: { floodRatePerSec: 1000, floodBurst: 1000 } });
});
afterAll(() => gw.close());

describe('rooms and fan-out', () => {
  it('socket.io and raw clients in one room see each other, with the PROTOCOL.md shapes', async () => {
    const a = await sio(gw.port, await token('alice', { name: 'Alice' }));
    const b = await raw(gw.port, await token('bob'));
    const join = await sioRequest(a, 'room:join', { room: 'lobby' });
    expect(join).toEqual({ ok: true, room: 'lobby', settings: { slowModeSec: 0, linksAllowed: true }, live: null });
    expect((await b.request('room:join', { room: 'lobby' })).ok).toBe(true);
    const aGot = collect(a);

    const sent = await sioRequest(a, 'message:send', { room: 'lobby', text: 'hi bob' });
    expect(sent).toMatchObject({ ok: true, status: 'delivered' });
    expect(typeof sent.id).toBe('string');
    const atB = await b.next('message');
    expect(atB).toMatchObject({ id: sent.id, room: 'lobby', user: { id: 'alice', name: 'Alice' }, text: 'hi bob' });
    expect(typeof atB.ts).toBe('number');

    const r = await b.request('message:send', { room: 'lobby', text: 'hi alice', clientId: 'c1' });
    expect(r.ok).toBe(true);
    await until(() => aGot.some((m) => m.text === 'hi alice'));
    expect(aGot.find((m) => m.text === 'hi alice').user).toEqual({ id: 'bob', name: 'bob' });
    a.close();
    b.close();
  });

  it('does not deliver to other rooms or to members who left', async () => {
    const a = await raw(gw.port, await token('a1'));
    const b = await raw(gw.port, await token('b1'));
    await a.request('room:join', { room: 'r1' });
    await b.request('room:join', { room: 'r1' });
    await b.request('room:join', { room: 'r2' });
    expect(await b.request('room:leave', { room: 'r1' })).toEqual({ ok: true });
    await a.request('message:send', { room: 'r1', text: 'only r1' });
    await b.request('message:send', { room: 'r2', text: 'only r2' });
    await a.next('message', (m) => m.text === 'only r1');
    await sleep(100);
    expect(b.events.filter((e) => e.event === 'message').map((e) => e.data.text)).toEqual(['only r2']);
    expect(a.events.filter((e) => e.event === 'message')).toEqual([]);
    a.close();
    b.close();
  });

  it('refuses to send to a room the client has not joined', async () => {
    const a = await raw(gw.port, await token('a2'));
    const r = await a.request('message:send', { room: 'elsewhere', text: 'x' });
    expect(r.error.code).toBe('forbidden');
    a.close();
  });

  it('preserves per-sender order within a room across doors', async () => {
    const sender = await raw(gw.port, await token('orderly'));
    const viaSio = await sio(gw.port, await token('watcher1'));
    const viaRaw = await raw(gw.port, await token('watcher2'));
    await sender.request('room:join', { room: 'order' });
    await sioRequest(viaSio, 'room:join', { room: 'order' });
    await viaRaw.request('room:join', { room: 'order' });
    const got = collect(viaSio);
    const N = 200;
    for (let i = 0; i < N; i++) sender.send({ event: 'message:send', data: { room: 'order', text: `m${i}` } });
    await until(() => got.length === N && viaRaw.events.length === N, 10_000, 'all messages');
    const expected = Array.from({ length: N }, (_, i) => `m${i}`);
    expect(got.map((m) => m.text)).toEqual(expected);
    expect(viaRaw.events.map((e) => e.data.text)).toEqual(expected);
    sender.close();
    viaSio.close();
    viaRaw.close();
  });

  it('user:block hides the blocked user from the blocker only, and user:unblock restores it', async () => {
    const troll = await raw(gw.port, await token('troll'));
    const victim = await sio(gw.port, await token('victim'));
    const victimRaw = await raw(gw.port, await token('victim'));
    const bystander = await raw(gw.port, await token('bystander'));
    for (const c of [troll, victimRaw, bystander]) await c.request('room:join', { room: 'b' });
    await sioRequest(victim, 'room:join', { room: 'b' });
    const got = collect(victim);

    expect(await sioRequest(victim, 'user:block', { userId: 'troll' })).toEqual({ ok: true });
    await troll.request('message:send', { room: 'b', text: 'nasty' });
    await bystander.request('message:send', { room: 'b', text: 'hello' });
    await bystander.next('message', (m) => m.text === 'nasty');
    await until(() => got.some((m) => m.text === 'hello'));
    await victimRaw.next('message', (m) => m.text === 'hello');
    expect(got.map((m) => m.text)).toEqual(['hello']);
    // The block is the user's: it covers their other connection too.
    expect(victimRaw.events.some((e) => e.data.text === 'nasty')).toBe(false);

    expect((await sioRequest(victim, 'user:block', { userId: 'victim' })).error.code).toBe('invalid');
    expect(await sioRequest(victim, 'user:unblock', { userId: 'troll' })).toEqual({ ok: true });
    await troll.request('message:send', { room: 'b', text: 'sorry' });
    await until(() => got.some((m) => m.text === 'sorry'));
    await victimRaw.next('message', (m) => m.text === 'sorry');
    for (const c of [troll, victimRaw, bystander]) c.close();
    victim.close();
  });

  it('caps the rooms one connection may join', async () => {
    const g = await gateway({ limits: { maxRoomsPerConnection: 2 } });
    const c = await raw(g.port, await token('many'));
    await c.request('room:join', { room: 'x1' });
    await c.request('room:join', { room: 'x2' });
    expect((await c.request('room:join', { room: 'x3' })).error.code).toBe('too_large');
    c.close();
    await g.close();
  });
});
