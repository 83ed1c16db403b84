import { afterEach, describe, expect, it } from 'vitest';
import { Pipeline } from '../../../filters/pipeline.ts';
import { createKeywordFilter, type KeywordFilter } from '../../../filters/keyword/keyword-filter.ts';
import { check, ctx, evidenceOf, filterWith, text } from './helpers.ts';

const open: KeywordFilter[] = [];
afterEach(() => {
  for (const kw of open.splice(0)) kw.close();
});
const track = <T extends KeywordFilter>(kw: T) => (open.push(kw), kw);

describe('verdicts', () => {
  it('block → drop with a blocked error naming category and list', async () => {
    const kw = track(await filterWith([{ term: 'idiot', id: 't-idiot', category: 'insult', severity: 'high', action: 'block' }]));
    expect(check(kw, 'you idiot')).toEqual({
      action: 'drop',
      findings: [{ filter: 'keyword', category: 'insult', severity: 'high', score: 1, evidence: ['t-idiot'] }],
      error: { code: 'blocked', message: 'message contains a blocked term', category: 'insult', policy: 'keyword:global' },
    });
  });

  it('hold → hold; mask → the original text with each span starred', async () => {
    const kw = track(await filterWith([{ term: 'kys', category: 'self-harm', action: 'hold' }, { term: 'darn', action: 'mask', category: 'mild' }]));
    expect(check(kw, 'just kys').action).toBe('hold');
    expect(check(kw, 'DARN it, d a r n!')).toMatchObject({ action: 'mask', text: '**** it, *******!' });
  });

  it('picks the strongest action, then the highest severity; one finding per category', async () => {
    const kw = track(
      await filterWith([
        { term: 'darn', id: 'a', action: 'mask', category: 'mild', severity: 'low' },
        { term: 'heck', id: 'b', action: 'hold', category: 'mild', severity: 'medium' },
        { term: 'scam*', id: 'c', action: 'block', category: 'scam', severity: 'low' },
        { term: 'wire me', id: 'd', action: 'block', category: 'scam', severity: 'critical' },
      ]),
    );
    const v = check(kw, 'darn heck scammer wire me');
    expect(v.action).toBe('drop');
    expect(v.error).toMatchObject({ category: 'scam' });
    expect(v.findings).toEqual([
      { filter: 'keyword', category: 'mild', severity: 'medium', score: 1, evidence: ['a', 'b'] },
      { filter: 'keyword', category: 'scam', severity: 'critical', score: 1, evidence: ['c', 'd'] },
    ]);
  });

  it('passes clean text, empty text and images with one shared verdict', async () => {
    const kw = track(await filterWith([{ term: 'idiot' }]));
    const a = check(kw, 'hello there');
    expect(a).toEqual({ action: 'pass' });
    expect(check(kw, 'another clean line')).toBe(a);
    expect(kw.filter.check({ kind: 'image', id: 'i', room: 'r', userId: 'u', image: new Uint8Array(1) }, ctx)).toEqual({ action: 'pass' });
  });

  it('is a synchronous Filter for text that a Pipeline runs without a promise', async () => {
    const kw = track(createKeywordFilter({ buildInWorker: false }));
    expect(kw.filter).toMatchObject({ name: 'keyword', kinds: ['text'], onFailure: 'hold' });
    const p = new Pipeline([kw.filter], { budgetMs: { text: 50, image: 50 } });
    const r = p.run(text('what the fuck'));
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toMatchObject({ action: 'mask', text: 'what the ****' });
  });
});

