/**
 * `npm run bench` — runs the benchmark scenarios of BENCHMARKS.md whose code exists and records
 * the results.
 *
 *   npm run bench                  all scenarios, full counts
 *   npm run bench -- --quick       reduced counts and rounds, under a minute (~56–60 s on the 2-core dev VM, quiet)
 *   npm run bench -- --only 1      only scenario 1 (repeatable, or --only 1,3)
 *
 * Scenarios are the modules loadtest/scenarios/NN-name.ts (default export: a Scenario, see
 * lib/types.ts); a new one is picked up by existing there. Output:
 *   - bench-results.json at the repo root: { date, machine, command, scenarios: [{ id, name,
 *     figures: { variant: { metric: value } }, ratio, bar, met, date, command, quick, machine }] }
 *     — read by other tools. The top-level date/machine/command are this run's; scenarios this
 *     run did not select keep their earlier entry, each with the date and command that measured
 *     it, so `--only 5` does not erase scenario 1; a --quick run never replaces a full run's entry.
 *   - docs/benchmarks.md: the section between the bench markers is rewritten, merged the same way
 *     (a scenario's block is kept until a run measures it again).
 *   - .bench-tmp/ (git-ignored): server and generator logs, raw per-run data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanupHandlers, planCpus, stopAll } from './lib/proc.ts';
import type { BenchContext, Scenario, ScenarioResult } from './lib/types.ts';

const START_MARKER = '<!-- bench:start -->';
const END_MARKER = '<!-- bench:end -->';

const USAGE = 'usage: npm run bench [-- [--quick] [--only N[,M]]...]';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');

const DOC_INTRO = `# Benchmarks

How fast modgate is, measured as ratios against baselines run side by side on the same machine
in the same run (the machines are shared and noisy, so absolute figures are context only).

Reproduce:

\`\`\`sh
npm run bench                 # every scenario, full counts (several minutes)
npm run bench -- --quick      # reduced counts and rounds (~1 min here): a smoke check, not a claim
npm run bench -- --only 1     # one scenario
\`\`\`

The harness lives in \`loadtest/\` (\`bench.ts\`, one module per scenario in \`loadtest/scenarios/\`).
It writes \`bench-results.json\` at the repository root and rewrites the section below; server and
load-generator logs and raw per-run data go to \`.bench-tmp/\`.

`;

/** A mistake on the command line: reported without a stack trace. */
class UsageError extends Error {}

interface Args {
  quick: boolean;
  only: number[] | undefined;
  argv: string[];
}

function parseCli(argv: string[]): Args {
  let values: { quick?: boolean; only?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = values.only?.flatMap((s) => s.split(',')).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new UsageError(`--only wants scenario numbers, got "${s}"`);
    return n;
  });
  return { quick: values.quick ?? false, only, argv };
}

/** Every loadtest/scenarios/NN-name.ts, in number order. */
async function loadScenarios(): Promise<Scenario[]> {
  const dir = join(here, 'scenarios');
  const files = readdirSync(dir)
    .filter((f) => /^\d+-[\w-]+\.ts$/.test(f))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  const out: Scenario[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { default?: Scenario };
    const s = mod.default;
    if (!s || typeof s.id !== 'number' || typeof s.run !== 'function') {
      throw new Error(`loadtest/scenarios/${f}: default export is not a Scenario`);
    }
    out.push(s);
  }
  return out;
}

function machine(): string {
  let nproc: number;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    nproc = os.availableParallelism();
  }
  let model = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux: os.cpus() model
  }
  return `nproc ${nproc}, ${model}, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The command that reproduces this run, as the user typed it. */
function command(argv: string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node --import tsx loadtest/bench.ts${args ? ` ${args}` : ''}`;
}

/** One scenario's entry in bench-results.json, with who measured it and when. */
interface StoredResult {
  id: number;
  name: string;
  figures: ScenarioResult['figures'];
  ratio: number | null;
  ratioSpread?: [number, number] | undefined;
  bar: string;
  met: boolean;
  date: string;
  command: string;
  quick: boolean;
  machine: string;
}

interface RunMeta {
  date: string;
  machine: string;
  command: string;
  quick: boolean;
  cpus: string;
  loadavg: string;
}

