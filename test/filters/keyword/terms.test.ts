import { describe, expect, it } from 'vitest';
import { isScope, parseTerm, TermListError, termKey, validateTerms } from '../../../filters/keyword/terms.ts';

describe('parseTerm: wildcards', () => {
  it.each([
    ['idiot', 'idiot', 'word'],
    ['ass*', 'ass', 'prefix'],
    ['*hole', 'hole', 'suffix'],
    ['*ass*', 'ass', 'anywhere'],
    ['  Jerk   OFF ', 'jerk off', 'word'],
    ['ＦＵＣＫ*', 'fuck', 'prefix'],
  ])('%s', (raw, text, mode) => {
    expect(parseTerm(raw)).toEqual({ text, mode });
  });

  it('takes an explicit mode when there is no wildcard, and refuses a contradiction', () => {
    expect(parseTerm('ass', 'prefix')).toEqual({ text: 'ass', mode: 'prefix' });
    expect(parseTerm('ass*', 'prefix')).toEqual({ text: 'ass', mode: 'prefix' });
    expect(parseTerm('ass*', 'suffix')).toMatch(/contradicts/);
  });

  it.each([['f*ck'], ['*'], ['**'], ['a'], ['!!'], ['* *']])('refuses %j', (raw) => {
    expect(typeof parseTerm(raw)).toBe('string');
  });

  it('keys terms by their canonical string', () => {
    expect(termKey('  ASS* ')).toBe('ass*');
    expect(termKey('Kung  Fu')).toBe('kung fu');
  });
});

describe('validateTerms', () => {
  it('fills defaults and canonicalises', () => {
    expect(validateTerms([{ term: 'Idiot*' }, { term: 'kung fu', action: 'allow' }], 'global')).toEqual([
      { id: 'global:idiot*', term: 'idiot*', category: 'custom', severity: 'medium', action: 'block', mode: 'prefix' },
      { id: 'global:kung fu', term: 'kung fu', category: 'allow', severity: 'medium', action: 'allow', mode: 'word' },
    ]);
  });

  it('names every bad term by its path', () => {
    const bad = [{ term: 'ok' }, { term: 'f*ck' }, { term: 'x'.repeat(65) }, { term: 'fine', action: 'ban' }, { term: 'y\u0000y' }, null, { term: 'z', severity: 'huge' }];
    try {
      validateTerms(bad, 'global');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TermListError);
      const e = err as TermListError;
      expect(e.code).toBe('invalid');
      expect(e.issues).toEqual([
        'terms[1].term: wildcards (*) only at the start or the end',
        'terms[2].term: at most 64 characters',
        'terms[3].action: one of mask, hold, block, allow',
        'terms[4].term: control characters are not allowed',
        'terms[5]: expected an object',
        'terms[6].severity: one of low, medium, high, critical',
      ]);
    }
  });

  it('validates a slice with paths into the whole array', () => {
    expect(() => validateTerms([{ term: 'ok' }, { term: 'ok2' }, { term: '*' }], 'global', 2, 3)).toThrow('terms[2].term');
  });
});

describe('scopes', () => {
  it.each([
    ['global', true],
    ['room:abc', true],
    ['room:', false],
    ['room:a b', false],
    ['builtin', false],
    ['rooms:x', false],
  ])('%s → %s', (s, ok) => {
    expect(isScope(s)).toBe(ok);
  });
});
