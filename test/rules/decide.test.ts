/**
 * decide() against the shipped policy, row by row from ../shared/POLICY.md. Each table row names
 * the POLICY.md line (or seed line, where POLICY.md leaves a range or stops) it checks.
 */
import { describe, expect, it } from 'vitest';
import { decide, isKnownCategory, strikeId, UnknownCategoryError } from '../../rules/decide.ts';
import { categoryIds, categorySettings } from '../../rules/policy.ts';
import type { ActionSpec, Decision, History, Violation } from '../../rules/types.ts';
import { activeStrikes, DAY, DAY_MS, EMPTY, history, HOUR, minors, policy, resolvePath, strike, T0, violation } from './fixtures.ts';

const run = (v: Violation, h: History = EMPTY): Decision => decide(policy, v, h);
const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const account = (d: Decision) => d.actions.filter((a) => a.kind !== 'stream_kill' && a.kind !== 'stream_suspend');
const stream = (d: Decision) => d.actions.filter((a) => a.kind === 'stream_kill' || a.kind === 'stream_suspend');

describe('strike ladder (moderate violations)', () => {
  it.each<[number, string, ActionSpec[], string, number | undefined]>([
    // POLICY.md:19 "1 strike → warning with guidance"
    [1, 'ladders.strikes.steps[0]', [{ kind: 'warn' }], 'warn', undefined],
    // POLICY.md:20 "2 → posting and messaging restricted (48–72 h)" — 72 h chosen
    [2, 'ladders.strikes.steps[1]', [{ kind: 'restrict', features: ['chat', 'dm', 'upload'], durationSec: 72 * HOUR }], 'restrict', 72 * HOUR],
    // POLICY.md:20 "3 → temporary suspension (7–30 days)" — 7 d chosen for moderate
    [3, 'ladders.strikes.steps[2]', [{ kind: 'suspend', durationSec: 7 * DAY }], 'suspend', 7 * DAY],
    // POLICY.md:20 "4 or more → permanent ban"
    [4, 'ladders.strikes.steps[3]', [{ kind: 'ban' }], 'ban', undefined],
    // POLICY.md:20 "4 or more" — the last step repeats
    [5, 'ladders.strikes.steps[3]', [{ kind: 'ban' }], 'ban', undefined],
  ])('strike %i → %s', (n, rule, actions, action, durationSec) => {
    const d = run(violation('harassment'), history({ strikes: activeStrikes(n - 1) }));
    expect(d.rule).toBe(rule);
    expect(d.actions).toEqual(actions);
    expect(d.notice.action).toBe(action);
    expect(d.notice.durationSec).toBe(durationSec);
    expect(d.notice.strikes).toBe(n);
    expect(d.strike).toEqual({ id: strikeId('u1', 'harassment', T0), category: 'harassment', tier: 'moderate', at: T0, expiresAt: T0 + 90 * DAY_MS });
    expect(d.remove).toBe(true);
  });

  // POLICY.md:12 — every moderate category climbs the same ladder.
  it.each(['repeated_spam', 'hate_speech', 'sexual_content', 'bullying', 'harassment'])('%s is moderate and adds a strike', (c) => {
    const d = run(violation(c));
    expect(d.tier).toBe('moderate');
    expect(d.rule).toBe('ladders.strikes.steps[0]');
    expect(d.strike?.tier).toBe('moderate');
  });

  it('strikes count across categories', () => {
    const h = history({ strikes: [strike(3, 'hate_speech'), strike(2, 'bullying')] });
    expect(run(violation('harassment'), h).rule).toBe('ladders.strikes.steps[2]');
  });
});

