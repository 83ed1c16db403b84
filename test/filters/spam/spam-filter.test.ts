import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../filters/pipeline.ts';
import { createSpamFilter } from '../../../filters/spam/spam-filter.ts';
import type { SpamFinding } from '../../../filters/spam/types.ts';
import { visibleText } from '../../../filters/visible-text.ts';
import { CTX, harness, outcome, type Harness } from './helpers.ts';

const LONG = 'check out my channel for free followers';

interface Row {
  rule: string;
  /** Runs the scenario; returns the outcomes of every send, in order. */
  run(h: Harness): string[];
  expected: string[];
}

const times = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

describe('spam filter rules (injected clock, no Redis)', () => {
  const rows: Row[] = [
    {
      rule: 'rate: a burst of 5, then rate_limited, then one per 2 s',
      run: (h) => [...times(6, (i) => outcome(h.send('u', `msg ${i}`))), (h.advance(2000), outcome(h.send('u', 'after the wait')))],
      expected: ['pass', 'pass', 'pass', 'pass', 'pass', 'rate_limited', 'pass'],
    },
    {
      rule: 'rate: users are limited separately',
      run: (h) => [...times(5, (i) => outcome(h.send('u', `m ${i}`))), outcome(h.send('v', 'hello'))],
      expected: ['pass', 'pass', 'pass', 'pass', 'pass', 'pass'],
    },
    {
      rule: 'rate: exempt users get 5× the burst',
      run: (h) => (h.exempt.add('mod'), times(26, (i) => outcome(h.send('mod', `announcement ${i}`)))),
      expected: [...times(25, () => 'pass'), 'rate_limited'],
    },
    {
      rule: 'slow mode: one message per slowModeSec per user and room; exempt users skip it',
      run: (h) => {
        h.rooms.set('lobby', { slowModeSec: 10, linksAllowed: true });
        h.exempt.add('mod');
        const out = [outcome(h.send('u', 'first')), outcome(h.send('u', 'second')), outcome(h.send('v', 'other user')), outcome(h.send('u', 'other room', 'elsewhere'))];
        out.push(outcome(h.send('mod', 'mod 1')), outcome(h.send('mod', 'mod 2')));
        h.advance(10_000);
        out.push(outcome(h.send('u', 'third')));
        return out;
      },
      expected: ['pass', 'slow_mode', 'pass', 'pass', 'pass', 'pass', 'pass'],
    },
    {
      rule: 'duplicate: the same text (after normalisation) within 30 s, from the same user',
      run: (h) => {
        const out = [outcome(h.send('u', 'Hello there')), outcome(h.send('u', 'hello, THERE!')), outcome(h.send('v', 'hello there'))];
        h.advance(30_001);
        out.push(outcome(h.send('u', 'hello there')));
        return out;
      },
      expected: ['pass', 'blocked:spam:duplicate', 'pass', 'pass'],
    },
    {
      rule: 'duplicate: in another room too (cross-posting)',
      run: (h) => [outcome(h.send('u', 'join my server', 'a')), outcome(h.send('u', 'join my server', 'b'))],
      expected: ['pass', 'blocked:spam:duplicate'],
    },
    {
      rule: 'near-duplicate: a small edit of a recent message',
      run: (h) => [outcome(h.send('u', LONG)), outcome(h.send('u', `${LONG} x7k2q`)), outcome(h.send('u', 'a completely different message here'))],
      expected: ['pass', 'blocked:spam:near_duplicate', 'pass'],
    },
    {
      rule: 'mention flood: more than 5 mentions',
      run: (h) => [outcome(h.send('u', 'hi @a @b @c @d @e')), outcome(h.send('u', 'yo @a @b @c @d @e @f'))],
      expected: ['pass', 'blocked:spam:mention_flood'],
    },
    {
      rule: 'caps flood: > 70% capitals with ≥ 20 letters; short shouting passes',
      run: (h) => [outcome(h.send('u', 'LETS GOOOO')), outcome(h.send('u', 'THIS IS A VERY LOUD MESSAGE FOR EVERYONE')), outcome(h.send('u', 'Mostly normal text with SOME caps in it'))],
      expected: ['pass', 'blocked:spam:caps_flood', 'pass'],
    },
    {
      rule: 'character flood: a run of more than 24, or zalgo',
      run: (h) => [outcome(h.send('u', `no${'o'.repeat(20)}`)), outcome(h.send('u', `wow${'!'.repeat(25)}`)), outcome(h.send('u', `z\u0301\u0302\u0303\u0304\u0305\u0306algo`))],
      expected: ['pass', 'blocked:spam:char_flood', 'blocked:spam:char_flood'],
    },
    {
      rule: 'link flood: more than 3 links',
      run: (h) => [outcome(h.send('u', 'see a.com b.com c.com')), outcome(h.send('u', 'see d.com e.com f.com g.com'))],
      expected: ['pass', 'blocked:spam:link_flood'],
    },
    {
      rule: 'links not allowed in the room: plain, obfuscated; allow-listed domains and exempt users pass',
      run: (h) => {
        h.rooms.set('lobby', { slowModeSec: 0, linksAllowed: false });
        h.spam.domains.allow.add('modgate.example.com');
        h.exempt.add('owner');
        return [
          outcome(h.send('u', 'see example.com')),
          outcome(h.send('v', 'see example[.]com')),
          outcome(h.send('w', 'docs at https://docs.modgate.example.com/x')),
          outcome(h.send('owner', 'merch at shop.example.com')),
          outcome(h.send('x', 'no links here, e.g. none')),
          outcome(h.send('y', 'elsewhere example.com', 'other')),
        ];
      },
      expected: ['blocked:spam:links_not_allowed', 'blocked:spam:links_not_allowed', 'pass', 'pass', 'pass', 'pass'],
    },
    {
      rule: 'block-listed domains: for everyone, exempt users included, subdomains and obfuscations too',
      run: (h) => {
        h.spam.domains.block.add('scam.xyz', 'fraud_scam');
        h.spam.domains.block.add('spammy.net');
        h.exempt.add('mod');
        return [
          outcome(h.send('u', 'claim your prize at www.scam.xyz/prize')),
          outcome(h.send('mod', 'hxxps://login.scam[.]xyz')),
          outcome(h.send('v', 'buy at spammy.net')),
          outcome(h.send('w', 'contact me: me@scam.xyz')),
          outcome(h.send('x', 'notscam.xyz is fine')),
        ];
      },
      expected: ['blocked:spam:domain_blocked', 'blocked:spam:domain_blocked', 'blocked:spam:domain_blocked', 'blocked:spam:domain_blocked', 'pass'],
    },
    {
      rule: 'coordinated: 5 accounts, same text, one room → the 5th and later are refused',
      run: (h) => times(7, (i) => (h.advance(1000), outcome(h.send(`bot${i}`, `${LONG} ${i % 2 ? '!!' : ''}`)))),
      expected: ['pass', 'pass', 'pass', 'pass', 'blocked:spam:coordinated', 'blocked:spam:coordinated', 'blocked:spam:coordinated'],
    },
    {
      rule: 'coordinated: near-same variants (a nonce each) count as one text',
      run: (h) => times(6, (i) => outcome(h.send(`bot${i}`, `${LONG} ${(1000 + i * 7919).toString(36)}`))),
      expected: ['pass', 'pass', 'pass', 'pass', 'blocked:spam:coordinated', 'blocked:spam:coordinated'],
    },
    {
      rule: 'coordinated: across rooms, 8 accounts anywhere',
      run: (h) => times(9, (i) => outcome(h.send(`bot${i}`, LONG, `room${i}`))),
      expected: [...times(7, () => 'pass'), 'blocked:spam:coordinated', 'blocked:spam:coordinated'],
    },
    {
      rule: 'coordinated: a text seen again long after its candidate went stale is counted afresh',
      run: (h) => [
        ...times(2, (i) => outcome(h.send(`early${i}`, LONG))),
        ...times(6, (i) => (h.advance(i === 0 ? 120_000 : 1000), outcome(h.send(`bot${i}`, `${LONG} ${i}`)))),
      ],
      expected: ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'blocked:spam:coordinated', 'blocked:spam:coordinated'],
    },
    {
      rule: 'coordinated: not for short texts ("gg" from everyone), not after the window',
      run: (h) => [...times(10, (i) => outcome(h.send(`fan${i}`, 'gg wp'))), ...times(6, (i) => (h.advance(61_000), outcome(h.send(`late${i}`, LONG))))],
      expected: times(16, () => 'pass'),
    },
    {
      rule: 'images: rate and slow mode apply, text rules have nothing to read',
      run: (h) => {
        h.rooms.set('pics', { slowModeSec: 5, linksAllowed: false });
        return [outcome(h.send('u', undefined, 'pics')), outcome(h.send('u', undefined, 'pics')), ...times(5, () => outcome(h.send('v', undefined)))];
      },
      expected: ['pass', 'slow_mode', 'pass', 'pass', 'pass', 'pass', 'pass'],
    },
  ];

  it.each(rows)('$rule', ({ run, expected }) => {
    expect(run(harness())).toEqual(expected);
  });
});

