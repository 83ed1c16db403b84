import { describe, expect, it } from 'vitest';
import { configurePipeline } from '../../gateway/pipeline-config.ts';
import type { Filter } from '../../filters/pipeline.ts';

const f = (name: string, kinds: Filter['kinds'] = ['text'], onFailure: Filter['onFailure'] = 'pass'): Filter => ({ name, kinds, timeoutMs: 5, onFailure, check: () => ({ action: 'pass' }) });
const all = [f('a'), f('b'), f('img', ['image'], 'hold')];

describe('configurePipeline', () => {
  it('keeps the built-in order without settings', () => {
    expect(configurePipeline(all, undefined).map((x) => x.name)).toEqual(['a', 'b', 'img']);
  });
  it('orders, disables and overrides as configured', () => {
    const out = configurePipeline(all, [{ name: 'b', timeoutMs: 2, shadow: true }, { name: 'img' }, { name: 'a', enabled: false }]);
    expect(out.map((x) => [x.name, x.timeoutMs, x.shadow ?? false])).toEqual([
      ['b', 2, true],
      ['img', 5, false],
    ]);
  });
  it('names the setting when it is wrong', () => {
    expect(() => configurePipeline(all, [{ name: 'nope' }])).toThrow(/pipeline\.filters\[0\]\.name: no filter named "nope"/);
    expect(() => configurePipeline(all, [{ name: 'a' }, { name: 'a' }])).toThrow(/listed twice/);
    expect(() => configurePipeline(all, [{ name: 'img', onFailure: 'pass' }])).toThrow(/fail closed/);
  });
});
