import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { F_CS, F_IG, F_IS, F_MULTI, F_WE, F_WS, NormalizedText, normalize, normalizeInto, symbolString, WORD_START_BITS } from '../../../filters/keyword/normalize.ts';
import { MESSAGE_JOINER } from '../../../filters/keyword/split-tracker.ts';

/** Symbols with their run length when > 1: "fu4ck" for "fuuuuck". */
function runs(text: string): string {
  const nt = normalize(text);
  let s = '';
  for (let k = 0; k < nt.length; k++) s += symbolString(nt, k, k + 1) + (nt.runs[k]! > 1 ? nt.runs[k] : '');
  return s;
}

describe('normalize: letters', () => {
  it.each([
    ['case', 'FuCk', 'fuck'],
    ['fullwidth', 'ＦＵＣＫ', 'fuck'],
    ['math bold / sans / monospace', '𝐟𝐮𝐜𝐤 𝗳𝘂𝗰𝗸 𝚏𝚞𝚌𝚔', 'fuckfuckfuck'],
    ['circled and parenthesised', 'ⓕⓤⓒⓚ', 'fuck'],
    ['superscript and small capitals', 'ᶠᵘᶜᵏ ꜰᴜᴄᴋ', 'fuckfuck'],
    ['Cyrillic look-alikes', 'ѕһіt аѕѕ', 'shitas'],
    ['Greek look-alikes', 'κιϲκ', 'kick'],
    ['enclosed and regional indicators', '🅵🆄🅲🅺 🇫🇺🇨🇰', 'fuckfuck'],
    ['combining marks stripped', 'f̸̢ǘ̵c̷k̶', 'fuck'],
    ['zero-width and format characters removed', 'f\u200bu\u200dc\u2060k\ufeff', 'fuck'],
    ['soft hyphen and variation selector removed', 'f\u00adu\ufe0fck', 'fuck'],
    ['ligatures and ß', 'ﬁne Straße', 'finestrase'],
    // Terms are normalised the same way, so a Russian term still matches Russian text.
    ['other scripts: look-alikes folded, other letters kept', 'привет мир 你好', 'npиbetmиp你好'],
  ])('%s', (_name, text, expected) => {
    expect(symbolString(normalize(text))).toBe(expected);
  });

  it('reads 1, | and capital I as the "i or l" class (ı)', () => {
    expect(symbolString(normalize('k1ll SIut |diot'))).toBe('kılsıutıdiot');
  });
});

describe('normalize: leetspeak in context', () => {
  it.each([
    ['digits in a word', 'sh1t a55 b00b', 'shıtasbob'],
    ['a word may start with a digit when letters are at least as many', '5h1t 4ss', 'shıtas'],
    ['numbers stay numbers', '455 1990s 45s', '45190s45s'],
    ['numbers between punctuation stay numbers in a chunk with letters', 't=1234.717 v2.10', 't1234717vz10'],
    ['a single digit between dots is still leet', 's.h.1.t', 'shıt'],
    ['$ and @ at the start of a word', '$hit @ss', 'shitas'],
    ['$ at the end of a word', 'a$$', 'as'],
    ['! ( + only between letters', 'b!tch fu(k +his', 'bitchfuckhis'],
    ['! at the end is punctuation', 'shit!!!', 'shit'],
    ['( at the start is punctuation', '(ass)', 'as'],
    ['a word all in leet, led by @ $ |', '@$$ @80 $5 $$', 'asabo5'],
  ])('%s', (_name, text, expected) => {
    expect(symbolString(normalize(text))).toBe(expected);
  });
});

describe('normalize: runs', () => {
  it('collapses repeats and keeps the run length', () => {
    expect(runs('fuuuuck')).toBe('fu4ck');
    expect(runs('ass class')).toBe('as2clas2');
    expect(runs('boob bob')).toBe('bo2bbob');
    // Runs continue across punctuation, and across whitespace only between one-letter words.
    expect(runs('a.s.s as.s a s s as s')).toBe('as2as2as2ass');
  });

  it('caps run length at 255', () => {
    expect(normalize(`f${'u'.repeat(1000)}ck`).runs[1]).toBe(255);
  });
});