describe('lists', () => {
  it('built-in profanity masks by default (category profanity, low)', () => {
    const kw = track(createKeywordFilter({ buildInWorker: false }));
    expect(check(kw, 'sh1t happens')).toEqual({
      action: 'mask',
      text: '**** happens',
      findings: [{ filter: 'keyword', category: 'profanity', severity: 'low', score: 1, evidence: ['builtin:shit'] }],
    });
  });

  it('a room list applies only in its room', async () => {
    const kw = track(await filterWith([]));
    kw.lists.add('room:spoilers', [{ term: 'dies at the end', category: 'spoiler', action: 'hold' }]);
    await kw.ready();
    expect(check(kw, 'he dies at the end', { room: 'spoilers' })).toMatchObject({ action: 'hold', findings: [{ category: 'spoiler' }] });
    expect(check(kw, 'he dies at the end', { room: 'other' }).action).toBe('pass');
    expect(check(kw, 'he dies at the end', { room: 'spoilers' }).findings?.[0]?.evidence).toEqual(['room:spoilers:dies at the end']);
  });

  it('shadow lists report under keyword:shadow and do not enforce', async () => {
    const kw = track(await filterWith([{ term: 'idiot', id: 'g' }], { shadowLists: ['global', 'room:*'] }));
    kw.lists.add('room:r', [{ term: 'loser', id: 'r' }]);
    await kw.ready();
    expect(check(kw, 'idiot loser', { room: 'r' })).toEqual({
      action: 'pass',
      findings: [{ filter: 'keyword:shadow', category: 'custom', severity: 'medium', score: 1, evidence: ['g', 'r'] }],
    });
    const kw2 = track(createKeywordFilter({ buildInWorker: false, shadowLists: ['builtin'] }));
    expect(check(kw2, 'fuck')).toMatchObject({ action: 'pass', findings: [{ filter: 'keyword:shadow' }] });
  });

  it('refuses bad options, naming them', () => {
    expect(() => createKeywordFilter({ shadowLists: ['everything'] })).toThrow(/shadowLists\.0/);
    expect(() => createKeywordFilter({ splitWindowMs: -1 } as never)).toThrow(/splitWindowMs/);
    expect(() => createKeywordFilter({ nope: 1 } as never)).toThrow(/keyword filter options/);
  });
});

describe('changes at run time', () => {
  it('add and remove take effect after ready(), built in the worker; the old matcher serves meanwhile', async () => {
    const kw = track(createKeywordFilter({ builtin: false, splitWindowMs: 0 }));
    await kw.ready();
    kw.lists.add('global', [{ term: 'idiot', id: 'idiot' }]);
    // Not yet swapped in: matching never waits for a build.
    expect(check(kw, 'idiot').action).toBe('pass');
    await kw.ready();
    expect(evidenceOf(check(kw, 'idiot'))).toEqual(['idiot']);
    kw.lists.add('room:r', [{ term: 'loser' }]);
    kw.lists.remove('global', ['idiot']);
    await kw.ready();
    expect(check(kw, 'idiot', { room: 'r' }).action).toBe('pass');
    expect(check(kw, 'loser', { room: 'r' }).action).toBe('drop');
    kw.lists.remove('room:r', ['loser']);
    await kw.ready();
    expect(check(kw, 'loser', { room: 'r' }).action).toBe('pass');
  });

  it('coalesces changes made while a build runs into one more build', async () => {
    const swaps: string[] = [];
    const kw = track(createKeywordFilter({ builtin: false, buildInWorker: false, onSwap: (scope) => swaps.push(scope) }));
    for (let i = 0; i < 5; i++) kw.lists.add('global', [{ term: `word${i}x` }]);
    await kw.ready();
    expect(swaps).toEqual(['global']);
    expect(check(kw, 'word4x').action).toBe('drop');
  });

  it('restores a snapshot given at creation', async () => {
    const src = track(createKeywordFilter({ buildInWorker: false }));
    src.lists.add('global', [{ term: 'idiot' }]);
    src.lists.add('room:r', [{ term: 'loser' }]);
    const kw = track(createKeywordFilter({ buildInWorker: false, snapshot: JSON.parse(JSON.stringify(src.lists.snapshot())) }));
    await kw.ready();
    expect(check(kw, 'idiot').action).toBe('drop');
    expect(check(kw, 'loser', { room: 'r' }).action).toBe('drop');
  });

  it('builds a 100k-term list in the worker and swaps it in', async () => {
    const kw = track(createKeywordFilter({ builtin: false, splitWindowMs: 0 }));
    const terms = Array.from({ length: 100_000 }, (_, i) => ({ term: `zq${i.toString(36)}x` }));
    const swaps: { terms: number; buildMs: number }[] = [];
    const kw2 = track(createKeywordFilter({ builtin: false, splitWindowMs: 0, onSwap: (_s, info) => swaps.push(info) }));
    await kw2.lists.addMany('global', terms);
    await kw2.ready();
    expect(swaps).toHaveLength(1);
    expect(swaps[0]!.terms).toBe(100_000);
    expect(check(kw2, `hello zq${(77_777).toString(36)}x there`).action).toBe('drop');
    expect(check(kw2, 'hello there').action).toBe('pass');
    expect(check(kw, 'zq1x').action).toBe('pass');
  }, 60_000);

  it('reports terms the build drops (fewer than two letters once normalised)', async () => {
    const rejected: string[] = [];
    const kw = track(createKeywordFilter({ builtin: false, buildInWorker: false, onRejected: (_s, ts) => rejected.push(...ts.map((t) => t.term)) }));
    // Hangul fillers are letters to Unicode (so the term passes validation) but render as nothing.
    kw.lists.add('global', [{ term: '\u3164\u3164' }, { term: 'ok' }]);
    await kw.ready();
    expect(rejected).toEqual(['\u3164\u3164'.normalize('NFKC')]);
  });
});

