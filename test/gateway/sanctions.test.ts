/**
 * Live sanctions across three gateway nodes on one real redis-server, issued through the admin
 * doors, enforced on every node; Redis faults injected by killing, restarting and freezing it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { collect, gateway, raw, rawRefusal, sio, sioConnectError, sioRequest, sleep, token, until, type RawClient } from '../helpers/gateway.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { Gateway } from '../../gateway/server.ts';

let redis: RedisServer;
let A: Gateway, B: Gateway, C: Gateway;
let mod: Socket; // moderator on node A, socket.io /admin
let modRaw: RawClient; // moderator on node B, raw /ws/admin

async function ready(gw: Gateway): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
    if (r.status === 200) return;
    if (Date.now() > end) throw new Error(`node not ready: ${await r.text()}`);
    await sleep(50);
  }
}

let userSeq = 0;
const uid = (p: string) => `${p}-${++userSeq}`;

beforeAll(async () => {
  redis = await startRedis();
  [A, B, C] = (await Promise.all(['a', 'b', 'c'].map((n) => gateway({ redisUrl: redis.url, nodeId: `node-${n}`, logLevel: 'warn' })))) as unknown as [Gateway, Gateway, Gateway];
  await Promise.all([A, B, C].map(ready));
  mod = await sio(A.port, await token('mod-1', { roles: ['moderator'] }), { namespace: '/admin' });
  modRaw = await raw(B.port, await token('mod-2', { roles: ['admin'] }), { path: '/ws/admin' });
});
afterAll(async () => {
  mod?.close();
  modRaw?.close();
  await Promise.all([A, B, C].map((g) => g?.close()));
  await redis?.stop();
});

const sanction = (data: object) => sioRequest(mod, 'user:sanction', data);

describe('admin doors', () => {
  it('admit only moderators and admins, on both doors', async () => {
    const viewer = await token('just-a-viewer');
    expect((await sioConnectErrorNs(A.port, viewer, '/admin')).data?.code).toBe('forbidden');
    const refused = await rawRefusalAt(A.port, '/ws/admin', viewer);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('forbidden');
    expect((await rawRefusalAt(A.port, '/ws/admin', undefined)).status).toBe(401);
  });

  it('validate every payload and answer invalid, keeping the connection', async () => {
    expect((await sanction({ userId: 'x', action: 'nuke', reason: 'r' })).error.code).toBe('invalid');
    expect((await sanction({ userId: 'x', action: 'restrict', reason: 'r' })).error.issues[0]).toMatch(/^features/);
    expect((await sanction({ userId: 'x', action: 'ban', reason: 'r', room: 'lobby' })).error.code).toBe('invalid');
    expect((await sioRequest(mod, 'stream:nuke', {})).error.code).toBe('invalid');
    expect((await modRaw.request('user:get', { userId: '' })).error.code).toBe('invalid');
    expect(mod.connected).toBe(true);
  });

  it('user:get says where the user was last seen on that node (ip, time in ms), nothing else', async () => {
    const user = uid('seen');
    const before = Math.floor(Date.now() / 1000) * 1000;
    const c = await raw(B.port, await token(user));
    const info = await modRaw.request('user:get', { userId: user });
    expect(info.ok).toBe(true);
    expect(Object.keys(info.seen).sort()).toEqual(['at', 'ip']);
    expect(info.seen.ip).toMatch(/127\.0\.0\.1/);
    expect(info.seen.at).toBeGreaterThanOrEqual(before);
    expect(info.seen.at).toBeLessThanOrEqual(Date.now());
    c.close();
  });
});

describe('sanctions on every node', () => {
  it('a ban issued on node A ends the user\'s sockets on nodes B and C, and refuses them after', async () => {
    const user = uid('banned');
    const t = await token(user);
    const onB = await sio(B.port, t);
    const onC = await raw(C.port, t);
    const endedB = new Promise<any>((r) => onB.once('session:ended', r));
    const goneB = new Promise<string>((r) => onB.once('disconnect', r));
    const reply = await sanction({ userId: user, action: 'ban', reason: 'spam bot', category: 'spam' });
    expect(reply).toMatchObject({ ok: true });
    expect(typeof reply.sanctionId).toBe('string');
    const ended = await endedB;
    expect(ended).toMatchObject({ code: 'banned', notice: { caseId: reply.caseId, action: 'ban', category: 'spam', reason: 'spam bot' } });
    expect(await goneB).toBe('io server disconnect');
    expect((await onC.next('session:ended')).code).toBe('banned');
    expect(await onC.closed).toBe(1008);
    // Refused at the handshake on every node, with the notice.
    expect((await sioConnectError(A.port, t)).data).toMatchObject({ code: 'banned', notice: { action: 'ban' } });
    const r = await rawRefusal(C.port, `?token=${t}`);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'banned', notice: { caseId: reply.caseId } });
  });

  it('a mute applied on A is enforced on C\'s next message, scoped to its room, with until', async () => {
    const user = uid('muted');
    const onC = await raw(C.port, await token(user));
    await onC.request('room:join', { room: 'loud' });
    await onC.request('room:join', { room: 'quiet' });
    const reply = await sanction({ userId: user, action: 'mute', room: 'loud', durationSec: 600, reason: 'calm down' });
    const notice = await onC.next('moderation:notice');
    expect(notice).toMatchObject({ caseId: reply.caseId, action: 'mute', appealable: true });
    expect(Date.parse(notice.until)).toBeGreaterThan(Date.now());
    const refused = await onC.request('message:send', { room: 'loud', text: 'hey' });
    expect(refused.error).toMatchObject({ code: 'muted', room: 'loud' });
    expect(Date.parse(refused.error.until)).toBeGreaterThan(Date.now() + 500_000);
    expect((await onC.request('message:send', { room: 'quiet', text: 'hey' })).ok).toBe(true);
    onC.close();
  });

  it('restrict and shadow: restricted features refused; shadowed messages reach only the sender', async () => {
    const user = uid('shady');
    const bystander = await raw(A.port, await token(uid('by')));
    const onB = await raw(B.port, await token(user));
    await bystander.request('room:join', { room: 'shade' });
    await onB.request('room:join', { room: 'shade' });
    await modRaw.request('user:sanction', { userId: user, action: 'shadow', reason: 'suspected spammer' });
    await until(() => B.store.active(user).length === 1);
    const r = await onB.request('message:send', { room: 'shade', text: 'buy now' });
    expect(r).toMatchObject({ ok: true, status: 'delivered' });
    expect((await onB.next('message')).text).toBe('buy now');
    // Shadow restrictions send no notice.
    expect(onB.events.some((e) => e.event === 'moderation:notice')).toBe(false);
    await sleep(150);
    expect(bystander.events).toEqual([]);

    const u2 = uid('restricted');
    const onC = await raw(C.port, await token(u2));
    await onC.request('room:join', { room: 'shade' });
    await sanction({ userId: u2, action: 'restrict', features: ['upload'], durationSec: 60, reason: 'bad images' });
    await until(() => C.store.active(u2).length === 1);
    const img = await onC.request('message:send', { room: 'shade', image: Buffer.from('x').toString('base64') });
    expect(img.error).toMatchObject({ code: 'restricted', feature: 'upload' });
    expect((await onC.request('message:send', { room: 'shade', text: 'text is fine' })).ok).toBe(true);
    for (const c of [bystander, onB, onC]) c.close();
  });

  it('a pardon on B lifts a mute issued on A everywhere, and is audited with its actor', async () => {
    const user = uid('pardoned');
    const onC = await raw(C.port, await token(user));
    await onC.request('room:join', { room: 'p' });
    const s = await sanction({ userId: user, action: 'mute', reason: 'x' });
    await until(() => C.store.active(user).length === 1);
    const p = await modRaw.request('user:pardon', { userId: user });
    expect(p).toEqual({ ok: true, lifted: [s.sanctionId] });
    await until(() => C.store.active(user).length === 0);
    expect((await onC.request('message:send', { room: 'p', text: 'free' })).ok).toBe(true);
    expect((await modRaw.request('user:pardon', { userId: user, sanctionId: 'nope' })).error.code).toBe('not_found');
    const info = await sioRequest(mod, 'user:get', { userId: user });
    expect(info.sanctions).toEqual([]);
    const kinds = info.recent.map((e: any) => [e.kind, e.actor.id]);
    expect(kinds).toContainEqual(['pardon', 'mod-2']);
    expect(kinds).toContainEqual(['sanction', 'mod-1']);
    onC.close();
  });

  it('an offline user gets the notice on next connect', async () => {
    const user = uid('away');
    const r = await sanction({ userId: user, action: 'warn', reason: 'read the rules', category: 'spam' });
    const back = await sio(C.port, await token(user));
    const notices = collect(back, 'moderation:notice');
    await until(() => notices.length === 1);
    expect(notices[0]).toMatchObject({ caseId: r.caseId, action: 'warn' });
    back.close();
    // Delivered once: not again on the next connect.
    const again = await sio(B.port, await token(user));
    const more = collect(again, 'moderation:notice');
    await sleep(200);
    expect(more).toEqual([]);
    again.close();
  });

  it('a device ban refuses another account on the same device (ban evasion)', async () => {
    const user = uid('evader');
    await sanction({ userId: user, action: 'ban', reason: 'ban evasion test', device: 'device-xyz' });
    await until(() => C.store.banFor('device-xyz', undefined) !== undefined);
    const alt = await token(uid('alt'), { device: 'device-xyz' });
    const r = await rawRefusal(C.port, `?token=${alt}`);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('banned');
    expect(r.body.notice.category).toBe('ban_evasion');
  });
});

describe('violations decided by the policy', () => {
  it('climbs the strike ladder: warn, then restrict 72 h, then suspend; each with a notice', async () => {
    const user = uid('striker');
    const onB = await raw(B.port, await token(user));
    const record = () => sioRequest(mod, 'violation:record', { userId: user, category: 'harassment', reason: 'insults in chat', room: 'lobby' });
    const first = await record();
    expect(first).toMatchObject({ ok: true, action: 'warn' });
    expect(await onB.next('moderation:notice')).toMatchObject({ caseId: first.caseId, action: 'warn', category: 'harassment', strikes: 1, appealable: true });
    const second = await record();
    expect(second).toMatchObject({ ok: true, action: 'restrict' });
    const n2 = await onB.next('moderation:notice', (n) => n.caseId === second.caseId);
    expect(Date.parse(n2.until) - Date.now()).toBeGreaterThan(71 * 3600_000);
    await onB.request('room:join', { room: 'lobby' });
    expect((await onB.request('message:send', { room: 'lobby', text: 'hi' })).error).toMatchObject({ code: 'restricted', feature: 'chat' });
    const third = await record();
    expect(third).toMatchObject({ ok: true, action: 'suspend' });
    expect((await onB.next('session:ended')).code).toBe('suspended');
    const info = await sioRequest(mod, 'user:get', { userId: user });
    expect(info.strikes).toHaveLength(3);
    expect(info.sanctions.map((x: any) => x.kind).sort()).toEqual(['restrict', 'suspend', 'warn']);
    expect(info.recent.filter((e: any) => e.kind === 'decision').map((e: any) => e.policyVersion)).toEqual(['default-1', 'default-1', 'default-1']);
  });

  it('bans at once for threats (not appealable); self-harm gets support, never a penalty', async () => {
    const threat = uid('threat');
    const r = await sioRequest(mod, 'violation:record', { userId: threat, category: 'threats', reason: 'threatened a streamer' });
    expect(r).toMatchObject({ ok: true, action: 'ban' });
    await until(() => C.store.active(threat).some((s) => s.kind === 'ban'));
    const refused = await rawRefusal(C.port, `?token=${await token(threat)}`);
    expect(refused.body.notice).toMatchObject({ action: 'ban', appealable: false });

    const sad = uid('sad');
    const onA = await raw(A.port, await token(sad));
    const s = await sioRequest(mod, 'violation:record', { userId: sad, category: 'self_harm', reason: 'worrying message' });
    expect(s).toMatchObject({ ok: true, action: 'support' });
    expect(s.sanctionId).toBeUndefined();
    expect((await onA.next('moderation:notice')).action).toBe('support');
    expect(A.store.active(sad)).toEqual([]);
    onA.close();
  });

  it('refuses unknown categories with invalid', async () => {
    const r = await sioRequest(mod, 'violation:record', { userId: 'x', category: 'jaywalking', reason: 'r' });
    expect(r.error.code).toBe('invalid');
  });

  it('/transparency counts enforcement by category and action', async () => {
    const t = await (await fetch(`http://127.0.0.1:${A.port}/transparency?since=${new Date(Date.now() - 3600_000).toISOString()}`)).json();
    expect(t.total).toBeGreaterThan(0);
    expect(t.byCategory.harassment).toMatchObject({ warn: expect.any(Number), restrict: expect.any(Number), suspend: expect.any(Number) });
    expect((await fetch(`http://127.0.0.1:${A.port}/transparency?since=yesterday`)).status).toBe(400);
  });
});

describe('room settings and users\' comment filters', () => {
  it('room:update on A reaches members on B and C at once and shows in later joins', async () => {
    const onB = await sio(B.port, await token(uid('m1')));
    const onC = await raw(C.port, await token(uid('m2')));
    await sioRequest(onB, 'room:join', { room: 'settings' });
    await onC.request('room:join', { room: 'settings' });
    const gotB = new Promise<any>((r) => onB.once('room:settings', r));
    const r = await sioRequest(mod, 'room:update', { room: 'settings', settings: { slowModeSec: 30, linksAllowed: false } });
    expect(r).toEqual({ ok: true, settings: { slowModeSec: 30, linksAllowed: false } });
    expect(await gotB).toEqual({ room: 'settings', settings: { slowModeSec: 30, linksAllowed: false } });
    expect(await onC.next('room:settings')).toEqual({ room: 'settings', settings: { slowModeSec: 30, linksAllowed: false } });
    const later = await raw(A.port, await token(uid('m3')));
    expect((await later.request('room:join', { room: 'settings' })).settings).toEqual({ slowModeSec: 30, linksAllowed: false });
    expect((await sioRequest(mod, 'room:update', { room: 'settings', settings: {} })).error.code).toBe('invalid');
    expect((await sioRequest(mod, 'room:update', { room: 'settings', settings: { slowModeSec: -1 } })).error.code).toBe('invalid');
    onB.close();
    onC.close();
    later.close();
  });

  it('filter:set hides messages with the user\'s words from that user only, on every node, across reconnects', async () => {
    const user = uid('sensitive');
    const onA = await raw(A.port, await token(user));
    const other = await raw(C.port, await token(uid('other')));
    const talker = await raw(B.port, await token(uid('talker')));
    for (const c of [onA, other, talker]) await c.request('room:join', { room: 'filtered' });
    expect(await onA.request('filter:set', { terms: ['Spoiler', 'ending'] })).toEqual({ ok: true, count: 2 });
    await sleep(100);
    await talker.request('message:send', { room: 'filtered', text: 'big SPOILER: the butler did it' });
    await talker.request('message:send', { room: 'filtered', text: 'hello all' });
    await other.next('message', (m) => m.text === 'hello all');
    expect((await onA.next('message', (m) => m.text === 'hello all')).text).toBe('hello all');
    expect(onA.events.filter((e) => e.event === 'message').map((e) => e.data.text)).toEqual([]);
    expect(other.events.some((e) => /SPOILER/.test(e.data?.text))).toBe(true);
    // Stored: a new connection on another node has it too.
    onA.close();
    const again = await sio(B.port, await token(user));
    await sioRequest(again, 'room:join', { room: 'filtered' });
    const got = collect(again);
    await talker.request('message:send', { room: 'filtered', text: 'the ending was sad' });
    await talker.request('message:send', { room: 'filtered', text: 'marker' });
    await until(() => got.some((m) => m.text === 'marker'));
    expect(got.map((m) => m.text)).toEqual(['marker']);
    expect((await sioRequest(again, 'filter:set', { terms: Array.from({ length: 201 }, (_, i) => `t${i}`) })).error.code).toBe('invalid');
    expect(await sioRequest(again, 'filter:set', { terms: [] })).toEqual({ ok: true, count: 0 });
    again.close();
    other.close();
    talker.close();
  });
});

describe('Redis faults', () => {
  it('a sanction published while the nodes\' subscriber connections are cut still reaches them', async () => {
    const user = uid('cut');
    const onC = await raw(C.port, await token(user));
    await onC.request('room:join', { room: 'cut' });
    const admin = new Redis(redis.port, '127.0.0.1');
    await admin.client('KILL', 'TYPE', 'pubsub');
    await sanction({ userId: user, action: 'mute', reason: 'during the cut' });
    await until(() => C.store.active(user).length === 1, 10_000, 'the mute on node C');
    expect((await onC.request('message:send', { room: 'cut', text: 'x' })).error.code).toBe('muted');
    admin.disconnect();
    onC.close();
  });

  it('Redis killed and restarted empty: no sanction is lost or lifted, and Redis is refilled', async () => {
    const banned = uid('kept');
    await sanction({ userId: banned, action: 'ban', reason: 'before the crash' });
    await until(() => [A, B, C].every((g) => g.store.active(banned).length === 1));
    await redis.kill();
    // While Redis is down: a restrictive action applies at once on the issuing node...
    const muted = uid('muted-offline');
    const onA = await raw(A.port, await token(muted));
    await onA.request('room:join', { room: 'offline' });
    const m = await sanction({ userId: muted, action: 'mute', reason: 'while redis was down' });
    expect(m.ok).toBe(true);
    expect((await onA.request('message:send', { room: 'offline', text: 'x' })).error.code).toBe('muted');
    // ...and a lift waits for Redis.
    expect((await modRaw.request('user:pardon', { userId: banned })).error.code).toBe('unavailable');

    await redis.restart();
    await Promise.all([A, B, C].map(ready));
    for (const g of [A, B, C]) {
      await until(() => g.store.active(banned).length === 1 && g.store.active(muted).length === 1, 10_000, `state on ${g.config.nodeId}`);
    }
    const check = new Redis(redis.port, '127.0.0.1');
    const stored = await check.hvals('modgate:sanctions');
    check.disconnect();
    expect(stored.map((j) => JSON.parse(j).userId)).toEqual(expect.arrayContaining([banned, muted]));
    expect((await rawRefusal(B.port, `?token=${await token(banned)}`)).status).toBe(403);
    onA.close();
  });

  it('Redis frozen (SIGSTOP): the message path does not wait for it', async () => {
    const sender = await raw(A.port, await token(uid('frozen')));
    const peer = await sio(A.port, await token(uid('peer')));
    await sender.request('room:join', { room: 'frozen' });
    await sioRequest(peer, 'room:join', { room: 'frozen' });
    const got = collect(peer);
    redis.process.kill('SIGSTOP');
    try {
      // Redis commands time out after 1 s: every ack arriving well before that proves no wait on Redis.
      for (let i = 0; i < 20; i++) {
        const r = await sender.request('message:send', { room: 'frozen', text: `f${i}` }, 500);
        expect(r.ok).toBe(true);
      }
      await until(() => got.length === 20, 2000);
    } finally {
      redis.process.kill('SIGCONT');
    }
    sender.close();
    peer.close();
  });
});

function sioConnectErrorNs(port: number, t: string, ns: string): Promise<{ data?: { code?: string } }> {
  return sio(port, t, { namespace: ns }).then(
    (s) => {
      s.close();
      throw new Error('connected, but a refusal was expected');
    },
    (e) => e,
  );
}

const rawRefusalAt = (port: number, path: string, t: string | undefined) => rawRefusal(port, t ? `?token=${t}` : '', {}, path);
