import { describe, expect, it } from 'vitest';
import { formatDuration, placeholders, renderTemplate } from '../../rules/template.ts';

describe('templates', () => {
  it.each<[number | undefined, string]>([
    [undefined, 'permanent'],
    [1, '1 second'],
    [600, '10 minutes'],
    [3_600, '1 hour'],
    [72 * 3_600, '3 days'],
    [25 * 3_600, '25 hours'],
    [30 * 86_400, '30 days'],
    [90, '90 seconds'],
  ])('formatDuration(%s) = %s', (sec, text) => {
    expect(formatDuration(sec)).toBe(text);
  });

  it('renders known placeholders and leaves unknown ones', () => {
    expect(renderTemplate('strike {strikes} of {title} {nope}', { strikes: 2, title: 'Spam' })).toBe('strike 2 of Spam {nope}');
    expect(placeholders('a {b} {c}d {}')).toEqual(['b', 'c', '']);
  });
});
