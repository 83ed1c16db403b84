/**
 * The policy file: the shipped default implements POLICY.md's categories, and broken copies of it
 * are refused with every issue named by its path (and line), with a hint where one helps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decide } from '../../rules/decide.ts';
import {
  categoryIds,
  categorySettings,
  DEFAULT_POLICY_PATH,
  didYouMean,
  formatPath,
  isKnownCategory,
  loadPolicy,
  parsePolicy,
  PolicyError,
  policyWarnings,
  resolveCategory,
  reviewTarget,
  type PolicyIssue,
} from '../../rules/policy.ts';
import { DAY, HOUR, policy, T0 } from './fixtures.ts';

const TEXT = readFileSync(DEFAULT_POLICY_PATH, 'utf8');

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'broken.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return [...(e as PolicyError).issues];
  }
  throw new Error('the policy was accepted');
}

/** The default policy with one exact edit (which must apply). */
function broken(from: string, to: string): string {
  expect(TEXT.includes(from), `default-policy.yaml contains ${JSON.stringify(from)}`).toBe(true);
  return TEXT.replace(from, to);
}

describe('the shipped policy', () => {
  it('loads from DEFAULT_POLICY_PATH', () => {
    expect(DEFAULT_POLICY_PATH.endsWith('rules/default-policy.yaml')).toBe(true);
    expect(existsSync(DEFAULT_POLICY_PATH)).toBe(true);
    expect(policy.version).toBe('default-1');
    expect(policy.source).toBe(DEFAULT_POLICY_PATH);
  });

  it('is deep-frozen', () => {
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.ladders.strikes!.steps[0]!.actions)).toBe(true);
    expect(() => {
      (policy.categories.spam as { title: string }).title = 'x';
    }).toThrow(TypeError);
  });

  it.each<[string, string, string]>([
    // POLICY.md:11 minor
    ['POLICY.md:11', 'spam', 'minor'],
    ['POLICY.md:11', 'misleading', 'minor'],
    ['POLICY.md:11', 'mild_harassment', 'minor'],
    ['POLICY.md:11', 'low_risk', 'minor'],
    // POLICY.md:12 moderate
    ['POLICY.md:12', 'repeated_spam', 'moderate'],
    ['POLICY.md:12', 'hate_speech', 'moderate'],
    ['POLICY.md:12', 'sexual_content', 'moderate'],
    ['POLICY.md:12', 'bullying', 'moderate'],
    ['POLICY.md:12', 'harassment', 'moderate'],
    // POLICY.md:13 severe
    ['POLICY.md:13', 'violence', 'severe'],
    ['POLICY.md:13', 'exploitation', 'severe'],
    ['POLICY.md:13', 'illegal_activity', 'severe'],
    ['POLICY.md:13', 'dangerous_acts', 'severe'],
    ['POLICY.md:13', 'doxxing', 'severe'],
    ['POLICY.md:13', 'ncii', 'severe'],
    // POLICY.md:14 critical
    ['POLICY.md:14', 'child_safety', 'critical'],
    ['POLICY.md:14', 'terrorism', 'critical'],
    ['POLICY.md:14', 'threats', 'critical'],
    ['POLICY.md:14', 'fraud_scam', 'critical'],
    ['POLICY.md:14', 'hacking', 'critical'],
    ['POLICY.md:14', 'identity_theft', 'critical'],
    // POLICY.md:15-16 "Also"
    ['POLICY.md:15', 'self_harm', 'special'],
    ['POLICY.md:15', 'impersonation', 'moderate'],
    ['POLICY.md:16', 'copyright', 'moderate'],
    ['POLICY.md:16', 'ban_evasion', 'special'],
    ['POLICY.md:16', 'underage_user', 'special'],
    // POLICY.md:24 immediate-ban list names these two
    ['POLICY.md:24', 'sexual_harassment', 'severe'],
    ['POLICY.md:24-25', 'severe_hate', 'severe'],
  ])('%s: %s is %s', (_line, id, tier) => {
    expect(categorySettings(policy, id)?.tier).toBe(tier);
  });

  it('has exactly the categories above', () => {
    expect(categoryIds(policy)).toHaveLength(28);
  });

  it.each<[string, string]>([
    ['csam', 'child_safety'],
    ['revenge_porn', 'ncii'],
    ['scam', 'fraud_scam'],
    ['extremism', 'terrorism'],
    ['nudity', 'sexual_content'],
    ['spam', 'spam'],
  ])('%s resolves to %s', (name, id) => {
    expect(resolveCategory(policy, name)).toBe(id);
    expect(isKnownCategory(policy, name)).toBe(true);
  });

  it('review targets: critical 2 h, high 24 h, standard 72 h (POLICY.md:51)', () => {
    expect(policy.review.targetSec).toEqual({ critical: 2 * HOUR, high: 24 * HOUR, standard: 72 * HOUR });
    expect(reviewTarget(policy, 'csam')).toEqual({ priority: 'critical', targetSec: 2 * HOUR });
    expect(reviewTarget(policy, 'nope')).toBeUndefined();
  });

  it('strike expiry and minor window are 90 days (POLICY.md:21)', () => {
    expect(policy.strikes.expirySec).toBe(90 * DAY);
    expect(policy.minor.windowSec).toBe(90 * DAY);
  });

  it('warns only about the placeholder appeal URL', () => {
    expect(policyWarnings(policy)).toEqual([expect.stringMatching(/^appeals\.url: .* is a placeholder/)]);
  });

  it('says where every number comes from (a comment on its line)', () => {
    const uncommented = TEXT.split('\n')
      .map((line, i) => [i + 1, line] as const)
      .filter(([, line]) => /\b\d+\s*(s|min|h|d|w)\b/.test(line.split('#')[0]!) && !line.includes('#'));
    expect(uncommented).toEqual([]);
  });

  it('reads the same as JSON', () => {
    const json = JSON.stringify(parseYaml(TEXT));
    const p = parsePolicy(json, 'default.json');
    expect({ ...p, source: '' }).toEqual({ ...policy, source: '' });
  });
});

