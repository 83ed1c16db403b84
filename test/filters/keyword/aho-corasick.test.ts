import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AhoCorasick, buildAutomaton, DENSE_DEPTH, HitList } from '../../../filters/keyword/aho-corasick.ts';
import { IL } from '../../../filters/keyword/normalize.ts';

const codes = (s: string) => Int32Array.from(s, (ch) => (ch === 'I' ? IL : ch.codePointAt(0)!));

function build(patterns: string[]) {
  const flat = patterns.map(codes);
  const offsets = new Int32Array(patterns.length + 1);
  flat.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  const all = new Int32Array(offsets[patterns.length]!);
  flat.forEach((p, i) => all.set(p, offsets[i]));
  return new AhoCorasick(buildAutomaton(all, offsets));
}

function hitsOf(ac: AhoCorasick, text: string): string[] {
  const hits = new HitList(2);
  const t = codes(text);
  ac.scan(t, 0, t.length, hits);
  return Array.from({ length: hits.count }, (_, i) => `${hits.pattern[i]}@${hits.end[i]}`).sort();
}

function naive(patterns: string[], text: string): string[] {
  const out: string[] = [];
  patterns.forEach((p, i) => {
    for (let at = text.indexOf(p); at !== -1; at = text.indexOf(p, at + 1)) out.push(`${i}@${at + p.length - 1}`);
  });
  return out.sort();
}

describe('Aho–Corasick', () => {
  it('finds overlapping and nested patterns', () => {
    const patterns = ['he', 'she', 'his', 'hers', 'I'];
    expect(hitsOf(build(patterns), 'ushers hIs')).toEqual(naive(patterns, 'ushers hIs'));
  });

  it(`agrees with a naive search, including patterns deeper than the dense rows (depth > ${DENSE_DEPTH})`, () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'I', 'é', '1'), minLength: 1, maxLength: 9 });
    fc.assert(
      fc.property(fc.uniqueArray(word, { minLength: 1, maxLength: 30 }), fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'I', 'é', '1'), maxLength: 60 }), (patterns, text) => {
        expect(hitsOf(build(patterns), text)).toEqual(naive(patterns, text));
      }),
      { numRuns: 300 },
    );
  });

  it('reports duplicate patterns separately and stops at maxHits', () => {
    const ac = build(['ab', 'ab', 'b']);
    expect(hitsOf(ac, 'ab')).toEqual(['0@1', '1@1', '2@1']);
    const hits = new HitList();
    const t = codes('abababab');
    ac.scan(t, 0, t.length, hits, 4);
    expect(hits.count).toBeLessThanOrEqual(6);
  });

  it('rejects an empty pattern', () => {
    expect(() => build(['ok', ''])).toThrow(RangeError);
  });
});
