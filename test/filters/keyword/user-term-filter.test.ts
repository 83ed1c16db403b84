import { describe, expect, it } from 'vitest';
import { compileUserFilter, MAX_USER_TERMS } from '../../../filters/keyword/user-term-filter.ts';
import { TermListError } from '../../../filters/keyword/terms.ts';

describe('compileUserFilter', () => {
  it('hides messages with the user’s words, with the same normalisation and wildcards', () => {
    const f = compileUserFilter(['spoiler*', 'pineapple', '*ball']);
    expect(f.size).toBe(3);
    expect(f.hides('SPOILERS ahead')).toBe(true);
    expect(f.hides('p i n e a p p l e on pizza')).toBe(true);
    expect(f.hides('ｐｉｎｅａｐｐｌｅ')).toBe(true);
    expect(f.hides('football tonight')).toBe(true);
    expect(f.hides('pineapples')).toBe(false);
    expect(f.hides('nothing to see')).toBe(false);
    expect(f.hides('')).toBe(false);
  });

  it('filters are independent while sharing the normalised text of the last message', () => {
    const a = compileUserFilter(['cats']);
    const b = compileUserFilter(['dogs']);
    const msg = 'cats and dogs';
    expect([a.hides(msg), b.hides(msg), a.hides('dogs only'), b.hides('dogs only')]).toEqual([true, true, false, true]);
  });

  it('an empty filter hides nothing', () => {
    expect(compileUserFilter([]).hides('anything')).toBe(false);
  });

  it(`refuses more than ${MAX_USER_TERMS} terms and bad terms, naming them`, () => {
    expect(() => compileUserFilter(Array.from({ length: MAX_USER_TERMS + 1 }, (_, i) => `w${i}x`))).toThrow(TermListError);
    expect(() => compileUserFilter(['ok', 'f*ck'])).toThrow(/terms\[1\]\.term/);
    expect(() => compileUserFilter([42 as never])).toThrow(TermListError);
  });

  it('compiles 200 terms cheaply and checks a message in microseconds', () => {
    const terms = Array.from({ length: MAX_USER_TERMS }, (_, i) => `word${i.toString(36)}x`);
    const f = compileUserFilter(terms);
    expect(f.hides(`hello word${(150).toString(36)}x`)).toBe(true);
    // Not a timing assertion (those belong in the benchmarks): just that many calls complete.
    for (let i = 0; i < 10_000; i++) f.hides(`message number ${i} with some ordinary words`);
  });
});