describe('normalize: word and chunk boundaries', () => {
  const flagsOf = (text: string) => {
    const nt = normalize(text);
    return Array.from({ length: nt.length }, (_, k) => nt.flags[k]!);
  };

  it('marks word starts and ends, and chunk starts', () => {
    const [f, u, c, k] = flagsOf('f.u c-k');
    expect(f! & (F_WS | F_CS | F_WE)).toBe(F_WS | F_CS | F_WE);
    expect(u! & (F_WS | F_CS)).toBe(F_WS); // after ".": a word start, not a chunk start
    expect(c! & (F_WS | F_CS)).toBe(F_WS | F_CS); // after " ": both
    expect(k! & (F_WS | F_WE)).toBe(F_WS | F_WE);
  });

  it('marks runs that span words, and words of two letters or more', () => {
    const [a, s] = flagsOf('a s s');
    expect(a! & F_MULTI).toBe(0);
    expect(s! & (F_IG | F_IS)).toBe(F_IG | F_IS);
    expect(s! & F_MULTI).toBe(0);
    const [, s2] = flagsOf('as.s');
    expect(s2! & (F_IG | F_IS | F_MULTI)).toBe(F_IG | F_MULTI);
  });

  it('summarises the word starts of the last symbols in wordStarts, for any input', () => {
    const nt = new NormalizedText(8);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => {
        normalizeInto(nt, text);
        let mask = 0;
        for (let i = 0; i < WORD_START_BITS && i < nt.length; i++) if (nt.flags[nt.length - 1 - i]! & F_WS) mask |= 1 << i;
        expect(nt.wordStarts).toBe(mask);
      }),
    );
    expect(normalize('ab cd.e').wordStarts).toBe(0b10101); // e, c and a start words: 1, 3 and 5 symbols from the end
  });
});

describe('normalize: spans', () => {
  it('maps each symbol to the original text it came from', () => {
    const text = 'Ｆu\u0301uuck 𝐬𝐡';
    const nt = normalize(text);
    const parts = Array.from({ length: nt.length }, (_, k) => text.slice(nt.start[k], nt.end[k]));
    expect(parts).toEqual(['Ｆ', 'u\u0301uu', 'c', 'k', '𝐬', '𝐡']);
  });

  it('spans are ordered, non-empty and inside the text, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => {
        const nt = normalize(text);
        let prev = 0;
        for (let k = 0; k < nt.length; k++) {
          expect(nt.start[k]).toBeGreaterThanOrEqual(prev);
          expect(nt.end[k]).toBeGreaterThan(nt.start[k]!);
          expect(nt.end[k]).toBeLessThanOrEqual(text.length);
          prev = nt.start[k]!;
        }
        expect(nt.length).toBeLessThanOrEqual(text.length * 18); // NFKD expands a character to at most 18
      }),
      { numRuns: 300 },
    );
  });

  it('reuses its buffers: normalising again into the same object gives the same symbols', () => {
    const nt = new NormalizedText(4);
    normalizeInto(nt, 'a much longer text than four symbols');
    const first = symbolString(nt);
    normalizeInto(nt, 'short');
    expect(symbolString(nt)).toBe('short');
    normalizeInto(nt, 'a much longer text than four symbols');
    expect(symbolString(nt)).toBe(first);
  });
});

describe('normalize: plain ASCII fast path', () => {
  it('gives the same symbols as the general path', () => {
    // A zero-width character (removed, attached to the last unit) sends the same text down the
    // general path.
    const unit = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFIKLSZ  .,-_*?\'"~/'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
        const fast = normalize(text);
        const general = normalize(`${text}\u200b`);
        expect(symbolString(fast)).toBe(symbolString(general));
        for (let k = 0; k < fast.length; k++) {
          expect([fast.runs[k], fast.flags[k], fast.start[k]]).toEqual([general.runs[k], general.flags[k], general.start[k]]);
          if (k < fast.length - 1) expect(fast.end[k]).toBe(general.end[k]);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('normalize: messages joined for split detection', () => {
  it('reads the message joiner as punctuation: a word gap, not whitespace', () => {
    const nt = normalize(`fu${MESSAGE_JOINER}ck`);
    expect(symbolString(nt)).toBe('fuck');
    expect(nt.flags[2]! & (F_WS | F_CS)).toBe(F_WS);
    expect(runs(`as${MESSAGE_JOINER}s`)).toBe('as2');
  });
});