describe('strike expiry', () => {
  const expiry = 90 * DAY_MS;
  it.each<[string, History, string]>([
    // POLICY.md:21 "Strikes expire ... (configurable, e.g. 90 days)": an expired strike does not count
    ['3 strikes, all expired', history({ strikes: [strike(100), strike(95), strike(91)] }), 'ladders.strikes.steps[0]'],
    // POLICY.md:21 — 90 days to the millisecond: expiresAt == at is expired
    ['a strike issued exactly 90 days ago', history({ strikes: [strike(90)] }), 'ladders.strikes.steps[0]'],
    // POLICY.md:21 — one millisecond before expiry still counts
    ['a strike expiring 1 ms after now', history({ strikes: [strike(90, 'harassment', 'moderate', T0 + 1)] }), 'ladders.strikes.steps[1]'],
    // POLICY.md:21 — 89 days old: active
    ['a strike issued 89 days ago', history({ strikes: [strike(89)] }), 'ladders.strikes.steps[1]'],
    // POLICY.md:21 — only the active ones count
    ['2 active and 5 expired', history({ strikes: [...activeStrikes(2), ...[91, 120, 200, 300, 400].map((d) => strike(d))] }), 'ladders.strikes.steps[2]'],
    // POLICY.md:21 — the store's expiresAt is what counts, not the policy's current expiry
    ['a strike the store marked expired early', history({ strikes: [strike(1, 'harassment', 'moderate', T0 - 1)] }), 'ladders.strikes.steps[0]'],
  ])('%s', (_name, h, rule) => {
    expect(run(violation('harassment'), h).rule).toBe(rule);
  });

  it('the new strike expires after strikes.expiry (POLICY.md:21)', () => {
    expect(run(violation('hate_speech')).strike?.expiresAt).toBe(T0 + expiry);
    expect(policy.strikes.expirySec).toBe(90 * DAY);
  });

  it('a retried decision does not count its own strike twice', () => {
    const first = run(violation('harassment'), history({ strikes: activeStrikes(1) }));
    const retried = run(violation('harassment'), history({ strikes: [...activeStrikes(1), first.strike!] }));
    expect(retried).toEqual(first);
  });
});

describe('minor ladder', () => {
  const probation: ActionSpec[] = [{ kind: 'warn' }, { kind: 'restrict', features: ['dm', 'upload', 'livestream'], durationSec: 30 * DAY }];
  it.each<[string, { category: string; at: number }[], string, ActionSpec[], boolean]>([
    // POLICY.md:22 "first → warning, no restriction"
    ['first', [], 'ladders.minor.steps[0]', [{ kind: 'warn' }], false],
    // POLICY.md:22-23 "second → final warning, content removed, 30-day probation, features may be restricted"
    ['second', minors(1), 'ladders.minor.steps[1]', probation, true],
    // POLICY.md:22 — a minor violation of another minor category counts too
    ['second, after a different minor category', minors(1, 'mild_harassment'), 'ladders.minor.steps[1]', probation, true],
    // POLICY.md:21-22 — outside the 90-day window the earlier one no longer counts (minor.window)
    ['second, but the first is 91 days old', minors(1, 'misleading', 91), 'ladders.minor.steps[0]', [{ kind: 'warn' }], false],
    // S003:282 (POLICY.md stops at the second) — third → 7-day suspension
    ['third', minors(2), 'ladders.minor.steps[2]', [{ kind: 'suspend', durationSec: 7 * DAY }], true],
    // S003:274 — fourth and later → 30-day suspension
    ['fifth', minors(4), 'ladders.minor.steps[3]', [{ kind: 'suspend', durationSec: 30 * DAY }], true],
  ])('%s minor violation', (_n, prior, rule, actions, remove) => {
    const d = run(violation('spam'), history({ minorViolations: prior }));
    expect(d.rule).toBe(rule);
    expect(d.actions).toEqual(actions);
    expect(d.remove).toBe(remove);
    expect(d.strike).toBeNull();
    expect(d.records.minorViolation).toBe(true);
    expect(d.tier).toBe('minor');
  });

  it('the second minor violation notice is a restriction for 30 days (POLICY.md:23)', () => {
    const d = run(violation('misleading'), history({ minorViolations: minors(1) }));
    expect(d.notice.action).toBe('restrict');
    expect(d.notice.durationSec).toBe(30 * DAY);
    expect(d.notice.reason).toMatch(/final warning/i);
  });

  // POLICY.md:11 — the minor categories
  it.each(['spam', 'misleading', 'mild_harassment', 'low_risk'])('%s is minor: a warning, no strike', (c) => {
    const d = run(violation(c));
    expect(d.tier).toBe('minor');
    expect(kinds(d)).toEqual(['warn']);
    expect(d.strike).toBeNull();
  });

  it('strikes do not move the minor ladder', () => {
    expect(run(violation('spam'), history({ strikes: activeStrikes(3) })).rule).toBe('ladders.minor.steps[0]');
  });

  // POLICY.md:12, 38-39: repeated spam is moderate — a detector's repeat flag escalates spam
  it('spam flagged repeat is repeated_spam on the strike ladder', () => {
    const d = run(violation('spam', { repeat: true }), history({ strikes: activeStrikes(1) }));
    expect(d.category).toBe('repeated_spam');
    expect(d.tier).toBe('moderate');
    expect(d.rule).toBe('ladders.strikes.steps[1]');
    expect(d.rules).toContain('categories.spam.repeat');
    expect(d.strike?.category).toBe('repeated_spam');
  });
});

