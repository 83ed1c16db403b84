import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioc } from 'socket.io-client';
import { SignJWT } from 'jose';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until, SECRET } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/server.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await gateway();
});
afterAll(() => gw.close());

describe('HTTP endpoints', () => {
  it('/healthz and /readyz answer 200 with JSON; unknown routes 404', async () => {
    const h = await fetch(`http://127.0.0.1:${gw.port}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const r = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
    expect(r.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${gw.port}/nope`)).status).toBe(404);
  });

  it('/metrics exposes connections, messages, acks by code, stage latency and event-loop lag', async () => {
    const c = await raw(gw.port, await token('metered'));
    await c.request('room:join', { room: 'm' });
    await c.request('message:send', { room: 'm', text: 'one' });
    await c.request('message:send', { room: 'm', text: '   ' });
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    expect(text).toMatch(/modgate_connections\{door="ws",ns="\/"\} 1/);
    expect(text).toMatch(/modgate_messages_in_total\{door="ws",event="message:send"\} 2/);
    expect(text).toMatch(/modgate_acks_total\{event="message:send",code="ok"\} 1/);
    expect(text).toMatch(/modgate_acks_total\{event="message:send",code="invalid"\} 1/);
    expect(text).toMatch(/modgate_messages_out_total\{origin="local"\} 1/);
    expect(text).toMatch(/modgate_stage_seconds_count\{stage="pipeline"\} 2/);
    expect(text).toMatch(/modgate_filter_outcome_total\{filter="visible-text",outcome="drop"\} 1/);
    expect(text).toMatch(/modgate_event_loop_lag_seconds\{quantile="0.99"\}/);
    // prom-client's default names, now fed by the same monitor, and its other defaults.
    expect(text).toMatch(/\nmodgate_nodejs_eventloop_lag_p99_seconds \d/);
    expect(text).toMatch(/\nmodgate_nodejs_eventloop_lag_max_seconds \d/);
    expect(text).toMatch(/\nmodgate_process_cpu_seconds_total \d/);
    expect(text).toMatch(/\nmodgate_nodejs_heap_size_used_bytes \d/);
    // The image pool: its workers alive (booting counts), nothing waiting, nothing crashed.
    expect(text).toMatch(/\nmodgate_image_workers [1-9]/);
    expect(text).toMatch(/\nmodgate_image_jobs_queued 0/);
    expect(text).toMatch(/\nmodgate_image_workers_crashed 0/);
    c.close();
  });
});

describe('socket.io transports', () => {
  it('works over HTTP long-polling, including binary image attachments, mixed with WebSocket clients', async () => {
    const poller = await sio(gw.port, await token('poller'), { transports: ['polling'] });
    const wsClient = await sio(gw.port, await token('wsclient'));
    const rawClient = await raw(gw.port, await token('rawclient'));
    await sioRequest(poller, 'room:join', { room: 'poll' });
    await sioRequest(wsClient, 'room:join', { room: 'poll' });
    await rawClient.request('room:join', { room: 'poll' });
    const polled = collect(poller);
    const viaWs = collect(wsClient);

    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]);
    const sent = await sioRequest(poller, 'message:send', { room: 'poll', image });
    expect(sent.ok).toBe(true);
    await until(() => viaWs.length === 1 && polled.length === 1);
    expect(viaWs[0].image).toBe(image.toString('base64'));
    expect((await rawClient.next('message')).image).toBe(image.toString('base64'));

    await rawClient.request('message:send', { room: 'poll', text: 'to the poller' });
    await until(() => polled.some((m) => m.text === 'to the poller'));
    poller.close();
    wsClient.close();
    rawClient.close();
  });

  it('upgrades a polling client to WebSocket and keeps its rooms', async () => {
    const s = ioc(`http://127.0.0.1:${gw.port}`, { auth: { token: await token('upgrader') }, reconnection: false, forceNew: true });
    await new Promise<void>((r) => s.once('connect', () => r()));
    await sioRequest(s, 'room:join', { room: 'upg' });
    await until(() => s.io.engine.transport.name === 'websocket', 10_000, 'upgrade');
    const got = collect(s);
    const other = await raw(gw.port, await token('other'));
    await other.request('room:join', { room: 'upg' });
    await other.request('message:send', { room: 'upg', text: 'after upgrade' });
    await until(() => got.some((m) => m.text === 'after upgrade'));
    s.close();
    other.close();
  });

  it('re-runs authentication on reconnect: no connection-state recovery bypass', async () => {
    const key = new TextEncoder().encode(SECRET);
    const shortLived = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('brief').setExpirationTime(Math.floor(Date.now() / 1000) + 3).sign(key);
    const g = await gateway({ jwtClockSkewSec: 0 });
    const s = ioc(`http://127.0.0.1:${g.port}`, { auth: { token: shortLived }, transports: ['websocket'], reconnectionDelay: 50, reconnectionAttempts: 20, forceNew: true });
    await new Promise<void>((r) => s.once('connect', () => r()));
    await sleep(3100); // the token expires (valid for 2–3 s: enough to connect on a loaded machine)
    const refused = new Promise<any>((r) => s.once('connect_error', r));
    (s.io.engine as any).close(); // drop the transport: the client reconnects by itself
    const err = await refused;
    expect(err.data.code).toBe('unauthorized');
    s.close();
    await g.close();
  });
});
