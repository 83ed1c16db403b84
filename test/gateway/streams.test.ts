/**
 * Livestream control across three nodes on one real redis-server: start, end, kill (with each
 * surface confirmed), the media servers' publish hook, and room owners' narrower authority.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'socket.io-client';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until } from '../helpers/gateway.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { Gateway } from '../../gateway/server.ts';

let redis: RedisServer;
let A: Gateway, B: Gateway, C: Gateway;
let mod: Socket;
let media: Server;
const mediaCalls: { method?: string; url?: string }[] = [];

async function ready(gw: Gateway): Promise<void> {
  const end = Date.now() + 15_000;
  while ((await fetch(`http://127.0.0.1:${gw.port}/readyz`)).status !== 200) {
    if (Date.now() > end) throw new Error('not ready');
    await sleep(50);
  }
}

beforeAll(async () => {
  redis = await startRedis();
  media = createServer((req, res) => {
    mediaCalls.push({ method: req.method, url: req.url });
    res.writeHead(200).end('{}');
  });
  await new Promise<void>((r) => media.listen(0, '127.0.0.1', () => r()));
  const mediaPort = (media.address() as { port: number }).port;
  [A, B, C] = (await Promise.all(
    ['a', 'b', 'c'].map((n) => gateway({ redisUrl: redis.url, nodeId: `s-${n}`, logLevel: 'warn', mediaServer: { dropUrl: `http://127.0.0.1:${mediaPort}/v3/rtmpconns/kick/{streamId}` } })),
  )) as unknown as [Gateway, Gateway, Gateway];
  await Promise.all([A, B, C].map(ready));
  mod = await sio(A.port, await token('stream-mod', { roles: ['moderator'] }), { namespace: '/admin' });
});
afterAll(async () => {
  mod?.close();
  await Promise.all([A, B, C].map((g) => g?.close()));
  media?.close();
  await redis?.stop();
});

const hook = (gw: Gateway, contentType: string, body: string) =>
  fetch(`http://127.0.0.1:${gw.port}/hooks/publish`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('livestreams', () => {
  it('an owner goes live: viewers on other nodes are told, joins report it, the hook allows the key', async () => {
    const streamer = await raw(C.port, await token('caster', { owns: ['show'] }));
    const viewerB = await sio(B.port, await token('v-b'));
    await sioRequest(viewerB, 'room:join', { room: 'show' });
    const started = new Promise<any>((r) => viewerB.once('stream:started', r));
    expect((await streamer.request('stream:start', { room: 'other', title: 'x' })).error.code).toBe('forbidden');
    const s = await streamer.request('stream:start', { room: 'show', title: 'Live!' });
    expect(s).toMatchObject({ ok: true, streamId: expect.stringMatching(/^st_/) });
    expect(await started).toEqual({ room: 'show', streamId: s.streamId, title: 'Live!', user: { id: 'caster', name: 'caster' } });
    const viewerA = await raw(A.port, await token('v-a'));
    const join = await viewerA.request('room:join', { room: 'show' });
    expect(join.live).toEqual({ streamId: s.streamId, title: 'Live!', user: { id: 'caster', name: 'caster' } });
    expect((await streamer.request('stream:start', { room: 'show' })).error.code).toBe('invalid');

    // The three hook formats.
    const nginx = await hook(B, 'application/x-www-form-urlencoded', `call=publish&app=live&name=${s.streamId}&addr=127.0.0.1`);
    expect(nginx.status).toBe(200);
    const srs = await hook(C, 'application/json', JSON.stringify({ action: 'on_publish', app: 'live', stream: s.streamId }));
    expect(srs.status).toBe(200);
    expect((await srs.json()).code).toBe(0);
    const mtx = await hook(A, 'application/json', JSON.stringify({ user: '', password: '', ip: '127.0.0.1', action: 'publish', path: `live/${s.streamId}`, protocol: 'rtmp', id: null, query: '' }));
    expect(mtx.status).toBe(200);
    expect((await hook(A, 'application/x-www-form-urlencoded', 'name=st_nope')).status).toBe(403);
    expect((await hook(A, 'application/json', '{"broken"')).status).toBe(400);

    // The owner ends it.
    const ended = new Promise<any>((r) => viewerB.once('stream:ended', r));
    expect(await streamer.request('stream:end', { streamId: s.streamId })).toEqual({ ok: true });
    expect(await ended).toEqual({ room: 'show', streamId: s.streamId, reason: 'ended' });
    expect((await hook(B, 'application/x-www-form-urlencoded', `name=${s.streamId}`)).status).toBe(403);
    streamer.close();
    viewerB.close();
    viewerA.close();
  });

  it('a kill on node A ends the stream for the streamer and viewers on other nodes, flips the hook, calls the media server, and confirms each surface', async () => {
    const streamer = await raw(C.port, await token('caster2', { owns: ['arena'] }));
    const s = await streamer.request('stream:start', { room: 'arena' });
    const viewerB = await raw(B.port, await token('vb2'));
    const viewerC = await sio(C.port, await token('vc2'));
    await viewerB.request('room:join', { room: 'arena' });
    await sioRequest(viewerC, 'room:join', { room: 'arena' });
    const endedC = new Promise<any>((r) => viewerC.once('stream:ended', r));
    const r = await sioRequest(mod, 'stream:kill', { room: 'arena', reason: 'violent content', suspendDays: 7 });
    expect(r).toMatchObject({ ok: true, streamId: s.streamId, caseId: expect.any(String) });
    expect(r.surfaces.hook.armed).toBe(true);
    expect(r.surfaces.mediaServer).toMatchObject({ status: 'ok', httpStatus: 200 });
    expect(mediaCalls).toContainEqual({ method: 'POST', url: `/v3/rtmpconns/kick/${s.streamId}` });
    expect(r.surfaces.nodes.map((n: any) => n.node).sort()).toEqual(['s-a', 's-b', 's-c']);
    expect(r.surfaces.nodes.find((n: any) => n.node === 's-b').viewers).toBe(1);
    expect(await endedC).toEqual({ room: 'arena', streamId: s.streamId, reason: 'killed' });
    expect((await viewerB.next('stream:ended')).reason).toBe('killed');
    // The streamer (not in the room's chat) is told, with the notice.
    expect((await streamer.next('stream:ended')).reason).toBe('killed');
    expect(await streamer.next('moderation:notice')).toMatchObject({ action: 'stream_suspend', caseId: r.caseId });
    // The hook refuses the key, and the streamer cannot go live again while suspended.
    expect((await hook(B, 'application/x-www-form-urlencoded', `name=${s.streamId}`)).status).toBe(403);
    await until(() => C.store.active('caster2').some((x) => x.kind === 'stream_suspend'));
    const again = await streamer.request('stream:start', { room: 'arena' });
    expect(again.error).toMatchObject({ code: 'restricted', feature: 'livestream' });
    expect((await sioRequest(mod, 'stream:kill', { room: 'arena', reason: 'again' })).error.code).toBe('not_found');
    streamer.close();
    viewerB.close();
    viewerC.close();
  });
});

describe('room owners on the admin door', () => {
  it('act only in rooms they own, with room tools; everything else is forbidden and audited', async () => {
    const owner = await raw(B.port, await token('chan-owner', { owns: ['myroom'] }), { path: '/ws/admin' });
    const muted = await owner.request('user:sanction', { userId: 'heckler', action: 'mute', room: 'myroom', durationSec: 300, reason: 'timeout' });
    expect(muted.ok).toBe(true);
    expect((await owner.request('user:sanction', { userId: 'heckler', action: 'mute', room: 'elsewhere', reason: 'x' })).error.code).toBe('forbidden');
    expect((await owner.request('user:sanction', { userId: 'heckler', action: 'mute', reason: 'global mute' })).error.code).toBe('forbidden');
    expect((await owner.request('user:sanction', { userId: 'heckler', action: 'ban', reason: 'x' })).error.code).toBe('forbidden');
    expect((await owner.request('room:update', { room: 'myroom', settings: { slowModeSec: 3 } })).ok).toBe(true);
    expect((await owner.request('room:update', { room: 'notmine', settings: { slowModeSec: 3 } })).error.code).toBe('forbidden');
    expect((await owner.request('stream:kill', { room: 'myroom', reason: 'x' })).error.code).toBe('forbidden');
    expect((await owner.request('user:get', { userId: 'heckler' })).error.code).toBe('forbidden');
    await until(() => B.audit.pending === 0);
    const refused = await B.audit.query({ userId: 'chan-owner', limit: 50 });
    expect(refused.filter((e) => e.kind === 'refused').length).toBeGreaterThanOrEqual(5);
    owner.close();
  });
});

describe('safeguards', () => {
  it('limits bans per moderator per minute, audited; other moderators are unaffected', async () => {
    const HIGH_IMPACT_PER_WINDOW = C.config.limits.highImpactPerMinute;
    const eager = await raw(C.port, await token('eager-mod', { roles: ['moderator'] }), { path: '/ws/admin' });
    const codes: string[] = [];
    for (let i = 0; i <= HIGH_IMPACT_PER_WINDOW; i++) codes.push((await eager.request('user:sanction', { userId: `mass-${i}`, action: 'ban', reason: 'raid' })).error?.code ?? 'ok');
    expect(codes.filter((c) => c === 'ok')).toHaveLength(HIGH_IMPACT_PER_WINDOW);
    expect(codes[HIGH_IMPACT_PER_WINDOW]).toBe('rate_limited');
    // Mutes are not high-impact; another moderator can still ban.
    expect((await eager.request('user:sanction', { userId: 'mass-x', action: 'mute', reason: 'r' })).ok).toBe(true);
    expect((await sioRequest(mod, 'user:sanction', { userId: 'mass-y', action: 'ban', reason: 'r' })).ok).toBe(true);
    eager.close();
  });
});
