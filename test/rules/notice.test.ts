/** toNotice(): a Decision's notice completed for the wire (PROTOCOL.md "The notice"). */
import { describe, expect, it } from 'vitest';
import { decide } from '../../rules/decide.ts';
import { toNotice } from '../../rules/notice.ts';
import { activeStrikes, EMPTY, history, policy, T0, violation } from './fixtures.ts';

describe('toNotice', () => {
  it('computes until from at + durationSec and fills the case id into the appeal URL', () => {
    const d = decide(policy, violation('harassment'), history({ strikes: activeStrikes(1) }));
    expect(toNotice(d, 'case/42', T0)).toEqual({
      caseId: 'case/42',
      action: 'restrict',
      category: 'harassment',
      reason: d.notice.reason,
      policy: 'Harassment (ladders.strikes.steps[1], policy default-1)',
      until: new Date(T0 + 72 * 3600 * 1000).toISOString(),
      strikes: 2,
      appealable: true,
      appealUrl: 'https://appeals.example.com/cases/case%2F42',
    });
  });

  it('has no until for a permanent ban, and no appeal link when not appealable', () => {
    const n = toNotice(decide(policy, violation('terrorism'), EMPTY), 'c1', T0);
    expect(n).toMatchObject({ action: 'ban', appealable: false, strikes: 1 });
    expect(n).not.toHaveProperty('until');
    expect(n).not.toHaveProperty('appealUrl');
  });

  it('carries only PROTOCOL.md notice fields', () => {
    const n = toNotice(decide(policy, violation('self_harm'), EMPTY), 'c2', T0);
    expect(Object.keys(n).every((k) => ['caseId', 'action', 'category', 'reason', 'policy', 'until', 'strikes', 'appealable', 'appealUrl'].includes(k))).toBe(true);
    expect(n.action).toBe('support');
  });
});
