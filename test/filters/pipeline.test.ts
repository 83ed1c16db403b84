import { describe, expect, it } from 'vitest';
import { Pipeline, type Filter, type Outcome, type PipelineMessage, type Verdict } from '../../filters/pipeline.ts';
import { visibleText } from '../../filters/visible-text.ts';

const msg = (text = 'hello'): PipelineMessage => ({ kind: 'text', id: 'm1', room: 'r', userId: 'u', text });
const budget = { text: 50, image: 50 };

function filter(name: string, check: Filter['check'], o: Partial<Filter> = {}): Filter {
  return { name, kinds: ['text'], timeoutMs: 20, onFailure: 'pass', check, ...o };
}
const always = (v: Verdict) => () => v;

describe('Pipeline', () => {
  it('stays synchronous when every filter is synchronous', () => {
    const p = new Pipeline([filter('a', always({ action: 'pass' })), visibleText], { budgetMs: budget });
    const r = p.run(msg());
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toEqual({ action: 'pass', findings: [], failures: [] });
  });

  it('applies masks in order, so later filters see the masked text', () => {
    const seen: (string | undefined)[] = [];
    const p = new Pipeline(
      [
        filter('mask', (m) => ({ action: 'mask', text: m.text!.replace('bad', '***') })),
        filter('look', (m) => {
          seen.push(m.text);
          return { action: 'pass' };
        }),
      ],
      { budgetMs: budget },
    );
    const r = p.run(msg('a bad word')) as any;
    expect(r.action).toBe('mask');
    expect(r.text).toBe('a *** word');
    expect(seen).toEqual(['a *** word']);
  });

  it('drop stops the chain and carries the error; hold is kept while later filters run', () => {
    const calls: string[] = [];
    const track = (name: string, v: Verdict) => filter(name, () => (calls.push(name), v));
    const error = { code: 'blocked', message: 'no', category: 'hate', policy: 'p1' };
    const r = new Pipeline([track('h', { action: 'hold', findings: [{ filter: 'h', category: 'self_harm' }] }), track('d', { action: 'drop', error }), track('never', { action: 'pass' })], { budgetMs: budget }).run(msg()) as any;
    expect(calls).toEqual(['h', 'd']);
    expect(r).toMatchObject({ action: 'drop', error, findings: [{ category: 'self_harm' }] });
    const held = new Pipeline([track('h2', { action: 'hold' }), track('p2', { action: 'mask', text: 'x' })], { budgetMs: budget }).run(msg()) as any;
    expect(held.action).toBe('hold');
  });

  it('applies each filter failure direction on throw, and counts it', () => {
    const outcomes: [string, Outcome][] = [];
    const observe = (f: string, o: Outcome) => outcomes.push([f, o]);
    const boom = () => {
      throw new Error('boom');
    };
    expect((new Pipeline([filter('x', boom, { onFailure: 'pass' })], { budgetMs: budget, observe }).run(msg()) as any).action).toBe('pass');
    expect((new Pipeline([filter('y', boom, { onFailure: 'hold' })], { budgetMs: budget, observe }).run(msg()) as any).action).toBe('hold');
    const dropped = new Pipeline([filter('z', boom, { onFailure: 'drop' })], { budgetMs: budget, observe }).run(msg()) as any;
    expect(dropped.action).toBe('drop');
    expect(dropped.error.code).toBe('unavailable');
    expect(dropped.failures).toEqual([{ filter: 'z', outcome: 'error', applied: 'drop' }]);
    expect(outcomes).toEqual([
      ['x', 'error'],
      ['y', 'error'],
      ['z', 'error'],
    ]);
  });

  it('times out a slow async filter at its timeout and applies its direction', async () => {
    let aborted = false;
    const slow = filter(
      'slow',
      (_m, ctx) =>
        new Promise<Verdict>((resolve) => {
          ctx.signal.addEventListener('abort', () => (aborted = true));
          setTimeout(() => resolve({ action: 'pass' }), 500);
        }),
      { timeoutMs: 20, onFailure: 'hold' },
    );
    const r = await new Pipeline([slow], { budgetMs: { text: 1000, image: 1000 } }).run(msg());
    expect(r.action).toBe('hold');
    expect(r.failures).toEqual([{ filter: 'slow', outcome: 'timeout', applied: 'hold' }]);
    expect(aborted).toBe(true);
    // And a second async filter after a sync one.
    aborted = false;
    const r2 = await new Pipeline([filter('sync', always({ action: 'pass' })), filter('async', async () => ({ action: 'pass' })), slow], { budgetMs: { text: 1000, image: 1000 } }).run(msg());
    expect(r2.action).toBe('hold');
    expect(aborted).toBe(true);
  });

  it('gives each filter at most what is left of the budget, and skips filters once it is spent', async () => {
    let clock = 0;
    const deadlines: number[] = [];
    const costly = (name: string, cost: number, o: Partial<Filter> = {}) =>
      filter(
        name,
        (_m, ctx) => {
          deadlines.push(ctx.deadlineMs);
          clock += cost;
          return { action: 'pass' };
        },
        { timeoutMs: 30, ...o },
      );
    const r = new Pipeline([costly('a', 40), costly('b', 15), costly('c', 1, { onFailure: 'drop' })], { budgetMs: { text: 50, image: 50 }, now: () => clock }).run(msg()) as any;
    expect(deadlines).toEqual([30, 10]);
    expect(r.action).toBe('drop');
    expect(r.failures).toEqual([{ filter: 'c', outcome: 'budget', applied: 'drop' }]);
  });

  it('runs neverSkip filters even when the budget is spent', () => {
    let clock = 0;
    const ran: string[] = [];
    const slow = filter('slow', () => ((clock += 100), ran.push('slow'), { action: 'pass' }), { timeoutMs: 30 });
    const keyword = filter('keyword', () => (ran.push('keyword'), { action: 'drop', error: { code: 'blocked', message: 'x', category: 'hate_speech', policy: 'k' } }), { neverSkip: true });
    const other = filter('other', () => (ran.push('other'), { action: 'pass' }));
    const r = new Pipeline([slow, other, keyword], { budgetMs: { text: 50, image: 50 }, now: () => clock }).run(msg()) as any;
    expect(ran).toEqual(['slow', 'keyword']);
    expect(r.action).toBe('drop');
    expect(r.failures).toEqual([{ filter: 'other', outcome: 'budget', applied: 'pass' }]);
  });

  it('shadow filters record findings but never enforce', async () => {
    const outcomes: Outcome[] = [];
    const shadow = filter('new-list', always({ action: 'drop', findings: [{ filter: 'new-list', category: 'spam', score: 0.9 }] }), { shadow: true });
    const r = new Pipeline([shadow], { budgetMs: budget, observe: (_f, o) => outcomes.push(o) }).run(msg()) as any;
    expect(r.action).toBe('pass');
    expect(r.findings).toEqual([{ filter: 'new-list', category: 'spam', score: 0.9, shadow: true }]);
    expect(outcomes).toEqual(['shadow']);
  });

  it('runs only the filters for the message kind', () => {
    const imageOnly = filter('img', always({ action: 'drop' }), { kinds: ['image'] });
    expect((new Pipeline([imageOnly], { budgetMs: budget }).run(msg()) as any).action).toBe('pass');
  });
});

describe('visible-text', () => {
  it.each([
    ['', true],
    ['   ', true],
    ['\u200b\u200c\u200d\ufeff', true],
    ['\u3164\u2800 \u115f', true],
    ['\u0301\u0301', true],
    ['hi', false],
    ['  .  ', false],
    ['😀', false],
    ['\u200bx', false],
  ])('%j refused: %s', (text, refused) => {
    const v = visibleText.check(msg(text), { deadlineMs: 1, signal: new AbortController().signal }) as Verdict;
    expect(v.action === 'drop').toBe(refused);
    if (refused) expect(v.error?.code).toBe('invalid');
  });
});