describe('spam filter verdicts', () => {
  it('rate_limited and slow_mode carry retryAfterMs (PROTOCOL.md), no finding', () => {
    const h = harness();
    for (let i = 0; i < 5; i++) h.send('u', `m${i}`);
    h.advance(500);
    const v = h.send('u', 'too fast');
    expect(v).toEqual({ action: 'drop', error: { code: 'rate_limited', message: expect.any(String), retryAfterMs: 1500 } });
    h.rooms.set('slow', { slowModeSec: 30, linksAllowed: true });
    h.send('w', 'one', 'slow');
    h.advance(12_345);
    expect(h.send('w', 'two', 'slow').error).toMatchObject({ code: 'slow_mode', retryAfterMs: 17_655 });
  });

  it('duplicates are judged against the last duplicateHistory messages only: an overwritten item keeps nothing of the one before', () => {
    const h = harness({ limits: { duplicateHistory: 2, userBurst: 100 } });
    expect(outcome(h.send('u', LONG))).toBe('pass');
    expect(outcome(h.send('u', 'ab'))).toBe('pass');
    expect(outcome(h.send('u', 'cd'))).toBe('pass'); // takes the place of LONG (short: no signature)
    expect(outcome(h.send('u', `${LONG} x7k2q`))).toBe('pass');
    expect(outcome(h.send('u', `${LONG} x7k2q`))).toBe('blocked:spam:duplicate');
    expect(outcome(h.send('u', `${LONG} q2k7x`))).toBe('blocked:spam:near_duplicate');
  });

  it('blocked carries category and policy; the finding names the rule and evidence ids, not the text', () => {
    const h = harness();
    h.send('u', 'hello there');
    const first = h.lastId();
    const v = h.send('u', 'hello there');
    expect(v.error).toEqual({ code: 'blocked', message: expect.any(String), category: 'spam', policy: 'spam:duplicate' });
    expect(v.findings).toEqual([{ filter: 'spam', category: 'spam', severity: 'low', score: 1, rule: 'duplicate', violation: false, evidence: [`msg:${h.lastId()}`, `msg:${first}`] }]);
    expect(JSON.stringify(v.findings)).not.toContain('hello');
  });

  it('a block-listed scam domain is a fraud_scam violation (the caller applies the policy)', () => {
    const h = harness({ domains: { block: [{ domain: 'scam.xyz', category: 'fraud_scam' }] } });
    const v = h.send('u', 'free money: scam.xyz');
    expect(v.error).toMatchObject({ code: 'blocked', category: 'fraud_scam', policy: 'spam:domain_blocked' });
    expect(v.findings?.[0]).toMatchObject({ category: 'fraud_scam', severity: 'critical', rule: 'domain_blocked', violation: true, evidence: [`msg:${h.lastId()}`, 'domain:scam.xyz'] });
    expect(h.violations).toEqual([{ userId: 'u', finding: v.findings![0] }]);
  });

  it('repeated flooding: the 6th refusal in a minute is one `spam` violation; then a cooldown; slow mode does not count', () => {
    const h = harness();
    h.rooms.set('slow', { slowModeSec: 60, linksAllowed: true });
    h.send('u', 'start', 'slow');
    for (let i = 0; i < 10; i++) expect(outcome(h.send('u', `slow ${i}`, 'slow'))).toBe('slow_mode');
    expect(h.violations).toHaveLength(0);

    for (let i = 0; i < 4; i++) h.send('u', `burst ${i}`); // 5 accepted in total (start + 4)
    const refusals = Array.from({ length: 12 }, (_, i) => h.send('u', `flood ${i}`));
    expect(refusals.map(outcome)).toEqual(Array.from({ length: 12 }, () => 'rate_limited'));
    const flagged = refusals.filter((v) => v.findings?.some((f) => (f as SpamFinding).violation));
    expect(flagged).toHaveLength(1); // cooldown: one violation for the whole outburst
    expect(refusals[5]!.findings).toEqual([{ filter: 'spam', category: 'spam', severity: 'low', score: 1, rule: 'repeated_flooding', violation: true, refusals: 6, evidence: [expect.stringMatching(/^msg:/)] }]);
    expect(h.violations.map((x) => [x.userId, x.finding.rule])).toEqual([['u', 'repeated_flooding']]);

    h.advance(61_000); // cooldown over, a new window
    for (let i = 0; i < 5; i++) h.send('u', `again ${i}`);
    for (let i = 0; i < 6; i++) h.send('u', `flood again ${i}`);
    expect(h.violations).toHaveLength(2);
    expect(h.spam.stats.violations).toBe(2);
  });

  it('coordinated: one group, its members as evidence, reported once with what was delivered before detection', () => {
    const h = harness();
    const verdicts = Array.from({ length: 7 }, (_, i) => h.send(`bot${i}`, LONG));
    const groupFindings = verdicts.flatMap((v) => (v.findings ?? []) as SpamFinding[]);
    expect(new Set(groupFindings.map((f) => f.groupId)).size).toBe(1);
    const f = groupFindings[0]!;
    expect(f).toMatchObject({ rule: 'coordinated', category: 'spam', scope: 'room', violation: false });
    expect([...f.members!].sort()).toEqual(['bot0', 'bot1', 'bot2', 'bot3', 'bot4']);
    expect(f.evidence).toEqual(expect.arrayContaining([`group:${f.groupId}`, 'user:bot0', 'user:bot4']));
    expect(h.groups).toHaveLength(1);
    expect(h.groups[0]).toMatchObject({ id: f.groupId, scope: 'room', room: 'lobby', deliveredBeforeDetection: 4, detectedBy: 'node-a' });
    expect(h.groups[0]!.members.map((m) => m.messageId)).toHaveLength(5);
    expect(h.spam.stats.groups).toBe(1);
    expect(h.spam.stats.groupDeliveredBeforeDetection).toBe(4);
    // Later members join the evidence.
    expect((verdicts[6]!.findings![0] as SpamFinding).members).toContain('bot6');
  });

  it('exempt users skip the content rules, but not the block list', () => {
    const h = harness({ domains: { block: ['bad.com'] } });
    h.exempt.add('mod');
    expect(outcome(h.send('mod', 'READ THE RULES BEFORE YOU POST HERE PLEASE'))).toBe('pass');
    expect(outcome(h.send('mod', 'READ THE RULES BEFORE YOU POST HERE PLEASE'))).toBe('pass');
    expect(outcome(h.send('mod', 'not bad.com'))).toBe('blocked:spam:domain_blocked');
  });

  it('runs synchronously inside the pipeline; drop stops the chain with its error', () => {
    const h = harness();
    const p = new Pipeline([visibleText, h.spam.filter], { budgetMs: { text: 10, image: 50 } });
    const msg = (id: string) => ({ kind: 'text' as const, id, room: 'lobby', userId: 'u', text: 'same text' });
    const r1 = p.run(msg('1'));
    expect(r1).not.toBeInstanceOf(Promise);
    const r2 = p.run(msg('2'));
    expect(r2).toMatchObject({ action: 'drop', error: { code: 'blocked', policy: 'spam:duplicate' } });
  });

  it('memory is bounded: LRU caps hold under 20k distinct users', () => {
    const h = harness({ capacity: { users: 1000, slowMode: 1000, coordination: 1000 } });
    h.rooms.set('lobby', { slowModeSec: 1, linksAllowed: true });
    for (let i = 0; i < 20_000; i++) h.send(`user${i}`, `a message long enough to be fingerprinted number ${i}`);
    const { tracked, evicted } = h.spam.stats;
    expect(tracked.users).toBeLessThanOrEqual(1000);
    expect(tracked.slowMode).toBeLessThanOrEqual(1000);
    expect(tracked.coordination).toBeLessThanOrEqual(1000);
    expect(evicted.users).toBeGreaterThan(0);
  });

  it('through the filter, one user never gets more than burst + rate × t in any window (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 120 }), fc.boolean(), (gaps, exempt) => {
        const h = harness({ capacity: { coordinationSketch: 64, users: 64, slowMode: 64, coordination: 64 } }); // small: cheap to build 200 times
        if (exempt) h.exempt.add('u');
        const { userBurst, userPerSec, exemptMultiplier } = h.spam.limits;
        const burst = exempt ? Math.round(userBurst * exemptMultiplier) : userBurst;
        const perSec = exempt ? userPerSec * exemptMultiplier : userPerSec;
        const accepted: number[] = [];
        for (const gap of gaps) {
          h.advance(gap);
          if (h.send('u').action === 'pass') accepted.push(h.clock.t); // images: only the rate applies
        }
        for (let i = 0; i < accepted.length; i++) {
          for (let j = i; j < accepted.length; j++) {
            expect(j - i + 1).toBeLessThanOrEqual(burst + (perSec * (accepted[j]! - accepted[i]!)) / 1000 + 1e-9);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counts every refusal by rule', () => {
    const h = harness();
    h.send('u', 'x');
    h.send('u', 'x');
    for (let i = 0; i < 10; i++) h.send('v', `v${i}`);
    expect(h.spam.stats.messages).toBe(12);
    expect(h.spam.stats.drops).toMatchObject({ duplicate: 1, rate: 5 });
    expect(h.spam.stats.cluster).toMatchObject({ enabled: false, degraded: false, syncs: 0 });
  });

  it('counts hook exceptions instead of failing the message', () => {
    const h = harness({
      onViolation: () => {
        throw new Error('boom');
      },
      domains: { block: ['bad.com'] },
    });
    expect(outcome(h.send('u', 'bad.com'))).toBe('blocked:spam:domain_blocked');
    expect(h.spam.stats.hookErrors).toBe(1);
  });

  it('validates options once, naming the field', () => {
    const base = { nodeId: 'n', roomSettings: () => undefined };
    expect(() => createSpamFilter({ ...base, limits: { userBurst: 0 } })).toThrow(/limits\.userBurst/);
    expect(() => createSpamFilter({ ...base, limits: { nearDuplicateJaccard: 2 } })).toThrow(/limits\.nearDuplicateJaccard/);
    expect(() => createSpamFilter({ ...base, limits: { coordRoomUsers: 10, coordGlobalUsers: 5 } })).toThrow(/coordGlobalUsers/);
    expect(() => createSpamFilter({ ...base, limits: { bogus: 1 } as never })).toThrow(/bogus/);
    expect(() => createSpamFilter({ ...base, capacity: { groupMembers: 3 } })).toThrow(/capacity\.groupMembers/);
    expect(() => createSpamFilter({ ...base, nodeId: '' })).toThrow(/nodeId/);
    expect(() => createSpamFilter({ ...base, domains: { block: ['not a domain'] } })).toThrow(/domains\.block/);
    const f = createSpamFilter({ ...base, limits: { userBurst: 2 } });
    expect(Object.isFrozen(f.limits)).toBe(true);
    expect(f.filter).toMatchObject({ name: 'spam', kinds: ['text', 'image'], onFailure: 'pass' });
    expect(f.filter.check({ kind: 'text', id: '1', room: 'r', userId: 'u', text: 'hi' }, CTX)).toEqual({ action: 'pass' });
  });
});