describe('broken copies are refused with the path of each issue', () => {
  it.each<[string, string, string, string, RegExp, RegExp?]>([
    // [what, from, to, path, message, hint]
    ['a number as the version', 'version: "default-1"', 'version: 1.0', 'version', /expected string/, /quote it/],
    ['an empty version', 'version: "default-1"', 'version: ""', 'version', /empty/],
    ['a misspelt key', '            duration: 72h', '            durration: 72h', 'ladders.strikes.steps[1].actions[0].durration', /unknown key/, /did you mean duration/],
    ['an unknown top-level key', 'minor:\n  # How long', 'minors:\n  # How long', 'minors', /unknown key/, /did you mean minor/],
    ['"m" as a unit', '            duration: 7d   # POLICY.md:20', '            duration: 7m   # POLICY.md:20', 'ladders.strikes.steps[2].actions[0].duration', /unknown unit "m"/, /min for minutes/],
    ['a bare number as a duration', '  expiry: 90d', '  expiry: 90', 'strikes.expiry', /no unit/, /90d/],
    ['a zero duration', '  window: 90d', '  window: 0d', 'minor.window', /more than zero/],
    ['an absurdly long duration', '  expiry: 90d', '  expiry: 99999999999d', 'strikes.expiry', /longer than 10 years/],
    ['a permanent strike expiry', '  expiry: 90d', '  expiry: permanent', 'strikes.expiry', /cannot be permanent/],
    ['a ban with a duration', '      - actions: [ban]     # 4 or more', '      - actions: [{ kind: ban, duration: 7d }]     # 4 or more', 'ladders.strikes.steps[3].actions[0].duration', /ban takes no duration/, /use suspend/],
    ['features on a suspension', '          - kind: suspend\n            duration: 7d   # POLICY.md:20', '          - kind: suspend\n            features: [chat]\n            duration: 7d   # POLICY.md:20', 'ladders.strikes.steps[2].actions[0].features', /only apply to restrict/],
    ['an unknown feature', 'features: [chat, dm, upload]', 'features: [chat, dms, upload]', 'ladders.strikes.steps[1].actions[0].features[1]', /expected one of/, /did you mean dm/],
    ['an unknown action kind (shorthand)', '      - actions: [ban]     # 4 or more', '      - actions: [bann]     # 4 or more', 'ladders.strikes.steps[3].actions[0].kind', /expected one of/, /did you mean ban/],
    ['device on a warning', '      - actions: [warn]    # 1 strike', '      - actions: [{ kind: warn, device: true }]    # 1 strike', 'ladders.strikes.steps[0].actions[0].device', /only apply to ban and suspend/],
    ['an unknown tier', '    tier: minor\n    title: Spam', '    tier: minr\n    title: Spam', 'categories.spam.tier', /expected one of/, /did you mean minor/],
    ['a missing ladder', '    ladder: strikes        # POLICY.md:19', '    ladder: strike        # POLICY.md:19', 'tiers.moderate.ladder', /no ladder named "strike"/, /did you mean strikes/],
    ['a de-escalating ladder', '            duration: 30d  # S003:274', '            duration: 1d  # S003:274', 'ladders.minor.steps[3]', /milder than step 3/, /mildest to harshest/],
    ['an unknown placeholder', 'Strike {strikes}: your account is suspended', 'Strike {strike}: your account is suspended', 'ladders.strikes.steps[2].note', /unknown placeholder \{strike\}/, /did you mean \{strikes\}/],
    ['a strike on a special category', '    ladder: support\n', '    ladder: support\n    strike: true\n', 'categories.self_harm.strike', /cannot add strikes/],
    ['an alias to nowhere', '  scam: fraud_scam', '  scam: fraud_scamm', 'aliases.scam', /"fraud_scamm" is not a category/, /did you mean fraud_scam/],
    ['an alias shadowing a category', '  csam: child_safety', '  spam: child_safety', 'aliases.spam', /already a category id/],
    ['a messaging row for an alias', '  sexual_content: { ladder: message_sexual', '  nudity: { ladder: message_sexual', 'messaging.nudity', /not a category/, /alias: use the category id sexual_content/],
    ['a repeat chain', '    title: Repeated spam\n', '    title: Repeated spam\n    repeat: harassment\n', 'categories.spam.repeat', /repeat goes one step only/],
    ['a counter that never moves', '  low_risk:\n    tier: minor\n', '  low_risk:\n    tier: minor\n    ladder: strikes\n', 'categories.low_risk.ladder', /counts strikes but it adds no strikes/],
    ['a CamelCase category id', '  low_risk:\n', '  LowRisk:\n', 'categories.LowRisk', /snake_case/],
    ['an appeal URL that is not http', '  url: "https://', '  url: "ftp://', 'appeals.url', /http\(s\) URL/],
    ['an unknown appeal URL placeholder', '/cases/{caseId}"', '/cases/{case}"', 'appeals.url', /unknown placeholder \{case\}/],
    ['a missing section', 'livestream:\n  kill: true', 'livestreams:\n  kill: true', 'livestream', /missing/],
    ['an empty ladder', '  support:\n    steps:\n      - actions: []\n        remove: false\n        hold: true\n        notice: support\n', '  support:\n    steps: []\n', 'ladders.support.steps', /at least one step/],
  ])('%s', (_what, from, to, path, message, hint) => {
    const issues = issuesOf(broken(from, to));
    const issue = issues.find((i) => i.path === path);
    expect(issue, `issues: ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.message).toMatch(message);
    if (hint) expect(issue!.hint).toMatch(hint);
    // Every issue has a line, except a top-level section that is not there at all.
    if (/^missing/.test(issue!.message) && /^\w+$/.test(path)) expect(issue!.line).toBeUndefined();
    else expect(issue!.line).toBeGreaterThan(0);
  });

  it.each<[string, string, string, RegExp, RegExp?]>([
    // [what, the line dropped (its start), path, message, hint]
    ['a restriction without duration', '            duration: 72h  # POLICY.md:20', 'ladders.strikes.steps[1].actions[0].duration', /duration is required for restrict/, /duration: 72h/],
    ['a restriction without features', '            features: [chat, dm, upload]', 'ladders.strikes.steps[1].actions[0].features', /needs the features/],
    ['a special category without review', '    review: critical         # POLICY.md:15', 'categories.self_harm.review', /must set review/],
  ])('%s', (_what, start, path, message, hint) => {
    const lines = TEXT.split('\n');
    const i = lines.findIndex((l) => l.startsWith(start));
    expect(i).toBeGreaterThanOrEqual(0);
    lines.splice(i, 1);
    const issue = issuesOf(lines.join('\n')).find((x) => x.path === path);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
    if (hint) expect(issue!.hint).toMatch(hint);
  });

  it('lists every issue at once, each with its path, in the message', () => {
    const text = TEXT.replace('version: "default-1"', 'version: 7')
      .replace('    tier: minor\n    title: Spam', '    tier: minr\n    title: Spam')
      .replace('            duration: 72h', '            duration: 72')
      .replace('  scam: fraud_scam', '  scam: fraud_scamm');
    let message = '';
    try {
      parsePolicy(text, 'three.yaml');
    } catch (e) {
      message = (e as Error).message;
    }
    // Structural issues and a dangling reference, in one run.
    expect(message).toMatch(/^invalid policy three\.yaml \(4 issues\):/);
    expect(message).toMatch(/\n {2}aliases\.scam \(line \d+\): alias target "fraud_scamm" is not a category — hint: did you mean fraud_scam\?/);
    expect(message).toContain('\n  version (line 15): ');
    expect(message).toMatch(/\n {2}categories\.spam\.tier \(line \d+\): /);
    expect(message).toMatch(/\n {2}ladders\.strikes\.steps\[1\]\.actions\[0\]\.duration \(line \d+\): .* — hint: /);
  });

  it('does not call a ladder that fails to parse "missing"', () => {
    const issues = issuesOf(broken('      - actions: [warn]    # 1 strike', '      - actions: [wran]    # 1 strike'));
    expect(issues.map((i) => i.path)).toEqual(['ladders.strikes.steps[0].actions[0].kind']);
  });

  it('points at the line of the offending key', () => {
    const text = broken('    ladder: strikes        # POLICY.md:19', '    ladder: strike        # POLICY.md:19');
    const line = text.split('\n').findIndex((l) => l.startsWith('    ladder: strike ')) + 1;
    expect(issuesOf(text)[0]!.line).toBe(line);
  });

  it.each<[string, string, RegExp]>([
    ['a YAML syntax error', 'version: "default-1"\nstrikes: [', /\(yaml\)|flow/i],
    ['a duplicate key', 'version: "default-1"\nversion: "x"\n', /unique/],
    ['an empty document', '', /empty/],
    ['a list instead of a mapping', '- 1\n- 2\n', /expected object/],
  ])('%s', (_what, text, message) => {
    const issues = issuesOf(text);
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(message);
  });

  it('loadPolicy reports a missing file as (file)', () => {
    try {
      loadPolicy('/nonexistent/policy.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).issues[0]).toMatchObject({ path: '(file)', message: expect.stringMatching(/ENOENT/) });
      expect((e as PolicyError).source).toBe('/nonexistent/policy.yaml');
    }
  });
});

describe('an operator-written policy', () => {
  // The format is not tied to the shipped categories: a small policy of one's own works.
  const SMALL = `
version: "tiny-3"
strikes: { expiry: 30d, ladder: three }
minor: { window: 7d }
review:
  targets: { critical: 1h, high: 12h, standard: 48h }
  heldReason: Held for review.
tiers:
  minor:    { ladder: three, strike: true, appealable: true, review: standard }
  moderate: { ladder: three, strike: true, appealable: true, review: standard }
  severe:   { ladder: out, strike: true, appealable: true, review: high }
  critical: { ladder: out, strike: true, appealable: false, review: critical }
ladders:
  three:
    steps:
      - actions: [{ kind: mute, duration: 10min, scope: room }]
        note: Muted for {duration} in this room.
      - actions: [{ kind: suspend, duration: 1d }]
      - actions: [ban]
  out:
    steps: [{ actions: [ban] }]
categories:
  rude: { tier: minor, title: Rudeness, reason: Be kind. }
  gore: { tier: severe, title: Gore, reason: No gore. }
livestream: { kill: false }
`;
  it('parses, with defaults filled in', () => {
    const p = parsePolicy(SMALL, 'small.yaml');
    expect(p.version).toBe('tiny-3');
    expect(p.appeals).toEqual({});
    expect(p.aliases).toEqual({});
    expect(p.strikes.majorTiers).toEqual(['severe', 'critical']);
    expect(p.ladders.three!.count).toBe('strikes');
    expect(policyWarnings(p)).toEqual(['appeals.url: not set — notices will not tell users where to appeal']);
  });

  it('drives decide()', () => {
    const p = parsePolicy(SMALL, 'small.yaml');
    const d = decide(p, { userId: 'u', category: 'rude', at: T0, source: 'moderator', live: true, room: 'r' }, { strikes: [], minorViolations: [] });
    expect(d.actions).toEqual([{ kind: 'mute', durationSec: 600, scope: 'room' }]);
    expect(d.notice).toMatchObject({ action: 'mute', durationSec: 600, appealable: true, reason: 'Be kind. Muted for 10 minutes in this room.' });
    expect(d.notice.appealUrl).toBeUndefined();
    expect(d.strike?.expiresAt).toBe(T0 + 30 * DAY * 1000);
  });
});

describe('helpers', () => {
  it.each<[(string | number)[], string]>([
    [[], '(root)'],
    [['ladders', 'strikes', 'steps', 2, 'actions', 0], 'ladders.strikes.steps[2].actions[0]'],
    [['categories', 'odd key'], 'categories["odd key"]'],
  ])('formatPath(%j) = %s', (path, s) => {
    expect(formatPath(path)).toBe(s);
  });

  it.each<[string, string[], string | undefined]>([
    ['strike', ['strikes', 'minor'], 'strikes'],
    ['minr', ['minor', 'moderate'], 'minor'],
    ['zzz', ['minor', 'moderate'], undefined],
  ])('didYouMean(%s)', (word, options, expected) => {
    expect(didYouMean(word, options)).toBe(expected);
  });
});
