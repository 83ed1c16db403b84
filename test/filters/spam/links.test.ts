import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractLinks, extractLinksUnchecked, mayContainLink, type LinkKind } from '../../../filters/spam/links.ts';
import { analyzeShape } from '../../../filters/spam/text-shape.ts';

const hosts = (t: string) => extractLinks(t).map((l) => l.host);

describe('extractLinks', () => {
  it.each<[string, string, string[], LinkKind?, boolean?]>([
    // name, text, hosts, kind of the first, obfuscated
    ['scheme', 'see https://Example.com/path?q=1', ['example.com'], 'url', false],
    ['http with port', 'http://example.com:8080/x', ['example.com'], 'url'],
    ['www without scheme', 'go to www.example.org now', ['www.example.org'], 'url'],
    ['bare common TLD', 'visit example.com!', ['example.com'], 'domain'],
    ['bare with path', 'bit.ly/abc123', ['bit.ly'], 'domain'],
    ['subdomain', 'login at secure.paypa1-verify.xyz', ['secure.paypa1-verify.xyz'], 'domain'],
    ['in parentheses, sentence end', '(example.net).', ['example.net'], 'domain'],
    ['several, deduplicated', 'a.com b.com a.com', ['a.com', 'b.com']],
    ['scheme glued to a word', 'visit:http://evil.io', ['evil.io'], 'url'],
    ['IDN with scheme', 'https://пример.рф/', ['пример.рф'], 'url'],
    ['IP with scheme', 'http://192.168.1.20/admin', ['192.168.1.20'], 'url'],
    ['e-mail', 'mail me: john@example.com', ['example.com'], 'email'],
    ['ambiguous TLD, known short host', 'join t.me/freecrypto', ['t.me'], 'domain'],
    ['ambiguous TLD with a path', 'see youtu.be/dQw4w9WgXcQ', ['youtu.be'], 'domain'],
    ['ambiguous TLD, three labels', 'shop.example.me', ['shop.example.me'], 'domain'],
    // obfuscations
    ['hxxp', 'hxxps://evil.com/x', ['evil.com'], 'url', true],
    ['[.]', 'evil[.]com', ['evil.com'], 'domain', true],
    ['(.) with spaces', 'evil (.) com', ['evil.com'], 'domain', true],
    ['{dot}', 'evil{dot}xyz', ['evil.xyz'], 'domain', true],
    ['[dot] with spaces', 'free money at evil [dot] com', ['evil.com'], 'domain', true],
    ['spelled dot', 'go to evilsite dot com for free stuff', ['evilsite.com'], 'domain', true],
    ['[:] and [.]', 'hxxp[:]//evil[.]ru/a', ['evil.ru'], 'url', true],
    ['ideographic full stop', 'evil。com', ['evil.com'], 'domain', true],
    ['full-width', 'ｅｖｉｌ．ｃｏｍ', ['evil.com'], 'domain'],
    ['ambiguous TLD made a link by obfuscation', 'scam[.]me', ['scam.me'], 'domain', true],
  ])('%s: %s', (_n, text, expected, kind, obfuscated) => {
    const links = extractLinks(text);
    expect(links.map((l) => l.host)).toEqual(expected);
    if (kind) expect(links[0]!.kind).toBe(kind);
    if (obfuscated !== undefined) expect(links[0]!.obfuscated).toBe(obfuscated);
  });

  it.each([
    ['abbreviations', 'e.g. this, i.e. that, a.m. p.s.'],
    ['numbers and versions', 'it costs 3.5 and v1.2.3 is out, 10.0.0.1 too'],
    ['file names', 'open file.txt, node.js, index.html, readme.md, main.py, photo.png'],
    ['ambiguous TLD words', 'will.be there, yes.it works, go.to bed, that.is fine'],
    ['names with dots', 'Mr.Smith and Dr.Who'],
    ['unknown TLD without scheme', 'hello.world and foo.bar'],
    ['mentions', '@someone.com? no, @alice and @bob'],
    ['"dot" in prose', 'connect the dot to the line; the dot com bubble'],
    ['ellipsis', 'wait... what... ok.'],
    ['dangling dots', '.com alone and example. com'],
    ['scheme without a host', 'http://localhost:3000'],
  ])('not a link: %s', (_n, text) => {
    expect(hosts(text)).toEqual([]);
  });

  it('the precheck skips text without any dot form', () => {
    expect(mayContainLink('hello there friend')).toBe(false);
    expect(mayContainLink('example DOT com')).toBe(true);
    expect(mayContainLink('a.b')).toBe(true);
  });

  it.each([
    ['numbers', 't=1718.25 s=3 version 1.2.3 costs 3.50'],
    ['sentence ends', 'ok. fine... really.'],
    ['dot then digits behind brackets', 'see (.) 12'],
  ])('the precheck skips dots no link can follow: %s', (_n, text) => {
    expect(mayContainLink(text)).toBe(false);
    expect(analyzeShape(text).maybeLink).toBe(false);
  });

  it.each([
    ['a scheme with an IP host', 'go to http://10.0.0.1/x now'],
    ['a disguised scheme with an IP host', 'hxxp[:]//10.0.0.1/x'],
    ['www before digits', 'www.123.example'],
    ['a disguised dot', 'example (.) com'],
    ['a later dot', '1.5 and example.com'],
  ])('the precheck keeps %s', (_n, text) => {
    expect(mayContainLink(text)).toBe(true);
    expect(analyzeShape(text).maybeLink).toBe(true);
  });

  it('the precheck never hides a link the extraction would find (property)', () => {
    const piece = fc.constantFrom('.', '. ', ' ', '(', ')', '[', ']', '{', '}', '<', '>', ':', '/', '//', '@', 'dot', 'DOT', 'www', 'hxxp', 'http', 'com', 'me', 'ly', 'example', 'a', 'x', '1', '2', '10', '0', '。', '．', '．com', '\n', 'ｃｏｍ', 'рф', '(.)', '[.]', '<.>', '{.}', ' [ . ] ', '< . >');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }).map((a) => a.join('')), (t) => {
        const pre = mayContainLink(t);
        expect(analyzeShape(t).maybeLink).toBe(pre);
        if (!pre) expect(extractLinksUnchecked(t)).toEqual([]);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes linear time on adversarial input (no backtracking)', () => {
    // Patterns that make naive URL regexes explode: long label runs, bracket soups, dot runs.
    const inputs = ['a.'.repeat(5000), '[.'.repeat(5000), 'x'.repeat(10_000) + '.com', '((((('.repeat(2000) + 'dot', 'hxxp'.repeat(2500), ' dot '.repeat(2000) + 'com'];
    for (const t of inputs) {
      const t0 = performance.now();
      extractLinks(t);
      // Generous: a quadratic scan of 10k characters takes seconds; linear takes well under 50 ms
      // even on a loaded CI machine. (Speed claims live in the bench; this only catches blow-ups.)
      expect(performance.now() - t0).toBeLessThan(250);
    }
  });

  it('never throws and always returns lower-case hosts that contain a dot (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (t) => {
        for (const l of extractLinks(t)) {
          expect(l.host).toBe(l.host.toLowerCase());
          expect(l.host).toContain('.');
        }
      }),
    );
  });
});