describe('immediate permanent ban', () => {
  it.each<[string, string]>([
    // POLICY.md:24 "every critical category" (POLICY.md:14)
    ['child_safety', 'POLICY.md:14,24'],
    ['terrorism', 'POLICY.md:14,24'],
    ['threats', 'POLICY.md:14,24'],
    ['fraud_scam', 'POLICY.md:14,24'],
    ['hacking', 'POLICY.md:14,24'],
    ['identity_theft', 'POLICY.md:14,24'],
    // POLICY.md:24 "sexual harassment"
    ['sexual_harassment', 'POLICY.md:24'],
    // POLICY.md:24-25 "severe hate speech / organised hate"
    ['severe_hate', 'POLICY.md:24-25'],
    ['organised_hate', 'POLICY.md:24-25 (alias)'],
    // POLICY.md:25 "doxxing and revenge porn"
    ['doxxing', 'POLICY.md:25'],
    ['ncii', 'POLICY.md:25'],
    ['revenge_porn', 'POLICY.md:25 (alias)'],
    // POLICY.md:14 "child safety (CSAM, grooming, ...)"
    ['csam', 'POLICY.md:14 (alias)'],
    // POLICY.md:26 "circumventing a previous ban"
    ['ban_evasion', 'POLICY.md:26'],
  ])('%s → permanent ban on a first violation (%s)', (c) => {
    const d = run(violation(c));
    expect(account(d)).toEqual([expect.objectContaining({ kind: 'ban' })]);
    expect(account(d)[0]!.durationSec).toBeUndefined();
    expect(d.notice.action).toBe('ban');
    expect(kinds(d)).not.toContain('warn');
  });

  // POLICY.md:25 "scam attempts in messages" (and the messaging table, POLICY.md:28-29)
  it('a scam attempt in a message bans', () => {
    const d = run(violation('scam', { messageId: 'm1' }));
    expect(d.category).toBe('fraud_scam');
    expect(kinds(d)).toEqual(['ban']);
    expect(d.rules).toContain('messaging.fraud_scam');
  });

  // POLICY.md:25 "a third major violation" (S003:182)
  it.each<[string, History]>([
    ['counted by the store (majorViolations)', history({ majorViolations: 2 })],
    ['counted from the strike records (expired ones too)', history({ strikes: [strike(400, 'violence', 'severe'), strike(200, 'dangerous_acts', 'severe')] })],
  ])('the third major violation bans — %s', (_n, h) => {
    const d = run(violation('violence'), h);
    expect(d.rule).toBe('ladders.major.steps[2]');
    expect(kinds(d)).toEqual(['ban']);
    expect(d.records.majorViolation).toBe(true);
  });

  it.each<[number, string]>([
    // POLICY.md:13 severe; S003:160 "7-30 days depending on severity": severe gets 30
    [0, 'ladders.major.steps[0]'],
    [1, 'ladders.major.steps[1]'],
  ])('a severe violation with %i earlier major ones suspends for 30 days', (prior, rule) => {
    const d = run(violation('illegal_activity'), history({ majorViolations: prior }));
    expect(d.rule).toBe(rule);
    expect(d.actions).toEqual([{ kind: 'suspend', durationSec: 30 * DAY }]);
    expect(d.strike?.tier).toBe('severe');
  });

  // POLICY.md:20 "4 or more → permanent ban" holds whatever the category of the 4th strike
  it('a severe violation that is the 4th active strike bans through the strike ladder', () => {
    const d = run(violation('violence'), history({ strikes: activeStrikes(3), majorViolations: 0 }));
    expect(d.rule).toBe('ladders.strikes.steps[3]');
    expect(kinds(d)).toEqual(['ban']);
  });

  // POLICY.md:26 "Device and IP may be banned too"
  it('critical bans include the device, ban evasion the device and the IP', () => {
    expect(run(violation('child_safety')).actions).toEqual([{ kind: 'ban', device: true }]);
    expect(run(violation('ban_evasion')).actions).toEqual([{ kind: 'ban', device: true, ip: true }]);
  });

  // POLICY.md:13 — illegal activity is severe, not in POLICY.md's immediate-ban list
  it.each(['violence', 'exploitation', 'illegal_activity', 'dangerous_acts'])('%s (severe, not listed for an immediate ban) suspends first', (c) => {
    expect(kinds(run(violation(c)))).toEqual(['suspend']);
  });
});