describe('split evasion', () => {
  const opts = { builtin: false, splitWindowMs: 5_000 };

  it('catches a term typed across consecutive messages, with both message ids as evidence', async () => {
    let now = 1_000;
    const kw = track(await filterWith([{ term: 'fuck', id: 'f' }], { ...opts, now: () => now }));
    const first = kw.filter.check(text('what the fu', { id: 'a1', userId: 'u' }), ctx);
    expect(first).toEqual({ action: 'pass' });
    now += 1_000;
    const second = kw.filter.check(text('ck you', { id: 'a2', userId: 'u' }), ctx);
    expect(second).toEqual({
      action: 'drop',
      findings: [{ filter: 'keyword', category: 'custom', severity: 'medium', score: 1, evidence: ['f', 'a1', 'a2'] }],
      error: { code: 'blocked', message: 'message contains a blocked term', category: 'custom', policy: 'keyword:global' },
    });
  });

  it('chains several messages and masks only the current part', async () => {
    let now = 0;
    const kw = track(await filterWith([{ term: 'idiot', id: 'i', action: 'mask' }], { ...opts, now: () => now }));
    const send = (t: string, id: string) => kw.filter.check(text(t, { id, userId: 'u2', room: 'x' }), ctx) as { action: string; text?: string; findings?: { evidence?: string[] }[] };
    expect(send('i', 'b1').action).toBe('pass');
    now += 500;
    expect(send('d', 'b2').action).toBe('pass');
    now += 500;
    const v = send('iot!', 'b3');
    expect(v).toMatchObject({ action: 'mask', text: '***!' });
    expect(v.findings![0]!.evidence).toEqual(['i', 'b1', 'b2', 'b3']);
  });

  it.each([
    ['a double letter completed across messages', ['as', 's'], 'ass'],
    ['a letter run continued across messages', ['fu', 'uck'], 'fuck'],
    ['a split at the double letter', ['a', 'ss'], 'ass'],
    ['after a message with no letters', ['fu', '!!!', 'ck'], 'fuck'],
  ])('%s: %j', async (_why, parts, term) => {
    let now = 0;
    const kw = track(await filterWith([{ term, id: term }], { ...opts, now: () => now }));
    const verdicts = parts.map((p, i) => {
      now += 200;
      return kw.filter.check(text(p, { id: `p${i}`, userId: 'splitter' }), ctx) as { action: string; findings?: { evidence?: string[] }[] };
    });
    expect(verdicts.slice(0, -1).map((v) => v.action)).toEqual(parts.slice(0, -1).map(() => 'pass'));
    expect(verdicts.at(-1)).toMatchObject({ action: 'drop', findings: [{ evidence: expect.arrayContaining([term, 'p0', `p${parts.length - 1}`]) }] });
  });

  it('ignores messages outside the window, of other users or other rooms', async () => {
    let now = 0;
    const kw = track(await filterWith([{ term: 'fuck' }], { ...opts, now: () => now }));
    kw.filter.check(text('fu', { userId: 'u3', room: 'r1' }), ctx);
    expect(check(kw, 'ck', { userId: 'u4', room: 'r1' }).action).toBe('pass');
    expect(check(kw, 'ck', { userId: 'u3', room: 'r2' }).action).toBe('pass');
    kw.filter.check(text('fu', { userId: 'u5', room: 'r1' }), ctx);
    now += 6_000;
    expect(check(kw, 'ck', { userId: 'u5', room: 'r1' }).action).toBe('pass');
  });

  it('does not re-report a match already complete in the earlier message', async () => {
    let now = 0;
    const kw = track(await filterWith([{ term: 'kys', id: 'k', action: 'hold' }], { ...opts, now: () => now }));
    expect(check(kw, 'kys', { userId: 'u6' }).action).toBe('hold');
    now += 100;
    expect(check(kw, 'spoilers ahead', { userId: 'u6' })).toEqual({ action: 'pass' });
  });

  it('is off with splitWindowMs: 0', async () => {
    const kw = track(await filterWith([{ term: 'fuck' }], { builtin: false, splitWindowMs: 0 }));
    check(kw, 'fu', { userId: 'u7' });
    expect(check(kw, 'ck', { userId: 'u7' }).action).toBe('pass');
  });
});
