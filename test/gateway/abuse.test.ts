import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/server.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await gateway({ limits: { maxFrameBytes: 64 * 1024, maxImageBytes: 16 * 1024, floodRatePerSec: 20, floodBurst: 40, maxBackpressureBytes: 64 * 1024 } });
});
afterAll(() => gw.close());

describe('bad input on the raw door', () => {
  it('answers malformed frames, unknown events and bad payloads with invalid, and the connection stays up', async () => {
    const c = await raw(gw.port, await token('fuzzer'));
    const other = await raw(gw.port, await token('innocent'));
    await other.request('room:join', { room: 'safe' });

    c.send('this is not json');
    expect((await c.next('error')).code).toBe('invalid');
    c.send('[1,2,3]');
    expect((await c.next('error')).code).toBe('invalid');
    c.send({ event: 'room:join', data: { room: 'x' }, ack: 'seven' });
    expect((await c.next('error')).code).toBe('invalid');
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.next('error')).code).toBe('invalid');

    const unknown = await c.request('nuke:everything', {});
    expect(unknown.error.code).toBe('invalid');
    const badRoom = await c.request('room:join', { room: 'UPPER CASE!' });
    expect(badRoom.error.code).toBe('invalid');
    expect(badRoom.error.issues[0]).toMatch(/^room:/);
    expect((await c.request('room:join', { room: 'ok', extra: 1 })).error.code).toBe('invalid');
    expect((await c.request('room:join', null)).error.code).toBe('invalid');
    await c.request('room:join', { room: 'safe' });
    expect((await c.request('message:send', { room: 'safe' })).error.code).toBe('invalid');
    expect((await c.request('message:send', { room: 'safe', text: 'x'.repeat(501) })).error.code).toBe('invalid');
    expect((await c.request('message:send', { room: 'safe', text: '\u200b\u200b   \u2800' })).error.code).toBe('invalid');
    expect((await c.request('message:send', { room: 'safe', image: 'not base64 !!' })).error.code).toBe('invalid');
    expect((await c.request('message:send', { room: 'safe', image: Buffer.alloc(20 * 1024).toString('base64') })).error.code).toBe('too_large');
    // No ack: a failure comes back as an error event.
    c.send({ event: 'message:send', data: { room: 'safe' } });
    expect((await c.next('error')).code).toBe('invalid');

    // Still alive and still useful, and the bystander saw nothing but the real message.
    const ok = await c.request('message:send', { room: 'safe', text: 'still here' });
    expect(ok.ok).toBe(true);
    expect((await other.next('message')).text).toBe('still here');
    expect(c.closeCode).toBeUndefined();
    c.close();
    other.close();
  });

  it('closes a connection that sends a frame over the size cap, and only that one', async () => {
    const big = await raw(gw.port, await token('big'));
    const other = await raw(gw.port, await token('other'));
    big.send({ event: 'message:send', data: { room: 'x', text: 'y'.repeat(70 * 1024) } });
    const code = await big.closed;
    // uWS drops the TCP connection on an oversize frame (1006 at the client) or sends 1009.
    expect([1006, 1009]).toContain(code);
    expect((await other.request('room:join', { room: 'x' })).ok).toBe(true);
    other.close();
  });

  it('closes a flooder past the hard limit and keeps everyone else', async () => {
    const flooder = await raw(gw.port, await token('flooder'));
    const other = await raw(gw.port, await token('calm'));
    for (let i = 0; i < 200; i++) flooder.send({ event: 'room:leave', data: { room: 'a' } });
    expect(await flooder.closed).toBe(1008);
    expect((await other.request('room:join', { room: 'calm' })).ok).toBe(true);
    other.close();
  });

  it('disconnects a client that stops reading before it costs unbounded memory', async () => {
    // Image-sized messages, so that the queue outgrows the kernel's loopback socket buffers quickly.
    const g = await gateway({ limits: { maxImageBytes: 64 * 1024, floodRatePerSec: 5000, floodBurst: 5000, maxBackpressureBytes: 256 * 1024 } });
    const talker = await raw(g.port, await token('talker'));
    await talker.request('room:join', { room: 'firehose' });
    // The talker does not read its own echoes either: it only sends, so drop them as they come.
    talker.ws.removeAllListeners('message');
    // The slow reader: a raw socket that joins and then never reads again.
    const t = await token('sloth');
    const sloth = new WebSocket(`ws://127.0.0.1:${g.port}/ws?token=${t}`);
    await new Promise((r) => sloth.once('open', r));
    sloth.send(JSON.stringify({ event: 'room:join', data: { room: 'firehose' }, ack: 1 }));
    await new Promise((r) => sloth.once('message', r));
    sloth.pause();
    const slothClosed = new Promise<void>((r) => sloth.once('close', () => r()));
    // The paused client cannot see the close until it reads again: watch the server's side.
    const wsConns = async () => (await g.metrics.connections.get()).values.find((v) => v.labels.door === 'ws')?.value;
    expect(await wsConns()).toBe(2);
    const image = Buffer.alloc(60 * 1024, 7).toString('base64');
    let sent = 0;
    // The kernel's loopback buffers absorb tens of MB (tcp_rmem max is often 32 MB) before uWS
    // queues anything. Bounded in count (8,000 × 82 KB) and time (25 s); normally a few hundred.
    const deadline = Date.now() + 25_000;
    while (sent < 8000 && Date.now() < deadline && (await wsConns()) === 2) {
      for (let i = 0; i < 20; i++, sent++) talker.send({ event: 'message:send', data: { room: 'firehose', image } });
      await sleep(25);
    }
    expect(await wsConns()).toBe(1);
    expect(talker.closeCode).toBeUndefined();
    // Once it reads again, the sloth finds its connection closed.
    sloth.resume();
    await slothClosed;
    // Everybody else is unaffected.
    const fresh = await raw(g.port, await token('fresh'));
    expect((await fresh.request('room:join', { room: 'firehose' })).ok).toBe(true);
    fresh.close();
    talker.close();
    await g.close();
  });
});