describe('messaging table', () => {
  it.each<[string, History, string, Partial<Decision>, ActionSpec[]]>([
    // POLICY.md:27 "spam messages → auto-block + warning"
    ['spam', EMPTY, 'ladders.minor.steps[0]', { remove: true }, [{ kind: 'warn' }]],
    // POLICY.md:27-28 "harassment → warning or temporary suspension": a warning first...
    ['harassment', EMPTY, 'ladders.strikes.steps[0]', { remove: true }, [{ kind: 'warn' }]],
    // ...and a temporary suspension at the third strike
    ['harassment', history({ strikes: activeStrikes(2) }), 'ladders.strikes.steps[2]', { remove: true }, [{ kind: 'suspend', durationSec: 7 * DAY }]],
    // POLICY.md:28 "sexual content → temporary suspension or ban": a suspension first...
    ['sexual_content', EMPTY, 'ladders.message_sexual.steps[0]', { remove: true }, [{ kind: 'suspend', durationSec: 7 * DAY }]],
    // ...a ban the second time
    ['sexual_content', history({ strikes: [strike(5, 'sexual_content')] }), 'ladders.message_sexual.steps[1]', { remove: true }, [{ kind: 'ban' }]],
    // POLICY.md:28 "threats → immediate permanent ban"
    ['threats', EMPTY, 'ladders.ban.steps[0]', { remove: true }, [{ kind: 'ban', device: true }]],
    // POLICY.md:28-29 "scam attempts → immediate permanent ban"
    ['fraud_scam', EMPTY, 'ladders.ban.steps[0]', { remove: true }, [{ kind: 'ban', device: true }]],
  ])('a %s message', (c, h, rule, fields, actions) => {
    const d = run(violation(c, { messageId: 'm1', room: 'lobby' }), h);
    expect(d.rule).toBe(rule);
    expect(d).toMatchObject(fields);
    expect(d.actions).toEqual(actions);
    expect(d.rules).toContain(`messaging.${c}`);
  });

  it('the table applies to messages only: sexual content elsewhere is on the strike ladder', () => {
    expect(run(violation('sexual_content')).rule).toBe('ladders.strikes.steps[0]');
  });

  it('a spam warning outside a message does not remove content (POLICY.md:22 "no restriction")', () => {
    expect(run(violation('spam')).remove).toBe(false);
  });
});

