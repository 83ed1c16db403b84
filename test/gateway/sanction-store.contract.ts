/**
 * The one contract every SanctionStore passes (memory and Redis run the same cases).
 */
import { describe, expect, it } from 'vitest';
import type { Sanction, SanctionChange, SanctionStore, ViolationCommit } from '../../gateway/sanction-store.ts';
import type { History } from '../../rules/types.ts';

let seq = 0;
export function sanction(o: Partial<Sanction> & Pick<Sanction, 'userId' | 'kind'>): Sanction {
  const id = o.id ?? `s-${process.pid}-${++seq}`;
  return { id, caseId: `c-${id}`, actor: { type: 'user', id: 'mod1' }, reason: 'test', start: Date.now(), ...o };
}

export function sanctionStoreContract(name: string, make: () => Promise<SanctionStore>, settle: () => Promise<void> = async () => {}): void {
  describe(`SanctionStore contract: ${name}`, () => {
    it('puts a sanction, serves it from the local copy, and is idempotent by id', async () => {
      const store = await make();
      const changes: SanctionChange[] = [];
      store.onChange((c) => changes.push(c));
      const s = sanction({ userId: 'u-put', kind: 'mute', room: 'r1', until: Date.now() + 60_000 });
      await store.put(s);
      await store.put(s);
      expect(store.active('u-put').map((x) => x.id)).toEqual([s.id]);
      expect(store.active('u-put')[0]).toMatchObject({ kind: 'mute', room: 'r1' });
      expect(changes.filter((c) => c.sanction.id === s.id)).toEqual([{ op: 'put', sanction: s }]);
      expect(store.active('nobody')).toEqual([]);
      await store.close();
    });

    it('ends sanctions at their expiry without anybody lifting them', async () => {
      const store = await make();
      const s = sanction({ userId: 'u-exp', kind: 'suspend', until: Date.now() + 200 });
      await store.put(s);
      expect(store.active('u-exp')).toHaveLength(1);
      expect(store.active('u-exp', Date.now() + 300)).toHaveLength(0);
      await store.close();
    });

    it('finds bans by device and by IP', async () => {
      const store = await make();
      await store.put(sanction({ userId: 'u-dev', kind: 'ban', device: 'dev-1', ip: '10.0.0.9' }));
      expect(store.banFor('dev-1', undefined)?.userId).toBe('u-dev');
      expect(store.banFor(undefined, '10.0.0.9')?.userId).toBe('u-dev');
      expect(store.banFor('dev-2', '10.0.0.8')).toBeUndefined();
      await store.close();
    });

    it('lifts one sanction or all of a user, reporting what it lifted', async () => {
      const store = await make();
      const changes: SanctionChange[] = [];
      store.onChange((c) => changes.push(c));
      const a = sanction({ userId: 'u-lift', kind: 'mute' });
      const b = sanction({ userId: 'u-lift', kind: 'restrict', features: ['dm'] });
      const c = sanction({ userId: 'u-lift', kind: 'shadow' });
      for (const s of [a, b, c]) await store.put(s);
      expect((await store.lift('u-lift', a.id)).map((s) => s.id)).toEqual([a.id]);
      expect(store.active('u-lift').map((s) => s.id).sort()).toEqual([b.id, c.id].sort());
      expect((await store.lift('u-lift')).map((s) => s.id).sort()).toEqual([b.id, c.id].sort());
      expect(store.active('u-lift')).toEqual([]);
      expect(await store.lift('u-lift')).toEqual([]);
      expect(changes.filter((x) => x.op === 'lift').map((x) => x.sanction.id).sort()).toEqual([a.id, b.id, c.id].sort());
      // A lifted sanction does not come back when its put is replayed.
      await store.put(a);
      await settle();
      expect(store.active('u-lift').map((s) => s.id)).not.toContain(a.id);
      await store.close();
    });

    it('records violations atomically: every decision sees the history before it', async () => {
      const store = await make();
      const user = `u-viol-${Date.now()}`;
      const seen: number[] = [];
      const decide = (i: number) => (h: History) => {
        const n = h.strikes.length;
        const commit: ViolationCommit = {
          userId: user,
          strike: { id: `${user}:${i}`, category: 'harassment', tier: 'moderate', at: Date.now(), expiresAt: Date.now() + 86_400_000 },
          minor: null,
          sanctions: n + 1 >= 3 ? [sanction({ id: `${user}-susp-${i}`, userId: user, kind: 'suspend', until: Date.now() + 60_000 })] : [],
        };
        return { result: n + 1, commit };
      };
      const results = await Promise.all([0, 1, 2, 3].map((i) => store.recordViolation(user, (h) => {
        const r = decide(i)(h);
        seen.push(h.strikes.length);
        return r;
      })));
      expect([...results].sort()).toEqual([1, 2, 3, 4]);
      const h = await store.history(user);
      expect(h.strikes).toHaveLength(4);
      expect(store.active(user).filter((s) => s.kind === 'suspend').length).toBe(2);
      // Idempotent by strike id.
      await store.recordViolation(user, () => decide(0)({ strikes: [], minorViolations: [] }));
      expect((await store.history(user)).strikes).toHaveLength(4);
      await store.close();
    });

    it('records minor violations separately from strikes', async () => {
      const store = await make();
      const user = `u-minor-${Date.now()}`;
      await store.recordViolation(user, () => ({ result: 0, commit: { userId: user, strike: null, minor: { id: 'm1', category: 'spam', at: 1000 }, sanctions: [] } }));
      const h = await store.history(user);
      expect(h.strikes).toEqual([]);
      expect(h.minorViolations).toEqual([{ category: 'spam', at: 1000 }]);
      await store.close();
    });

    it('counts major and livestream violations for life', async () => {
      const store = await make();
      const user = `u-count-${Date.now()}`;
      const commit = (i: number, live: boolean): ViolationCommit => ({ userId: user, strike: null, minor: null, major: true, livestream: live, sanctions: [] });
      await store.recordViolation(user, (h) => ({ result: h, commit: commit(1, true) }));
      const before = await store.recordViolation(user, (h) => ({ result: h, commit: commit(2, false) }));
      expect(before.majorViolations).toBe(1);
      expect(before.livestreamViolations).toBe(1);
      const h = await store.history(user);
      expect([h.majorViolations, h.livestreamViolations]).toEqual([2, 1]);
      await store.close();
    });

    it('records the notice a sanction carries as pending, in the same step', async () => {
      const store = await make();
      const user = `u-notice-${Date.now()}`;
      const notice = { caseId: 'c-n1', action: 'mute', category: 'spam', reason: 'r', policy: 'moderator', appealable: true };
      await store.put(sanction({ userId: user, kind: 'mute', caseId: 'c-n1', notice: notice as never }));
      await store.put(sanction({ userId: user, kind: 'shadow', caseId: 'c-n2', notice: { ...notice, caseId: 'c-n2' } as never }));
      expect(await store.takeNotices(user)).toEqual([notice]);
      await store.close();
    });

    it('keeps notices for offline users until taken, and forgets acknowledged ones', async () => {
      const store = await make();
      await store.pushNotice('u-n', 'case-1', { caseId: 'case-1', action: 'warn' });
      await store.pushNotice('u-n', 'case-2', { caseId: 'case-2', action: 'mute' });
      await store.ackNotice('u-n', 'case-1');
      expect(await store.takeNotices('u-n')).toEqual([{ caseId: 'case-2', action: 'mute' }]);
      expect(await store.takeNotices('u-n')).toEqual([]);
      await store.close();
    });
  });
}
