/** `modgate policy check FILE`: exit status 0 valid, 1 invalid, 2 usage; what it prints where. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { policyCheckCommand } from '../../rules/policy-check.ts';
import { DEFAULT_POLICY_PATH } from '../../rules/policy.ts';

const dir = mkdtempSync(join(tmpdir(), 'modgate-policy-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEXT = readFileSync(DEFAULT_POLICY_PATH, 'utf8');

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function check(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await policyCheckCommand(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('modgate policy check', () => {
  it('accepts the shipped policy: ok line on stdout, the placeholder warning on stderr', async () => {
    const r = await check(['check', DEFAULT_POLICY_PATH]);
    expect(r).toMatchObject({ code: 0, out: 'ok: default-1, 28 categories\n' });
    expect(r.err).toMatch(/^warning: appeals\.url: .* placeholder/);
  });

  it('accepts an edited copy, and JSON', async () => {
    const edited = file('edited.yaml', TEXT.replace('version: "default-1"', 'version: "acme-7"').replace('https://appeals.example.com/cases/{caseId}', 'https://help.acme.test/appeal/{caseId}'));
    expect(await check(['check', edited])).toEqual({ code: 0, out: 'ok: acme-7, 28 categories\n', err: '' });
    const json = file('policy.json', JSON.stringify(parseYaml(TEXT), null, 2));
    expect((await check(['check', json])).out).toBe('ok: default-1, 28 categories\n');
  });

  it('refuses a broken file with every issue and its path on stderr, exit 1', async () => {
    const bad = file('bad.yaml', TEXT.replace('version: "default-1"', 'version: 2').replace('    ladder: strikes        # POLICY.md:19', '    ladder: strike         # POLICY.md:19'));
    const r = await check(['check', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(`invalid policy ${bad} (2 issues):`);
    expect(r.err).toMatch(/\n {2}version \(line \d+\): .*expected string/);
    expect(r.err).toMatch(/\n {2}tiers\.moderate\.ladder \(line \d+\): no ladder named "strike" — hint: did you mean strikes\?/);
  });

  it('refuses a YAML syntax error and a missing file, exit 1', async () => {
    expect((await check(['check', file('syntax.yaml', 'version: [\n')])).code).toBe(1);
    const missing = await check(['check', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/\(file\): cannot read the file \(ENOENT\)/);
  });

  it.each<[string[], RegExp]>([
    [[], /missing command/],
    [['check'], /missing FILE/],
    [['check', 'a.yaml', 'b.yaml'], /expected one FILE/],
    [['check', '--strict'], /unknown option --strict/],
    [['lint', 'a.yaml'], /unknown command "lint"/],
  ])('usage error %j → exit 2', async (argv, message) => {
    const r = await check(argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    expect(r.err).toContain('usage:');
  });

  it.each([['help'], ['--help'], ['-h']])('%s prints usage on stdout, exit 0', async (arg) => {
    const r = await check([arg]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^usage:\n {2}modgate policy check FILE/);
  });

  it('writes to the process streams by default', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const p = file('tiny.yaml', stringify(parseYaml(TEXT)));
      expect(await policyCheckCommand(['check', p])).toBe(0);
      expect(out).toHaveBeenCalledWith('ok: default-1, 28 categories\n');
      expect(err).toHaveBeenCalledWith(expect.stringMatching(/^warning: /));
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