describe('livestream ladder', () => {
  const live = (c: string, prior = 0, h: History = EMPTY) => run(violation(c, { live: true }), { ...h, livestreamViolations: prior });
  it.each<[string, number, number | undefined, string]>([
    // POLICY.md:30 "7–90 day livestream suspension by severity": minor starts at 7 days...
    ['spam', 0, 7 * DAY, 'livestream.suspend.minor[0]'],
    ['spam', 1, 30 * DAY, 'livestream.suspend.minor[1]'],
    // ...and repeats reach 90 days, the top of the range, and stay there
    ['spam', 2, 90 * DAY, 'livestream.suspend.minor[2]'],
    ['spam', 7, 90 * DAY, 'livestream.suspend.minor[2]'],
    // POLICY.md:30 — moderate starts mid-range
    ['hate_speech', 0, 30 * DAY, 'livestream.suspend.moderate[0]'],
    ['hate_speech', 1, 90 * DAY, 'livestream.suspend.moderate[1]'],
    // POLICY.md:31 "lifetime livestream ban for severe or dangerous violations"
    ['dangerous_acts', 0, undefined, 'livestream.suspend.severe[0]'],
    ['violence', 0, undefined, 'livestream.suspend.severe[0]'],
    ['terrorism', 0, undefined, 'livestream.suspend.critical[0]'],
  ])('%s live (%i earlier live violations) → stream killed, suspended %s s', (c, prior, durationSec, rule) => {
    const d = live(c, prior);
    // POLICY.md:30 "a violation during a live stream → immediate shutdown"
    expect(stream(d)[0]).toEqual({ kind: 'stream_kill' });
    expect(stream(d)[1]).toEqual(durationSec === undefined ? { kind: 'stream_suspend' } : { kind: 'stream_suspend', durationSec });
    expect(d.rules).toContain('livestream.kill');
    expect(d.rules).toContain(rule);
    expect(d.records.livestreamViolation).toBe(true);
  });

  it('the account ladder still applies on top', () => {
    const d = live('harassment', 0, history({ strikes: activeStrikes(1) }));
    expect(kinds(d)).toEqual(['restrict', 'stream_kill', 'stream_suspend']);
    expect(d.rule).toBe('ladders.strikes.steps[1]');
  });

  it('a critical violation on a live stream bans and kills it (POLICY.md:40-41)', () => {
    const d = live('child_safety');
    expect(kinds(d)).toEqual(['ban', 'stream_kill', 'stream_suspend']);
    expect(d.notice.action).toBe('ban');
  });

  it('the notice of a live warning names the stream suspension', () => {
    const d = live('hate_speech');
    expect(d.notice.action).toBe('stream_suspend');
    expect(d.notice.durationSec).toBe(30 * DAY);
    expect(d.notice.reason).toMatch(/live stream was ended/);
  });

  it('no stream actions when the user is not live', () => {
    for (const c of categoryIds(policy)) expect(stream(run(violation(c)))).toEqual([]);
  });

  it('every stream suspension of the shipped policy is 7–90 days or lifetime (POLICY.md:30-31)', () => {
    for (const list of Object.values(policy.livestream.suspend)) {
      for (const d of list ?? []) if (d !== null) expect(d).toBeGreaterThanOrEqual(7 * DAY), expect(d).toBeLessThanOrEqual(90 * DAY);
    }
  });
});

describe('self-harm', () => {
  // POLICY.md:15 "never punished: remove, show support resources, escalate if imminent"; POLICY.md:42
  it.each<[string, Partial<Violation>]>([
    ['reported by a moderator', {}],
    ['found by automation', { source: 'automation', detector: 'keyword', score: 0.9 }],
    ['in a message', { messageId: 'm1', source: 'automation' }],
    ['after many strikes', {}],
    ['via the alias "suicide"', { category: 'suicide' }],
  ])('%s → support notice, held, no penalty', (_n, extra) => {
    const d = run(violation('self_harm', extra), history({ strikes: activeStrikes(5), minorViolations: minors(3) }));
    expect(d.notice.action).toBe('support');
    expect(d.hold).toBe(true);
    expect(d.actions).toEqual([]);
    expect(d.strike).toBeNull();
    expect(d.records).toEqual({ minorViolation: false, majorViolation: false, livestreamViolation: false });
    expect(d.notify).toBe(true);
    expect(d.tier).toBe('special');
    expect(d.review).toEqual({ priority: 'critical', targetSec: 2 * HOUR });
    expect(d.notice.reason).toMatch(/988/);
  });

  it('on a live stream the stream is ended, with no stream suspension', () => {
    const d = run(violation('self_harm', { live: true }));
    expect(kinds(d)).toEqual(['stream_kill']);
    expect(d.notice.action).toBe('support');
  });
});