const SCENARIO_MARK = /^<!-- bench:scenario (\d+) -->$/m;

/** The per-scenario blocks of the current generated section, by id (empty when there is none). */
function previousBlocks(doc: string, stored: Map<number, StoredResult>): Map<number, string> {
  const out = new Map<number, string>();
  const start = doc.indexOf(START_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start === -1 || end < start) return out;
  const section = doc.slice(start, end);
  if (SCENARIO_MARK.test(section)) {
    for (const part of section.split(/(?=^<!-- bench:scenario \d+ -->$)/m)) {
      const m = SCENARIO_MARK.exec(part);
      if (m) out.set(Number(m[1]), part.trimEnd());
    }
    return out;
  }
  // A section written before scenarios had markers: one block per "### N." heading.
  for (const part of section.split(/(?=^### \d+\. )/m)) {
    const m = /^### (\d+)\. /.exec(part);
    if (!m) continue;
    const id = Number(m[1]);
    const r = stored.get(id);
    const [heading, ...body] = part.trimEnd().split('\n');
    const measured = r ? `Measured ${r.date} with \`${r.command}\`${r.quick ? ' (quick: a smoke check, not a claim)' : ''} on ${r.machine}.` : 'Measured by an earlier run.';
    out.set(id, [`<!-- bench:scenario ${id} -->`, heading, '', measured, ...body].join('\n'));
  }
  return out;
}

function previousResults(path: string): Map<number, StoredResult> {
  const out = new Map<number, StoredResult>();
  if (!existsSync(path)) return out;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { date?: string; command?: string; machine?: string; scenarios?: StoredResult[] };
    for (const r of json.scenarios ?? []) {
      // Entries from before per-scenario dates carry the run's.
      out.set(r.id, {
        ...r,
        date: r.date ?? json.date ?? 'unknown',
        command: r.command ?? json.command ?? 'unknown',
        quick: r.quick ?? /--quick/.test(r.command ?? json.command ?? ''),
        machine: r.machine ?? json.machine ?? 'unknown',
      });
    }
  } catch {
    // unreadable: start afresh
  }
  return out;
}

function renderBlock(meta: RunMeta, r: ScenarioResult, title: string): string {
  return [
    `<!-- bench:scenario ${r.id} -->`,
    `### ${r.id}. ${r.name} — ${title}`,
    '',
    `Measured ${meta.date} with \`${meta.command}\`${meta.quick ? ' (quick: a smoke check, not a claim)' : ''} on ${meta.machine}; ${meta.cpus}; load average at start ${meta.loadavg}.`,
    '',
    r.markdown,
  ].join('\n');
}

function renderSection(meta: RunMeta, stored: StoredResult[], blocks: Map<number, string>): string {
  const lines: string[] = [];
  lines.push(START_MARKER);
  lines.push('<!-- Generated by `npm run bench`; edits between these markers are overwritten. -->');
  lines.push('');
  lines.push(`- Latest run: ${meta.date} on ${meta.machine}, \`${meta.command}\`${meta.quick ? ' (quick: reduced counts and rounds — a smoke check, not a claim)' : ''}`);
  lines.push('- Each scenario below says when and with which command it was measured; a scenario keeps its last figures until a run measures it again.');
  lines.push('');
  lines.push('| # | scenario | ratio (median, min–max) | bar | met | measured |');
  lines.push('|---|---|---|---|---|---|');
  for (const r of stored) {
    const ratio =
      r.ratio === null ? 'not measured' : `${r.ratio}${r.ratioSpread ? ` (${r.ratioSpread[0]}–${r.ratioSpread[1]})` : ''}`;
    lines.push(`| ${r.id} | ${r.name} | ${ratio} | ${r.bar} | ${r.met ? 'yes' : 'no'} | ${r.date.slice(0, 16).replace('T', ' ')}${r.quick ? ', quick' : ''} |`);
  }
  for (const r of stored) {
    const block = blocks.get(r.id);
    if (!block) continue;
    lines.push('');
    lines.push(block);
  }
  lines.push(END_MARKER);
  return lines.join('\n');
}

const DOC_PATH = join(repoRoot, 'docs/benchmarks.md');

function readDoc(): string {
  return existsSync(DOC_PATH) ? readFileSync(DOC_PATH, 'utf8') : DOC_INTRO;
}

function writeDoc(section: string): string {
  const path = DOC_PATH;
  let doc = readDoc();
  const start = doc.indexOf(START_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start !== -1 && end > start) {
    doc = doc.slice(0, start) + section + doc.slice(end + END_MARKER.length);
  } else {
    doc = `${doc.trimEnd()}\n\n${section}\n`;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
  return path;
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const args = parseCli(process.argv.slice(2));
  const all = await loadScenarios();
  const unknown = args.only?.filter((n) => !all.some((s) => s.id === n)) ?? [];
  if (unknown.length) {
    throw new UsageError(`no scenario ${unknown.join(', ')}; present: ${all.map((s) => s.id).join(', ')}`);
  }
  const selected = args.only ? all.filter((s) => args.only!.includes(s.id)) : all;

  const tmpDir = join(repoRoot, '.bench-tmp');
  mkdirSync(tmpDir, { recursive: true });
  const ctx: BenchContext = {
    quick: args.quick,
    repoRoot,
    tmpDir,
    cpus: planCpus(),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const meta = {
    date: new Date().toISOString(),
    machine: machine(),
    command: command(args.argv),
    quick: args.quick,
    cpus: ctx.cpus.description,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
  ctx.log(`bench: ${meta.command} — ${meta.machine}; ${meta.cpus}`);
  ctx.log(`bench: scenarios ${selected.map((s) => `${s.id} ${s.name}`).join(', ')}`);

  const results: ScenarioResult[] = [];
  for (const s of selected) {
    const t = Date.now();
    ctx.log(`bench: scenario ${s.id} ${s.name} — ${s.title}`);
    try {
      results.push(await s.run(ctx));
    } catch (err) {
      // One broken scenario must not lose the others' results.
      ctx.log(`bench: scenario ${s.id} failed: ${(err as Error).stack ?? err}`);
      results.push({
        id: s.id,
        name: s.name,
        figures: {},
        ratio: null,
        bar: s.bar,
        met: false,
        markdown: `Failed: ${(err as Error).message}`,
        raw: { error: String(err) },
      });
    } finally {
      await stopAll();
    }
    const r = results[results.length - 1]!;
    ctx.log(`bench: scenario ${s.id} done in ${((Date.now() - t) / 1000).toFixed(1)} s — ratio ${r.ratio ?? 'not measured'}, bar ${r.met ? 'met' : 'not met'}`);
  }

  // Merge with what earlier runs measured: this run replaces only the scenarios it ran.
  const jsonPath = join(repoRoot, 'bench-results.json');
  const stored = previousResults(jsonPath);
  const blocks = previousBlocks(readDoc(), stored);
  for (const r of results) {
    const { id, name, figures, ratio, ratioSpread, bar, met } = r;
    // A quick run is a smoke check: it never replaces figures a full run measured.
    if (meta.quick && stored.get(id)?.quick === false) {
      ctx.log(`bench: scenario ${id}: quick figures not recorded over the full run of ${stored.get(id)!.date} (see .bench-tmp/bench-raw.json)`);
      continue;
    }
    stored.set(id, { id, name, figures, ratio, ratioSpread, bar, met, date: meta.date, command: meta.command, quick: meta.quick, machine: meta.machine });
    blocks.set(id, renderBlock(meta, r, all.find((s) => s.id === id)?.title ?? ''));
  }
  // Scenarios whose code is gone are dropped.
  const merged = [...stored.values()].filter((r) => all.some((s) => s.id === r.id)).sort((a, b) => a.id - b.id);
  const json = { date: meta.date, machine: meta.machine, command: meta.command, scenarios: merged };
  writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(tmpDir, 'bench-raw.json'), `${JSON.stringify({ ...meta, scenarios: results }, null, 2)}\n`);
  const docPath = writeDoc(renderSection(meta, merged, blocks));
  ctx.log(`bench: wrote ${jsonPath}, ${docPath}, ${join(tmpDir, 'bench-raw.json')}`);
}

main().catch(async (err) => {
  process.stderr.write(`bench: ${err instanceof UsageError ? err.message : ((err as Error).stack ?? err)}\n`);
  await stopAll();
  process.exit(1);
});
