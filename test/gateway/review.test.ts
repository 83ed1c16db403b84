/**
 * The review queue, reports and the moderators' feed across two nodes on one real redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { collect, gateway, raw, sio, sioRequest, sleep, token, until } from '../helpers/gateway.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { Gateway } from '../../gateway/server.ts';
import type { Filter, Verdict } from '../../filters/pipeline.ts';
import { DEFAULT_FILTERS } from '../../gateway/server.ts';

/** Holds messages containing "HOLDME" for review (a stand-in for a term list's hold action). */
const holder: Filter = {
  name: 'test-hold',
  kinds: ['text'],
  timeoutMs: 5,
  onFailure: 'pass',
  neverSkip: true,
  check: (m): Verdict => (m.text?.includes('HOLDME') ? { action: 'hold', findings: [{ filter: 'test-hold', category: 'harassment', score: 0.7 }] } : { action: 'pass' }),
};

let redis: RedisServer;
let A: Gateway, B: Gateway;
let mod: Socket;
beforeAll(async () => {
  redis = await startRedis();
  [A, B] = (await Promise.all(['a', 'b'].map((n) => gateway({ redisUrl: redis.url, nodeId: `r-${n}`, logLevel: 'warn' }, { filters: [...DEFAULT_FILTERS, holder] })))) as unknown as [Gateway, Gateway];
  for (const g of [A, B]) {
    const end = Date.now() + 15_000;
    while ((await fetch(`http://127.0.0.1:${g.port}/readyz`)).status !== 200 && Date.now() < end) await sleep(50);
  }
  mod = await sio(B.port, await token('rq-mod', { roles: ['moderator'] }), { namespace: '/admin' });
});
afterAll(async () => {
  mod?.close();
  await Promise.all([A, B].map((g) => g?.close()));
  await redis?.stop();
});

describe('review queue', () => {
  it('a held message waits in the queue; approving it on node B delivers it everywhere', async () => {
    const author = await raw(A.port, await token('holder-author'));
    const reader = await sio(B.port, await token('holder-reader'));
    await author.request('room:join', { room: 'rq' });
    await sioRequest(reader, 'room:join', { room: 'rq' });
    const got = collect(reader);
    const flags = collect(mod, 'flag');
    expect((await sioRequest(mod, 'feed:subscribe', {})).ok).toBe(true);
    const sent = await author.request('message:send', { room: 'rq', text: 'HOLDME please' });
    expect(sent).toMatchObject({ ok: true, status: 'held' });
    await until(() => flags.some((f) => f.type === 'held' && f.messageId === sent.id));
    await sleep(100);
    expect(got).toEqual([]);
    const list = await sioRequest(mod, 'queue:list', { room: 'rq' });
    const item = list.items.find((i: any) => i.messageId === sent.id);
    expect(item).toMatchObject({ kind: 'held', category: 'harassment', priority: 'standard', userId: 'holder-author' });
    expect(item.dueAt - item.createdAt).toBe(72 * 3600_000);
    expect(await sioRequest(mod, 'queue:decide', { itemId: item.id, decision: 'approve' })).toEqual({ ok: true });
    await until(() => got.some((m) => m.id === sent.id));
    expect(got[0].text).toBe('HOLDME please');
    expect((await author.next('message', (m) => m.id === sent.id)).text).toBe('HOLDME please');
    expect((await sioRequest(mod, 'queue:decide', { itemId: item.id, decision: 'approve' })).error.code).toBe('not_found');
    author.close();
    reader.close();
  });

  it('rejecting a held message records a violation through the policy', async () => {
    const author = await raw(A.port, await token('rejected-author'));
    await author.request('room:join', { room: 'rq2' });
    const sent = await author.request('message:send', { room: 'rq2', text: 'HOLDME rudely' });
    let item: any;
    await until(() => {
      void sioRequest(mod, 'queue:list', { room: 'rq2' }).then((l) => (item = l.items[0]));
      return item !== undefined;
    });
    const r = await sioRequest(mod, 'queue:decide', { itemId: item.id, decision: 'reject', reason: 'insult' });
    expect(r).toMatchObject({ ok: true, caseId: expect.any(String) });
    expect((await author.next('moderation:notice')).category).toBe('harassment');
    expect(sent.status).toBe('held');
    author.close();
  });
});