describe('appealability and review', () => {
  const critical = categoryIds(policy).filter((c) => categorySettings(policy, c)!.tier === 'critical');
  it('the critical categories are the six of POLICY.md:14', () => {
    expect([...critical].sort()).toEqual(['child_safety', 'fraud_scam', 'hacking', 'identity_theft', 'terrorism', 'threats']);
  });

  // POLICY.md:47 "Critical categories (CSAM, terrorism, threats) are not appealable."
  it.each(critical)('%s is not appealable and has no appeal link', (c) => {
    const d = run(violation(c));
    expect(d.notice.appealable).toBe(false);
    expect(d.notice.appealUrl).toBeUndefined();
  });

  // POLICY.md:46 "Every action sends the user a notice: ... how to appeal"
  it.each(categoryIds(policy).filter((c) => !critical.includes(c) && c !== 'self_harm'))('%s is appealable, with the link', (c) => {
    const d = run(violation(c));
    expect(d.notice.appealable).toBe(true);
    expect(d.notice.appealUrl).toBe('https://appeals.example.com/cases/{caseId}');
  });

  it.each<[string, string, number]>([
    // POLICY.md:51 "critical safety 2 h, high priority 24 h, standard 48–72 h" (72 h chosen)
    ['threats', 'critical', 2 * HOUR],
    ['doxxing', 'critical', 2 * HOUR],
    ['violence', 'high', 24 * HOUR],
    ['underage_user', 'high', 24 * HOUR],
    ['harassment', 'standard', 72 * HOUR],
    ['spam', 'standard', 72 * HOUR],
  ])('%s is reviewed with %s priority', (c, priority, targetSec) => {
    expect(run(violation(c)).review).toEqual({ priority, targetSec });
  });
});

describe('automation holds', () => {
  // POLICY.md:48 "Automated actions are limited to clear cases ...; the rest is held"
  it.each(['impersonation', 'copyright', 'ban_evasion', 'underage_user'])('%s from automation is held, not acted on', (c) => {
    const d = run(violation(c, { source: 'automation', live: true }), history({ strikes: activeStrikes(3) }));
    expect(d).toMatchObject({ hold: true, remove: false, actions: [], strike: null, notify: false, rule: `categories.${c}.automation` });
  });

  it.each(['impersonation', 'copyright', 'ban_evasion', 'underage_user'])('%s from a moderator is acted on', (c) => {
    const d = run(violation(c));
    expect(d.hold).toBe(false);
    expect(d.actions.length).toBeGreaterThan(0);
  });

  // POLICY.md:36-37 "threats, scam patterns ... in term lists: the message is blocked and the category's ladder applies"
  it('term-list threats from automation ban', () => {
    expect(kinds(run(violation('threats', { source: 'automation', messageId: 'm1' })))).toEqual(['ban']);
  });

  it('an under-age account is locked until lifted, without a strike', () => {
    const d = run(violation('underage_user'));
    expect(d.actions).toEqual([{ kind: 'suspend' }]);
    expect(d.strike).toBeNull();
    expect(d.notice.appealable).toBe(true);
  });
});

describe('every decision', () => {
  const variants: Partial<Violation>[] = [
    {},
    { source: 'automation' },
    { live: true },
    { messageId: 'm1', room: 'r1' },
    { repeat: true, messageId: 'm2', live: true, source: 'automation' },
  ];
  const cases = categoryIds(policy).flatMap((c) => variants.map((v) => [c, v] as const));
  it.each(cases)('%s %o carries its rule path and the policy version', (c, extra) => {
    const d = run(violation(c, extra), history({ strikes: activeStrikes(2), minorViolations: minors(1) }));
    expect(d.policyVersion).toBe('default-1');
    expect(d.rules[0]).toBe(d.rule);
    for (const r of d.rules) expect(resolvePath(policy, r), r).toBeDefined();
    expect(d.notice.policy).toContain(d.rule);
    expect(d.notice.policy).toContain('default-1');
    expect(d.notice.category).toBe(d.category);
    expect(d.notice.reason).not.toMatch(/\{\w*\}/);
  });
});

describe('categories', () => {
  it('an unknown category throws UnknownCategoryError naming the known ones', () => {
    expect(() => run(violation('nope'))).toThrow(UnknownCategoryError);
    try {
      run(violation('nope'));
    } catch (e) {
      expect((e as UnknownCategoryError).code).toBe('unknown_category');
      expect((e as UnknownCategoryError).known).toContain('spam');
    }
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', ''])('"%s" is not a category', (c) => {
    expect(isKnownCategory(policy, c)).toBe(false);
    expect(() => run(violation(c))).toThrow(UnknownCategoryError);
  });

  it('aliases resolve to the canonical id', () => {
    expect(isKnownCategory(policy, 'csam')).toBe(true);
    const d = run(violation('grooming'));
    expect(d.category).toBe('child_safety');
    expect(d.strike?.id).toBe(strikeId('u1', 'child_safety', T0));
  });

  it('a non-finite time is a programming error', () => {
    expect(() => run(violation('spam', { at: Number.NaN }))).toThrow(TypeError);
  });
});
