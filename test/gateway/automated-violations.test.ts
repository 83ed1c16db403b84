import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, raw, sleep, token, until } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/server.ts';
import type { Filter, Verdict } from '../../filters/pipeline.ts';
import { DEFAULT_FILTERS } from '../../gateway/server.ts';
import { automatedViolation } from '../../gateway/automated-violations.ts';

/** A stand-in detector: blocks "SLUR" as hate speech, holds "goodbye world" as self-harm. */
const detector: Filter = {
  name: 'test-terms',
  kinds: ['text'],
  timeoutMs: 5,
  onFailure: 'pass',
  neverSkip: true,
  check(msg): Verdict {
    if (msg.text?.includes('SLUR')) return { action: 'drop', error: { code: 'blocked', message: 'refused', category: 'hate_speech', policy: 'keyword:global' }, findings: [{ filter: 'test-terms', category: 'hate_speech', severity: 'high', score: 1, evidence: ['term-7'] }] };
    if (msg.text?.includes('goodbye world')) return { action: 'hold', findings: [{ filter: 'test-terms', category: 'self_harm', severity: 'critical', score: 0.9 }] };
    if (msg.text?.includes('FLOOD')) return { action: 'drop', error: { code: 'rate_limited', message: 'slow down', retryAfterMs: 1000 }, findings: [{ filter: 'test-terms', category: 'spam', repeat: true }] };
    return { action: 'pass' };
  },
};
const shadowDetector: Filter = { ...detector, name: 'shadow-terms', shadow: true };

let gw: Gateway;
beforeAll(async () => {
  gw = await gateway({ limits: { floodRatePerSec: 1000, floodBurst: 1000 } }, { filters: [...DEFAULT_FILTERS, detector] });
});
afterAll(() => gw.close());

describe('automated violations', () => {
  it('a blocked message becomes a violation of its category: strike, notice, audit with automation flags', async () => {
    const c = await raw(gw.port, await token('offender'));
    await c.request('room:join', { room: 'av' });
    const r = await c.request('message:send', { room: 'av', text: 'you SLUR' });
    expect(r.error).toMatchObject({ code: 'blocked', category: 'hate_speech' });
    const notice = await c.next('moderation:notice');
    expect(notice).toMatchObject({ category: 'hate_speech', appealable: true });
    await until(() => gw.audit.pending === 0);
    const [entry] = await gw.audit.query({ userId: 'offender', limit: 1 });
    expect(entry).toMatchObject({ kind: 'decision', category: 'hate_speech', actor: { type: 'automation', id: 'test-terms', detector: 'test-terms', score: 1 }, automatedDetection: true, automatedDecision: true });
    expect((entry as any).evidence.ids).toEqual(expect.arrayContaining([r.error.id ?? expect.any(String), 'term-7']));
    expect((await gw.store.history('offender')).strikes).toHaveLength(1);
    c.close();
  });

  it('self-harm held for review gets a support notice and no penalty', async () => {
    const c = await raw(gw.port, await token('struggling'));
    await c.request('room:join', { room: 'av' });
    expect(await c.request('message:send', { room: 'av', text: 'goodbye world' })).toMatchObject({ ok: true, status: 'held' });
    expect((await c.next('moderation:notice')).action).toBe('support');
    expect(gw.store.active('struggling')).toEqual([]);
    c.close();
  });

  it('repeated flooding is a spam violation that escalates; bursts are capped per user', async () => {
    const c = await raw(gw.port, await token('flooder2'));
    await c.request('room:join', { room: 'av' });
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push((await c.request('message:send', { room: 'av', text: 'FLOOD' })).error.code);
    await sleep(200);
    expect(codes[0]).toBe('rate_limited');
    // The policy's repeat rule escalates (repeated spam is on the strike ladder): chat restricted.
    expect(codes).toContain('restricted');
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    const recorded = Number(/modgate_automated_violations_total\{result="recorded"\} (\d+)/.exec(text)?.[1]);
    expect(recorded).toBeGreaterThanOrEqual(2);
    expect(recorded).toBeLessThanOrEqual(5 + 1); // + the hate-speech one of the first test
    c.close();
  });

  it('caps automated violations per user per window', async () => {
    const { ViolationThrottle, AUTOMATED_VIOLATIONS_PER_WINDOW, AUTOMATED_VIOLATION_WINDOW_MS } = await import('../../gateway/automated-violations.ts');
    const t = new ViolationThrottle();
    const allowed = Array.from({ length: 12 }, () => t.allow('u', 1000)).filter(Boolean).length;
    expect(allowed).toBe(AUTOMATED_VIOLATIONS_PER_WINDOW);
    expect(t.allow('other', 1000)).toBe(true);
    expect(t.allow('u', 1000 + AUTOMATED_VIOLATION_WINDOW_MS)).toBe(true);
  });

  it('shadow filters never cause violations', async () => {
    const g = await gateway({}, { filters: [...DEFAULT_FILTERS, shadowDetector] });
    const c = await raw(g.port, await token('shadowed'));
    await c.request('room:join', { room: 'av' });
    expect((await c.request('message:send', { room: 'av', text: 'you SLUR' })).ok).toBe(true);
    await sleep(100);
    expect((await g.store.history('shadowed')).strikes).toEqual([]);
    c.close();
    await g.close();
  });
});

describe('automatedViolation', () => {
  const msg = { kind: 'text' as const, id: 'm1', room: 'r', userId: 'u', text: 'x' };
  it.each([
    ['mask (built-in profanity) is not a violation', { action: 'mask', text: '***', findings: [{ filter: 'keyword', category: 'profanity' }], failures: [] }, null],
    ['plain hold is not a violation', { action: 'hold', findings: [{ filter: 'keyword', category: 'harassment' }], failures: [] }, null],
    ['rate limit without repeat is not', { action: 'drop', error: { code: 'rate_limited', message: '' }, findings: [{ filter: 'spam', category: 'spam' }], failures: [] }, null],
    ['blocked with category is', { action: 'drop', error: { code: 'blocked', message: '', category: 'threats' }, findings: [{ filter: 'keyword', category: 'threats', score: 1 }], failures: [] }, 'threats'],
    ['unavailable (image timeout) is not', { action: 'drop', error: { code: 'unavailable', message: '' }, findings: [], failures: [] }, null],
    ['a spam refusal (near-duplicate) is not', { action: 'drop', error: { code: 'blocked', message: '', category: 'spam', policy: 'spam:near_duplicate' }, findings: [{ filter: 'spam', category: 'spam' }], failures: [] }, null],
    ['repeated flooding flagged by the spam filter is, as plain spam', { action: 'drop', error: { code: 'rate_limited', message: '' }, findings: [{ filter: 'spam', category: 'spam', violation: true }], failures: [] }, 'spam'],
    ['a block-listed scam domain is, with its category', { action: 'drop', error: { code: 'blocked', message: '', category: 'fraud_scam', policy: 'spam:domain_blocked' }, findings: [{ filter: 'spam', category: 'fraud_scam', violation: true }], failures: [] }, 'fraud_scam'],
  ])('%s', (_n, result, category) => {
    const v = automatedViolation(msg, result as never);
    expect(v?.category ?? null).toBe(category);
  });
});