describe('reports', () => {
  it('three distinct reporters hide a message pending review on every node; a report flood is limited', async () => {
    const author = await raw(A.port, await token('reported-author'));
    const onB = await raw(B.port, await token('witness'));
    const reporters = await Promise.all(['rp1', 'rp2', 'rp3'].map(async (u, i) => raw(i % 2 ? A.port : B.port, await token(u))));
    for (const c of [author, onB, ...reporters]) await c.request('room:join', { room: 'rep' });
    const m = await author.request('message:send', { room: 'rep', text: 'something nasty' });
    await onB.next('message', (x) => x.id === m.id);
    await sleep(100);
    for (const c of reporters) {
      const r = await c.request('message:report', { room: 'rep', messageId: m.id, category: 'hate_speech', note: 'slur' });
      expect(r).toMatchObject({ ok: true, reportId: `msg:rep:${m.id}` });
    }
    expect(await onB.next('message:deleted')).toEqual({ room: 'rep', id: m.id, reason: 'hidden pending review' });
    expect((await author.next('message:deleted')).id).toBe(m.id);
    const list = await sioRequest(mod, 'queue:list', { room: 'rep' });
    const item = list.items.find((i: any) => i.messageId === m.id);
    expect(item).toMatchObject({ kind: 'message_report', userId: 'reported-author', hidden: true, priority: 'standard' });
    expect(item.reporters.map((r: any) => r.userId).sort()).toEqual(['rp1', 'rp2', 'rp3']);
    // Unknown messages, unknown categories, and floods are refused; the flooder is not punished.
    expect((await reporters[0]!.request('message:report', { room: 'rep', messageId: 'nope', category: 'spam' })).error.code).toBe('not_found');
    expect((await reporters[0]!.request('user:report', { userId: 'x', category: 'jaywalking' })).error.code).toBe('invalid');
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push((await reporters[0]!.request('user:report', { userId: 'reported-author', category: 'spam' })).error?.code ?? 'ok');
    expect(codes).toContain('rate_limited');
    expect(A.store.active('rp1')).toEqual([]);
    for (const c of [author, onB, ...reporters]) c.close();
  });

  it('users reported by several users are hidden (shadow) until a review approves them', async () => {
    const target = 'hidden-user';
    const reps = await Promise.all(['ur1', 'ur2', 'ur3'].map(async (u) => raw(B.port, await token(u))));
    for (const r of reps) expect((await r.request('user:report', { userId: target, category: 'harassment' })).ok).toBe(true);
    await until(() => A.store.active(target).some((s) => s.kind === 'shadow'));
    const item = (await sioRequest(mod, 'queue:list', {})).items.find((i: any) => i.id === `user:${target}`);
    expect(item.hidden).toBe(true);
    expect(await sioRequest(mod, 'queue:decide', { itemId: item.id, decision: 'approve' })).toEqual({ ok: true });
    await until(() => A.store.active(target).length === 0);
    for (const r of reps) r.close();
  });
});

describe('moderator tools', () => {
  it('message:delete and chat:clear reach the room on every node; audit:query and the action feed show them', async () => {
    const onA = await raw(A.port, await token('room-member'));
    await onA.request('room:join', { room: 'tools' });
    const actions = collect(mod, 'action');
    expect(await sioRequest(mod, 'message:delete', { room: 'tools', messageId: 'm-1', reason: 'spam' })).toEqual({ ok: true });
    expect(await onA.next('message:deleted')).toEqual({ room: 'tools', id: 'm-1', reason: 'spam' });
    expect(await sioRequest(mod, 'chat:clear', { room: 'tools' })).toEqual({ ok: true });
    expect(await onA.next('chat:cleared')).toEqual({ room: 'tools' });
    await until(() => actions.some((a) => a.action === 'chat:clear'));
    const q = await sioRequest(mod, 'audit:query', { room: 'tools', limit: 10 });
    expect(q.entries.map((e: any) => e.action)).toEqual(expect.arrayContaining(['message:delete', 'chat:clear']));
    onA.close();
  });

  it('room owners see and subscribe only to their rooms; viewers cannot enter the admin door', async () => {
    const owner = await raw(A.port, await token('rq-owner', { owns: ['ownedroom'] }), { path: '/ws/admin' });
    expect((await owner.request('queue:list', { room: 'rq' })).error.code).toBe('forbidden');
    expect((await owner.request('queue:list', {})).items.every((i: any) => i.room === 'ownedroom')).toBe(true);
    expect(await owner.request('feed:subscribe', { rooms: ['ownedroom', 'rq'] })).toEqual({ ok: true, rooms: ['ownedroom'] });
    expect((await owner.request('queue:decide', { itemId: 'x', decision: 'approve' })).error.code).toMatch(/not_found|forbidden/);
    expect((await owner.request('audit:query', {})).error.code).toBe('forbidden');
    owner.close();
  });
});