describe('bad input on the socket.io door', () => {
  it('answers unknown events and bad payloads with invalid and stays connected', async () => {
    const s = await sio(gw.port, await token('sfuzz'));
    expect((await sioRequest(s, 'drop:tables', { a: 1 })).error.code).toBe('invalid');
    expect((await sioRequest(s, 'room:join', 'lobby')).error.code).toBe('invalid');
    expect((await sioRequest(s, 'message:send', { room: 'lobby', text: 5 })).error.code).toBe('invalid');
    const errors = collect(s, 'error');
    s.emit('room:join', { room: 'BAD' });
    await until(() => errors.length === 1);
    expect(errors[0].code).toBe('invalid');
    expect(s.connected).toBe(true);
    expect((await sioRequest(s, 'room:join', { room: 'lobby' })).ok).toBe(true);
    s.close();
  });

  it('disconnects a socket.io client that stops reading', async () => {
    const g = await gateway({ limits: { maxImageBytes: 64 * 1024, floodRatePerSec: 5000, floodBurst: 5000, maxBackpressureBytes: 256 * 1024 } });
    const talker = await raw(g.port, await token('talker'));
    await talker.request('room:join', { room: 'firehose' });
    const sloth = await sio(g.port, await token('sloth'));
    await sioRequest(sloth, 'room:join', { room: 'firehose' });
    (sloth.io.engine.transport as any).ws.pause();
    const sioConns = async () => (await g.metrics.connections.get()).values.find((v) => v.labels.door === 'sio')?.value;
    expect(await sioConns()).toBe(1);
    const image = Buffer.alloc(60 * 1024, 7).toString('base64');
    for (let round = 0; round < 400 && (await sioConns()) !== 0; round++) {
      for (let i = 0; i < 20; i++) talker.send({ event: 'message:send', data: { room: 'firehose', image } });
      await sleep(25);
    }
    expect(await sioConns()).toBe(0);
    expect((await g.metrics.disconnects.get()).values.find((v) => v.labels.reason === 'slow_reader')?.value).toBe(1);
    sloth.close();
    talker.close();
    await g.close();
  });

  it('closes a socket.io flooder', async () => {
    const s = await sio(gw.port, await token('sflood'));
    const gone = new Promise<string>((r) => s.once('disconnect', r));
    for (let i = 0; i < 200; i++) s.emit('room:leave', { room: 'a' });
    expect(await gone).toBe('io server disconnect');
  });
});
