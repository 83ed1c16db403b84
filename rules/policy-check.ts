/**
 * `modgate policy check FILE`: validate a policy file before deploying it. Prints
 * `ok: <version>, N categories` (and any warnings) or every issue with its path and line.
 * Exit status: 0 valid, 1 invalid, 2 usage.
 */
import { loadPolicy, PolicyError, policyWarnings } from './policy.ts';

export const POLICY_USAGE = `usage:
  modgate policy check FILE      validate a policy file (YAML or JSON); exit 0 valid, 1 invalid, 2 usage
  modgate policy help`;

export interface CommandIO {
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/**
 * `argv` is what follows `modgate policy`, e.g. `['check', 'my-policy.yaml']`. Returns the exit
 * status; never calls process.exit. `io` replaces stdout/stderr (tests).
 */
export async function policyCheckCommand(argv: string[], io: CommandIO = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stdout.write(t));
  const err = io.err ?? ((t: string) => void process.stderr.write(t));
  const [sub, ...rest] = argv;
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    out(`${POLICY_USAGE}\n`);
    return 0;
  }
  if (sub !== 'check') {
    err(`modgate policy: ${sub === undefined ? 'missing command' : `unknown command "${sub}"`}\n${POLICY_USAGE}\n`);
    return 2;
  }
  if (rest.length !== 1 || rest[0]!.startsWith('-') || rest[0] === '') {
    err(`modgate policy check: ${rest.length === 0 ? 'missing FILE' : rest.length > 1 ? 'expected one FILE' : `unknown option ${rest[0]}`}\n${POLICY_USAGE}\n`);
    return 2;
  }
  const file = rest[0]!;
  try {
    const policy = loadPolicy(file);
    for (const w of policyWarnings(policy)) err(`warning: ${w}\n`);
    const n = Object.keys(policy.categories).length;
    out(`ok: ${policy.version}, ${n} ${n === 1 ? 'category' : 'categories'}\n`);
    return 0;
  } catch (e) {
    if (e instanceof PolicyError) {
      err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
