import { englishDataset, englishRecommendedTransformers, RegExpMatcher, pattern } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { builtinProfanityTerms, expandPattern } from '../../../filters/keyword/builtin-profanity.ts';
import { createKeywordFilter } from '../../../filters/keyword/keyword-filter.ts';
import { validateTerms } from '../../../filters/keyword/terms.ts';
import { check } from './helpers.ts';

describe('built-in profanity (obscenity’s English dataset)', () => {
  it('expands optional parts and wildcards of obscenity patterns', () => {
    expect(expandPattern(pattern`ab[b]o`)).toEqual(['abo', 'abbo']);
    expect(expandPattern(pattern`f[?]ck`)).toHaveLength(27);
  });

  it('converts every pattern into valid terms, with the whitelist as allow entries', () => {
    const terms = validateTerms(builtinProfanityTerms(), 'builtin');
    expect(terms.filter((t) => t.action === 'mask').length).toBeGreaterThan(300);
    expect(terms.every((t) => t.action === 'allow' || (t.category === 'profanity' && t.severity === 'low'))).toBe(true);
    expect(terms.find((t) => t.term === 'ass*')).toMatchObject({ id: 'builtin:ass', mode: 'prefix' });
    expect(terms.find((t) => t.term === '*kung fu*')).toMatchObject({ action: 'allow' });
    // "45s" is left out: our normaliser reads it as a number already.
    expect(terms.some((t) => t.term.includes('45s'))).toBe(false);
  });

  it('catches what obscenity catches on its own dataset words (plain and with its transforms)', () => {
    const ob = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
    const kw = createKeywordFilter({ buildInWorker: false, splitWindowMs: 0 });
    const words = ['fuck', 'shit', 'bitch', 'cunt', 'dick', 'pussy', 'whore', 'slut', 'bastard', 'wanker', 'asshole', 'cock', 'twat', 'penis', 'porn', 'rape', 'retard', 'tits', 'boob', 'jizz', 'dildo'];
    const variants = (w: string) => [w, w.toUpperCase(), w.replace(/i/g, '1').replace(/o/g, '0'), w.replace(/s/g, '$'), [...w].map((c) => c + c).join(''), `you ${w} lol`];
    const missed: string[] = [];
    for (const w of words) for (const v of variants(w)) if (ob.hasMatch(v) && check(kw, v).action === 'pass') missed.push(v);
    expect(missed).toEqual([]);
    kw.close();
  });
});
