import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BANDS, bandKey, Fingerprinter, similarity, similarityAtLeast } from '../../../filters/spam/fingerprint.ts';
import { DEFAULT_SPAM_LIMITS } from '../../../filters/spam/limits.ts';

const fpA = new Fingerprinter();
const fpB = new Fingerprinter();
const exact = (t: string) => new Fingerprinter().compute(t, Infinity).exact;
function sim(a: string, b: string): number {
  fpA.compute(a, 1);
  const s = fpA.sig.slice();
  fpB.compute(b, 1);
  return similarity(s, fpB.sig);
}

describe('normalisation (exact hash)', () => {
  it.each([
    ['case and punctuation', 'Hello, World!!!', 'hello world'],
    ['white space runs', 'hello     world ', '  hello world'],
    ['full-width letters', 'ｆｒｅｅ ｆｏｌｌｏｗｅｒｓ', 'free followers'],
    ['math bold letters', '𝐟𝐫𝐞𝐞 𝐟𝐨𝐥𝐥𝐨𝐰𝐞𝐫𝐬', 'free followers'],
    ['Cyrillic look-alikes', 'frее fоllоwеrs', 'free followers'],
    ['Greek look-alikes', 'fοllοwers', 'followers'],
    ['zero-width characters', 'fr\u200bee fol\u200dlowers', 'free followers'],
    ['accents', 'café crème', 'cafe creme'],
    ['zalgo marks', 'f\u0301\u0302\u0303ree', 'free'],
    ['character runs cut to two', 'heyyyyyyyy', 'heyy'],
    ['variation selectors', 'love ❤\ufe0f', 'love ❤'],
  ])('%s: "%s" = "%s"', (_n, a, b) => {
    expect(exact(a)).toBe(exact(b));
  });

  it.each([
    ['different words', 'hello', 'hallo'],
    ['punctuation-only messages stay distinct', '???', '!!!'],
    ['a run of two is not a run of one', 'hey', 'heyy'],
    ['digits matter', 'room 1', 'room 2'],
    ['emoji are content', 'lol 😂', 'lol 😭'],
  ])('%s: "%s" ≠ "%s"', (_n, a, b) => {
    expect(exact(a)).not.toBe(exact(b));
  });

  it('is a safe integer, and equal texts hash equal (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (t) => {
        const h = exact(t);
        expect(Number.isSafeInteger(h)).toBe(true);
        expect(exact(t)).toBe(h);
      }),
    );
  });
});

describe('near-duplicates (MinHash similarity, threshold limits.nearDuplicateJaccard)', () => {
  const T = DEFAULT_SPAM_LIMITS.nearDuplicateJaccard;

  // Small edits a person or a bot makes to get a repeat through.
  it.each([
    ['check out my channel for free followers', 'check out my channel for free followers!!!'],
    ['check out my channel for free followers', 'check out my channel for free followers x7k2q'],
    ['check out my channel for free followers', 'Check out my channel for FREE followers 😀'],
    ['check out my channel for free followers', 'check out my chanel for free followers'],
    ['check out my channel for free followers', 'check out my channel 4 free followers'],
    ['check out my channel for free followers', 'pls check out my channel for free followers'],
    ['free nitro giveaway click the link in my bio', 'free nitro giveaway click the link in my bio 123'],
    ['free nitro giveaway click the link in my bio', 'free nitro giveaway, click the link in my bio now'],
    ['is anyone else lagging right now', 'is anyone else lagging rn'],
    ['buy cheap followers at example dot com', 'buy cheap followers at example dot com today'],
    ['hello everyone how are you doing today', 'hello everyone, how are u doing today'],
    // One swapped word is an edit too (bots rotate words); a person correcting themselves within
    // the 30 s window is refused once — the price, documented in docs/spam-filter.md.
    ['what time does the stream start tomorrow', 'what time does the game start tomorrow'],
  ])('"%s" ~ "%s"', (a, b) => {
    expect(sim(a, b)).toBeGreaterThanOrEqual(T);
  });

  const distinct = [
    'what time does the stream start tomorrow',
    'hello everyone how are you doing today',
    'is anyone else lagging right now',
    'that was an insane clutch in the last round',
    'can you play the song from yesterday again',
    'i think the boss has a second phase',
    'gg everyone that was a great match',
    'where can i buy the merch from the stream',
    'does anyone know the name of this song',
    'my internet keeps dropping out tonight',
    'the new patch made the sniper way too strong',
    'please say hi to my little brother he loves your videos',
    'how long have you been streaming today',
    'i missed the beginning what happened',
    'that jump was absolutely perfect',
    'you should try the hard mode next time',
    'is this the final level or is there more',
    'what settings do you use for your mouse',
    'chat is moving so fast right now',
    'what time does the stream end today',
    'how are you doing today streamer',
    'did you see the clutch in the last round',
    'can you play the song again please',
    'the stream is lagging for me right now',
    'i love this game so much',
    'what game are you playing next week',
    'thanks for the stream see you tomorrow',
  ];
  it(`does not flag any pair of ${distinct.length} distinct chat lines (several on one topic)`, () => {
    let worst = 0;
    for (let i = 0; i < distinct.length; i++) {
      for (let j = i + 1; j < distinct.length; j++) {
        const s = sim(distinct[i]!, distinct[j]!);
        worst = Math.max(worst, s);
        expect(s, `${distinct[i]} / ${distinct[j]}`).toBeLessThan(T);
      }
    }
    expect(worst).toBeLessThan(0.7); // and with margin, so coordination (0.7) does not merge them either
  });

  it('identical normalised texts have identical signatures and band keys (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3, maxLength: 300 }), (t) => {
        fpA.compute(t, 1);
        const a = fpA.sig.slice();
        fpB.compute(`  ${t.toUpperCase()}  `, 1);
        if (fpA.exact !== fpB.exact) return; // upper-casing changed the text (e.g. ß → SS)
        expect(similarity(a, fpB.sig)).toBe(1);
        for (let b = 0; b < BANDS; b++) expect(bandKey(a, b)).toBe(bandKey(fpB.sig, b));
      }),
    );
  });

  it('computes a signature only from the requested length', () => {
    expect(new Fingerprinter().compute('short', 16).hasSig).toBe(false);
    expect(new Fingerprinter().compute('long enough to have a signature', 16).hasSig).toBe(true);
    expect(new Fingerprinter().compute('long enough to have a signature', Infinity).hasSig).toBe(false);
  });
});

describe('similarityAtLeast', () => {
  it('agrees with similarity at the threshold (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 32, maxLength: 32 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 32, maxLength: 32 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (a, b, t) => {
        const s = similarity(a, b);
        expect(similarityAtLeast(a, b, t)).toBe(s >= t - 1e-9 ? s : -1);
      }),
    );
  });
});
