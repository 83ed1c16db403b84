import { describe, expect, it } from 'vitest';
import { classifyHost, DomainList, normalizeDomain } from '../../../filters/spam/domain-list.ts';

describe('normalizeDomain', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['*.example.com', 'example.com'],
    ['.example.com.', 'example.com'],
    ['https://www.example.com/path?x', 'www.example.com'],
    ['user@mail.example.com:8080', 'mail.example.com'],
    ['  zip  ', 'zip'],
    ['пример.рф', 'пример.рф'],
  ])('%s → %s', (input, out) => {
    expect(normalizeDomain(input)).toBe(out);
  });

  it.each(['', 'exa mple.com', 'a..com', '-bad.com', 'bad-.com', 'ex!ample.com', 'a'.repeat(64) + '.com'])('rejects %j', (input) => {
    expect(normalizeDomain(input)).toBeUndefined();
  });
});

describe('DomainList', () => {
  it('matches the entry and its subdomains, not look-alike names', () => {
    const l = new DomainList('spam', 10);
    expect(l.add('evil.com')).toBe(true);
    expect(l.match('evil.com')?.domain).toBe('evil.com');
    expect(l.match('www.evil.com')?.domain).toBe('evil.com');
    expect(l.match('a.b.evil.com')?.domain).toBe('evil.com');
    expect(l.match('notevil.com')).toBeUndefined();
    expect(l.match('evil.com.example.org')).toBeUndefined();
  });

  it('is managed at run time: add (re-categorise), remove, list', () => {
    const l = new DomainList('spam', 10);
    l.add('b.com');
    l.add('A.com', 'fraud_scam');
    l.add('a.com', 'spam');
    expect(l.list()).toEqual([
      { domain: 'a.com', category: 'spam' },
      { domain: 'b.com', category: 'spam' },
    ]);
    expect(l.remove('B.COM')).toBe(true);
    expect(l.remove('b.com')).toBe(false);
    expect(l.add('not a domain')).toBe(false);
    expect(l.size).toBe(1);
  });

  it('allow lists carry no category', () => {
    const l = new DomainList(undefined, 10);
    l.add('ok.com', 'fraud_scam');
    expect(l.list()).toEqual([{ domain: 'ok.com' }]);
  });

  it('is bounded', () => {
    const l = new DomainList('spam', 2);
    l.add('a.com');
    l.add('b.com');
    l.add('a.com'); // re-adding is fine
    expect(() => l.add('c.com')).toThrow(RangeError);
  });
});

describe('classifyHost (allow + block)', () => {
  const allow = new DomainList(undefined, 100);
  const block = new DomainList('spam', 100);
  allow.add('example.com');
  block.add('evil.example.com', 'fraud_scam');
  block.add('zip');
  allow.add('good.zip');
  allow.add('both.com');
  block.add('both.com');

  it.each([
    ['example.com', 'allow'],
    ['www.example.com', 'allow'],
    ['evil.example.com', 'block'], // the more specific entry wins
    ['x.evil.example.com', 'block'],
    ['anything.zip', 'block'], // a whole TLD can be blocked
    ['good.zip', 'allow'], // ... with an exception
    ['both.com', 'block'], // a tie goes to the block list
    ['other.org', undefined],
  ])('%s → %s', (host, kind) => {
    expect(classifyHost(allow, block, host)?.kind).toBe(kind);
  });
});
