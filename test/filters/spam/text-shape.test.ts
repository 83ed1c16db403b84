import { describe, expect, it } from 'vitest';
import { analyzeShape, type TextShape } from '../../../filters/spam/text-shape.ts';

describe('analyzeShape', () => {
  it.each<[string, string, Partial<TextShape>]>([
    ['mentions', 'hi @alice and @bob_2, (@carol)', { mentions: 3 }],
    ['e-mail is not a mention', 'mail a@b.com', { mentions: 0 }],
    ['bare @ is not a mention', '@ @@ look @ me', { mentions: 0 }],
    ['non-Latin names', '@алиса @太郎', { mentions: 2 }],
    ['caps', 'HELLO world', { cased: 10, upper: 5 }],
    ['non-ASCII case', 'ÉCOLE école ПРИВЕТ', { cased: 16, upper: 11 }],
    ['uncased scripts', '你好 😀 123', { cased: 0, upper: 0 }],
    ['longest run', 'noooooo!!!', { maxRun: 6 }],
    ['runs of an emoji count code points', '😂😂😂😂', { maxRun: 4 }],
    ['white space is not a run', 'a          b', { maxRun: 1 }],
    ['zalgo', 'h\u0301\u0302\u0303\u0304\u0305i', { maxCombining: 5 }],
    ['ordinary accents', 'e\u0301te\u0301', { maxCombining: 1 }],
    ['empty', '', { mentions: 0, cased: 0, maxRun: 0, maxCombining: 0 }],
  ])('%s: %j', (_n, text, expected) => {
    expect(analyzeShape(text)).toMatchObject(expected);
  });

  it.each([
    ['example.com', true],
    ['example DOT com', true],
    ['evil。com', true],
    ['nothing here', false],
  ])('maybeLink %j → %s', (text, expected) => {
    expect(analyzeShape(text).maybeLink).toBe(expected);
  });
});
