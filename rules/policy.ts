/**
 * The policy file: categories, ladders and due-process text as data (DESIGN.md "Policy is data").
 *
 * A policy is YAML (JSON is YAML too), validated once with zod and a cross-reference pass, then
 * deep-frozen. Every problem is reported with its path in the document, its line when known, and
 * a hint where one helps — all of them at once, not the first:
 *
 *   ladders.strikes.steps[1].actions[0].duration (line 58): duration is required for restrict
 *     — hint: e.g. `duration: 72h`, or `duration: permanent`
 *
 * The format is documented in docs/policy.md; the shipped default is rules/default-policy.yaml.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isNode, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import { compareHarshness } from './harshness.ts';
import { APPEAL_URL_PLACEHOLDERS, TEMPLATE_PLACEHOLDERS, placeholders } from './template.ts';
import {
  FEATURES,
  NOTICE_ACTIONS,
  REVIEW_PRIORITIES,
  SANCTION_KINDS,
  TIERS,
  type ActionSpec,
  type NoticeAction,
  type ReviewPriority,
  type SanctionKind,
  type Tier,
} from './types.ts';

// ---- the Policy, as decide() sees it ------------------------------------------------------------

/** What indexes a ladder's steps (each count includes the violation being decided). */
export const LADDER_COUNTS = ['strikes', 'category', 'minor', 'major'] as const;
export type LadderCount = (typeof LADDER_COUNTS)[number];

export interface PolicyStep {
  readonly actions: readonly Readonly<ActionSpec>[];
  /** Remove the content (default true). */
  readonly remove?: boolean;
  /** Hold the content for review. */
  readonly hold?: boolean;
  /** Notice action; default: derived from the heaviest action. */
  readonly notice?: NoticeAction;
  /** Appended to the category's reason in the notice. */
  readonly note?: string;
}

export interface PolicyLadder {
  readonly count: LadderCount;
  readonly steps: readonly PolicyStep[];
}

export interface TierDefaults {
  readonly ladder: string;
  readonly strike: boolean;
  readonly appealable: boolean;
  readonly review: ReviewPriority;
}

export interface PolicyCategory {
  /** Absent: a special category (decisions report tier `special`). */
  readonly tier?: Tier;
  readonly title: string;
  /** The guideline named in notices (default: the title). */
  readonly guideline?: string;
  readonly reason: string;
  readonly ladder?: string;
  readonly strike?: boolean;
  readonly appealable?: boolean;
  readonly review?: ReviewPriority;
  readonly remove?: boolean;
  /** `hold`: a violation reported by automation is held for a moderator instead of acted on. */
  readonly automation: 'act' | 'hold';
  /** The category that applies instead when the violation is flagged `repeat`. */
  readonly repeat?: string;
}

export interface MessagingRow {
  readonly ladder?: string;
  readonly remove?: boolean;
}

export type LivestreamKey = Tier | 'special';

/** A validated, deep-frozen policy. Durations are in seconds; `null` in a list means permanent. */
export interface Policy {
  readonly version: string;
  readonly description?: string;
  /** Where it was loaded from (a path, or what the caller passed to parsePolicy). */
  readonly source: string;
  readonly strikes: { readonly expirySec: number; readonly ladder: string; readonly majorTiers: readonly Tier[] };
  readonly minor: { readonly windowSec: number };
  readonly appeals: { readonly url?: string };
  readonly review: { readonly targetSec: Readonly<Record<ReviewPriority, number>>; readonly heldReason: string };
  readonly tiers: Readonly<Record<Tier, TierDefaults>>;
  readonly ladders: Readonly<Record<string, PolicyLadder>>;
  readonly categories: Readonly<Record<string, PolicyCategory>>;
  readonly aliases: Readonly<Record<string, string>>;
  readonly messaging: Readonly<Record<string, MessagingRow>>;
  readonly livestream: {
    readonly kill: boolean;
    /** Appended to the notice: `kill` when the stream is ended, `suspend` ({duration} = the stream suspension). */
    readonly notes: { readonly kill?: string; readonly suspend?: string };
    readonly suspend: Readonly<Partial<Record<LivestreamKey, readonly (number | null)[]>>>;
  };
}

/** A category's settings with its tier's defaults filled in. */
export interface CategorySettings {
  readonly id: string;
  readonly tier: Tier | 'special';
  readonly title: string;
  readonly guideline: string;
  readonly reason: string;
  readonly ladder: string;
  readonly strike: boolean;
  readonly appealable: boolean;
  readonly review: ReviewPriority;
  readonly remove?: boolean;
  readonly automation: 'act' | 'hold';
  readonly repeat?: string;
}

export const DEFAULT_POLICY_PATH: string = fileURLToPath(new URL('./default-policy.yaml', import.meta.url));

// ---- errors ---------------------------------------------------------------------------------------

export interface PolicyIssue {
  /** Path in the document, e.g. `ladders.strikes.steps[2].actions[0].kind`; `(root)`, `(yaml)`, `(file)`. */
  path: string;
  message: string;
  hint?: string;
  line?: number;
  column?: number;
}

export function formatIssue(i: PolicyIssue): string {
  const where = i.line !== undefined ? `${i.path} (line ${i.line})` : i.path;
  return `${where}: ${i.message}${i.hint ? ` — hint: ${i.hint}` : ''}`;
}

/** An invalid policy. `message` lists every issue, one per line, each with its path. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly source: string,
    readonly issues: readonly PolicyIssue[],
  ) {
    super(`invalid policy ${source} (${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
  }
}

// ---- durations ------------------------------------------------------------------------------------

const UNIT_SEC: Record<string, number> = { s: 1, min: 60, h: 3_600, d: 86_400, w: 604_800 };
/** Ten years: longer is `permanent` in all but name, and keeps `at + duration` far from float trouble. */
const MAX_DURATION_SEC = 3650 * 86_400;
const DURATION_HINT = 'a whole number and a unit: s, min, h, d or w (e.g. 72h, 7d)';

/** "72h" → 259200; "permanent" → null (when allowed); otherwise an error message. */
function parseDuration(v: unknown, allowPermanent: boolean): number | null | { error: string; hint: string } {
  if (typeof v === 'number') return { error: `a bare number (${v}) has no unit`, hint: `write ${v}s, ${v}h or ${v}d` };
  if (typeof v !== 'string') return { error: `expected a duration, got ${v === null ? 'null' : typeof v}`, hint: DURATION_HINT };
  const s = v.trim();
  if (s === 'permanent') {
    return allowPermanent ? null : { error: 'cannot be permanent here', hint: 'give a finite duration, e.g. 90d' };
  }
  const m = /^(\d+)\s*([a-z]+)$/.exec(s);
  if (!m) return { error: `"${v}" is not a duration`, hint: allowPermanent ? `${DURATION_HINT}, or permanent` : DURATION_HINT };
  const unit = UNIT_SEC[m[2]!];
  if (unit === undefined) {
    const hint = m[2] === 'm' ? 'm is ambiguous: write min for minutes, d for days' : DURATION_HINT;
    return { error: `unknown unit "${m[2]}"`, hint };
  }
  const sec = Number(m[1]) * unit;
  if (sec <= 0) return { error: `"${v}" must be more than zero`, hint: DURATION_HINT };
  if (sec > MAX_DURATION_SEC) {
    return { error: `"${v}" is longer than 10 years`, hint: allowPermanent ? 'write permanent' : 'strikes and windows need a finite period of at most 3650d' };
  }
  return sec;
}

const durationOf = (allowPermanent: boolean) =>
  z.unknown().transform((v, ctx): number | null => {
    const r = parseDuration(v, allowPermanent);
    if (r !== null && typeof r === 'object') {
      ctx.addIssue({ code: 'custom', message: r.error, params: { hint: r.hint } });
      return z.NEVER;
    }
    return r;
  });
const finiteDuration = durationOf(false).transform((v) => v as number);
const anyDuration = durationOf(true);

// ---- the document schema ----------------------------------------------------------------------------

const ID = /^[a-z][a-z0-9_]*$/;
const ID_MESSAGE = 'must be lowercase snake_case: a-z, 0-9 and _, starting with a letter';
const id = z.string().regex(ID, ID_MESSAGE);
const tier = z.enum(TIERS);
const reviewPriority = z.enum(REVIEW_PRIORITIES);
const text = z.string().trim().min(1, 'must not be empty');

const NO_DURATION: ReadonlySet<SanctionKind> = new Set(['warn', 'stream_kill', 'ban']);
const DEVICE_KINDS: ReadonlySet<SanctionKind> = new Set(['ban', 'suspend']);

const actionObject = z
  .strictObject({
    kind: z.enum(SANCTION_KINDS),
    duration: anyDuration.optional(),
    features: z.array(z.enum(FEATURES)).min(1, 'list at least one feature').optional(),
    scope: z.enum(['global', 'room']).optional(),
    device: z.boolean().optional(),
    ip: z.boolean().optional(),
  })
  .superRefine((a, ctx) => {
    const issue = (path: string, message: string, hint?: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message, ...(hint ? { params: { hint } } : {}) });
    if (NO_DURATION.has(a.kind) && a.duration !== undefined) {
      issue(
        'duration',
        `${a.kind} takes no duration`,
        a.kind === 'ban' ? 'a ban is permanent: for a temporary lock use suspend with a duration' : 'remove the duration',
      );
    }
    if (!NO_DURATION.has(a.kind) && a.duration === undefined) {
      issue('duration', `duration is required for ${a.kind}`, 'e.g. `duration: 72h`, or `duration: permanent`');
    }
    if (a.kind === 'restrict' && a.features === undefined) {
      issue('features', 'restrict needs the features it takes away', `some of ${FEATURES.join(', ')}`);
    }
    if (a.kind !== 'restrict' && a.features !== undefined) issue('features', `features only apply to restrict, not ${a.kind}`);
    if (a.kind !== 'mute' && a.scope !== undefined) issue('scope', `scope only applies to mute (a room mute), not ${a.kind}`);
    if (!DEVICE_KINDS.has(a.kind) && (a.device !== undefined || a.ip !== undefined)) {
      issue(a.device !== undefined ? 'device' : 'ip', `device and ip only apply to ban and suspend, not ${a.kind}`);
    }
  })
  .transform((a): ActionSpec => {
    const out: ActionSpec = { kind: a.kind };
    if (a.duration !== undefined && a.duration !== null) out.durationSec = a.duration;
    if (a.features !== undefined) out.features = [...a.features];
    if (a.scope !== undefined) out.scope = a.scope;
    if (a.device !== undefined) out.device = a.device;
    if (a.ip !== undefined) out.ip = a.ip;
    return out;
  });
/** `- warn` is short for `- { kind: warn }`. */
const action = z.preprocess((v) => (typeof v === 'string' ? { kind: v } : v), actionObject);

const step = z.strictObject({
  actions: z.array(action).default([]),
  remove: z.boolean().optional(),
  hold: z.boolean().optional(),
  notice: z.enum(NOTICE_ACTIONS).optional(),
  note: text.optional(),
});

const ladder = z.strictObject({
  count: z.enum(LADDER_COUNTS).default('strikes'),
  steps: z.array(step).min(1, 'a ladder needs at least one step'),
});

const tierDefaults = z.strictObject({ ladder: id, strike: z.boolean(), appealable: z.boolean(), review: reviewPriority });

const category = z.strictObject({
  tier: tier.optional(),
  title: text,
  guideline: text.optional(),
  reason: text,
  ladder: id.optional(),
  strike: z.boolean().optional(),
  appealable: z.boolean().optional(),
  review: reviewPriority.optional(),
  remove: z.boolean().optional(),
  automation: z.enum(['act', 'hold']).default('act'),
  repeat: id.optional(),
});

const livestreamList = z.array(anyDuration).min(1, 'list at least one duration (the last one repeats)');

const strikesSchema = z.strictObject({
  expiry: finiteDuration,
  ladder: id,
  majorTiers: z.array(tier).default(['severe', 'critical']),
});
const reviewSchema = z.strictObject({
  targets: z.strictObject({ critical: finiteDuration, high: finiteDuration, standard: finiteDuration }),
  heldReason: text,
});
const appealsSchema = z.strictObject({ url: z.string().trim().min(1).optional() });
const messagingRow = z.strictObject({ ladder: id.optional(), remove: z.boolean().optional() });
const livestreamSchema = z.strictObject({
  kill: z.boolean(),
  notes: z.strictObject({ kill: text.optional(), suspend: text.optional() }).default({}),
  suspend: z
    .strictObject({
      minor: livestreamList.optional(),
      moderate: livestreamList.optional(),
      severe: livestreamList.optional(),
      critical: livestreamList.optional(),
      special: livestreamList.optional(),
    })
    .default({}),
});

const documentSchema = z.strictObject({
  version: z.string().trim().min(1, 'must not be empty').max(64),
  description: z.string().optional(),
  strikes: strikesSchema,
  minor: z.strictObject({ window: finiteDuration }),
  appeals: appealsSchema.default({}),
  review: reviewSchema,
  tiers: z.strictObject({ minor: tierDefaults, moderate: tierDefaults, severe: tierDefaults, critical: tierDefaults }),
  ladders: z.record(z.string().regex(ID, `ladder names ${ID_MESSAGE}`), ladder),
  categories: z.record(z.string().regex(ID, `category ids ${ID_MESSAGE}`), category),
  aliases: z.record(z.string().regex(ID, `aliases ${ID_MESSAGE}`), id).default({}),
  messaging: z.record(z.string(), messagingRow).default({}),
  livestream: livestreamSchema,
});
type PolicyDocument = z.output<typeof documentSchema>;

// ---- hints for zod's own issues ---------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate, if it is close enough to be a typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })?._zod?.def;

/** The keys a strict object accepts at `path` in the document schema (for "did you mean"). */
function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let def = defOf(schema);
  let i = 0;
  for (let guard = 0; def && guard < 64; guard++) {
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
        def = defOf(def.innerType);
        continue;
      case 'pipe': {
        // preprocess → out is the schema; schema.transform(fn) → in is the schema.
        const out = defOf(def.out);
        def = out && out.type !== 'transform' ? out : defOf(def.in);
        continue;
      }
      case 'object': {
        const shape = def.shape as Record<string, unknown>;
        if (i === path.length) return Object.keys(shape);
        def = defOf(shape[String(path[i++])]);
        continue;
      }
      case 'record':
        if (i === path.length) return undefined;
        i++;
        def = defOf(def.valueType);
        continue;
      case 'array':
        if (i === path.length) return undefined;
        i++;
        def = defOf(def.element);
        continue;
      default:
        return undefined;
    }
  }
  return undefined;
}

function hintFor(issue: z.core.$ZodIssue, input: unknown): string | undefined {
  const params = (issue as { params?: { hint?: unknown } }).params;
  if (typeof params?.hint === 'string') return params.hint;
  if (issue.code === 'invalid_value') {
    // `- bann` (shorthand) fails at `.kind` of a string: the string is what was written.
    const parent = valueAt(input, issue.path.slice(0, -1));
    const received = typeof parent === 'string' ? parent : valueAt(input, issue.path);
    const options = issue.values.map(String);
    const near = typeof received === 'string' ? didYouMean(received, options) : undefined;
    return near ? `did you mean ${near}?` : undefined;
  }
  if (issue.code === 'invalid_type' && issue.path.at(-1) === 'version' && issue.path.length === 1) {
    return 'quote it, e.g. version: "2025-11-1", so YAML keeps it a string';
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** `ladders.strikes.steps[2].actions[0]`: dots for keys, brackets for indices and odd keys. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s || '(root)';
}

interface RawIssue {
  path: PropertyKey[];
  message: string;
  hint?: string;
}

function zodIssues(error: z.ZodError, input: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of error.issues) {
    const path = [...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(documentSchema, path) ?? [];
      for (const key of issue.keys) {
        const near = didYouMean(key, known);
        const hint = near ? `did you mean ${near}?` : known.length ? `known keys here: ${known.join(', ')}` : undefined;
        out.push(hint ? { path: [...path, key], message: 'unknown key', hint } : { path: [...path, key], message: 'unknown key' });
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      const inner = issue.issues[0];
      out.push({ path, message: inner?.message ?? issue.message });
      continue;
    }
    // A missing key reads better as "missing" than as "expected string, received undefined".
    const missing = issue.code === 'invalid_type' && valueAt(input, path) === undefined;
    const message = missing ? `missing (expected ${issue.expected === 'record' ? 'a mapping' : issue.expected})` : issue.message;
    const hint = hintFor(issue, input);
    out.push(hint ? { path, message, hint } : { path, message });
  }
  return out;
}

// ---- cross-references and ladder order --------------------------------------------------------------

/**
 * What the cross-reference pass sees: every section and entry that parsed on its own, and the
 * names present in the document even where their entry did not parse — so one run reports both
 * a broken step and a dangling reference, and never calls a broken ladder "missing".
 */
interface Parts {
  strikes?: z.output<typeof strikesSchema>;
  review?: z.output<typeof reviewSchema>;
  appeals?: z.output<typeof appealsSchema>;
  livestream?: z.output<typeof livestreamSchema>;
  tiers: Partial<Record<Tier, z.output<typeof tierDefaults>>>;
  ladders: Record<string, z.output<typeof ladder>>;
  categories: Record<string, z.output<typeof category>>;
  aliases: Record<string, string>;
  messaging: Record<string, z.output<typeof messagingRow>>;
  ladderNames: Set<string>;
  categoryNames: Set<string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function partsOf(input: unknown): Parts {
  const root = isObject(input) ? input : {};
  const one = <S extends z.ZodType>(schema: S, v: unknown): z.output<S> | undefined => {
    const r = schema.safeParse(v);
    return r.success ? r.data : undefined;
  };
  const each = <S extends z.ZodType>(v: unknown, schema: S, keyOk: (k: string) => boolean): Record<string, z.output<S>> => {
    const out: Record<string, z.output<S>> = {};
    if (!isObject(v)) return out;
    for (const [k, x] of Object.entries(v)) {
      if (!keyOk(k)) continue;
      const parsed = one(schema, x);
      if (parsed !== undefined) out[k] = parsed;
    }
    return out;
  };
  const ids = (k: string) => ID.test(k);
  const tiers: Parts['tiers'] = {};
  if (isObject(root.tiers)) {
    for (const t of TIERS) {
      const d = one(tierDefaults, root.tiers[t]);
      if (d) tiers[t] = d;
    }
  }
  const parts: Parts = {
    tiers,
    ladders: each(root.ladders, ladder, ids),
    categories: each(root.categories, category, ids),
    aliases: each(root.aliases, id, ids),
    messaging: each(root.messaging, messagingRow, () => true),
    ladderNames: new Set(isObject(root.ladders) ? Object.keys(root.ladders) : []),
    categoryNames: new Set(isObject(root.categories) ? Object.keys(root.categories) : []),
  };
  const strikes = one(strikesSchema, root.strikes);
  if (strikes) parts.strikes = strikes;
  const review = one(reviewSchema, root.review);
  if (review) parts.review = review;
  const appeals = one(appealsSchema, root.appeals ?? {});
  if (appeals) parts.appeals = appeals;
  const livestream = one(livestreamSchema, root.livestream);
  if (livestream) parts.livestream = livestream;
  return parts;
}

function crossCheck(doc: Parts): RawIssue[] {
  const issues: RawIssue[] = [];
  const add = (path: PropertyKey[], message: string, hint?: string) => issues.push(hint ? { path, message, hint } : { path, message });
  const ladderNames = [...doc.ladderNames];
  const categoryIds = [...doc.categoryNames];
  const ladderRef = (path: PropertyKey[], name: string) => {
    if (doc.ladderNames.has(name)) return true;
    const near = didYouMean(name, ladderNames);
    add(path, `no ladder named "${name}"`, near ? `did you mean ${near}?` : `ladders: ${ladderNames.join(', ')}`);
    return false;
  };
  const categoryRef = (path: PropertyKey[], c: string, what: string) => {
    if (doc.categoryNames.has(c)) return true;
    const alias = Object.hasOwn(doc.aliases, c) ? doc.aliases[c] : undefined;
    const near = didYouMean(c, categoryIds);
    add(path, `${what} "${c}" is not a category`, alias ? `"${c}" is an alias: use the category id ${alias}` : near ? `did you mean ${near}?` : undefined);
    return false;
  };
  const templateCheck = (path: PropertyKey[], template: string) => {
    for (const name of placeholders(template)) {
      if (!Object.hasOwn(TEMPLATE_PLACEHOLDERS, name)) {
        const near = didYouMean(name, Object.keys(TEMPLATE_PLACEHOLDERS));
        add(path, `unknown placeholder {${name}}`, near ? `did you mean {${near}}?` : `placeholders: ${Object.keys(TEMPLATE_PLACEHOLDERS).map((p) => `{${p}}`).join(' ')}`);
      }
    }
  };

  if (doc.strikes) ladderRef(['strikes', 'ladder'], doc.strikes.ladder);
  for (const t of TIERS) {
    const d = doc.tiers[t];
    if (d) ladderRef(['tiers', t, 'ladder'], d.ladder);
  }
  if (doc.review) templateCheck(['review', 'heldReason'], doc.review.heldReason);
  for (const k of ['kill', 'suspend'] as const) {
    const note = doc.livestream?.notes[k];
    if (note !== undefined) templateCheck(['livestream', 'notes', k], note);
  }

  // A ladder climbs: each step at least as harsh as the one before (DESIGN: no surprise leniency).
  for (const [name, l] of Object.entries(doc.ladders)) {
    l.steps.forEach((s, i) => {
      if (s.note) templateCheck(['ladders', name, 'steps', i, 'note'], s.note);
      const prev = l.steps[i - 1];
      if (prev && compareHarshness(s.actions, prev.actions) < 0) {
        add(['ladders', name, 'steps', i], `step ${i + 1} is milder than step ${i} (a ladder must not de-escalate)`, 'order the steps from mildest to harshest');
      }
    });
  }

  const majorTiers = new Set(doc.strikes?.majorTiers ?? []);
  for (const [cid, c] of Object.entries(doc.categories)) {
    const at = (k?: string): PropertyKey[] => (k ? ['categories', cid, k] : ['categories', cid]);
    const defaults = c.tier ? doc.tiers[c.tier] : undefined;
    if (!c.tier) {
      for (const k of ['ladder', 'appealable', 'review'] as const) {
        if (c[k] === undefined) add(at(k), `a special category (no tier) must set ${k}`, 'or give it a tier to inherit the tier defaults');
      }
      if (c.strike) add(at('strike'), 'a special category (no tier) cannot add strikes: a strike records a tier', 'give it a tier');
    }
    if (c.ladder !== undefined) ladderRef(at('ladder'), c.ladder);
    if (c.repeat !== undefined && categoryRef(at('repeat'), c.repeat, 'repeat target')) {
      if (c.repeat === cid) add(at('repeat'), 'a category cannot repeat into itself');
      else if (Object.hasOwn(doc.categories, c.repeat) && doc.categories[c.repeat]!.repeat !== undefined) add(at('repeat'), `"${c.repeat}" has a repeat of its own: repeat goes one step only`);
    }
    templateCheck(at('reason'), c.reason);

    // The ladder's counter must be able to move for this category, or its later steps never fire.
    if (c.tier && !defaults) continue; // the tier's defaults did not parse: already reported
    const strike = c.strike ?? defaults?.strike ?? false;
    const ladders: [PropertyKey[], string | undefined][] = [[c.ladder !== undefined ? at('ladder') : at('tier'), c.ladder ?? defaults?.ladder]];
    const row = Object.hasOwn(doc.messaging, cid) ? doc.messaging[cid] : undefined;
    if (row?.ladder) ladders.push([['messaging', cid, 'ladder'], row.ladder]);
    for (const [path, name] of ladders) {
      const l = name !== undefined && Object.hasOwn(doc.ladders, name) ? doc.ladders[name] : undefined;
      if (!l || l.steps.length < 2) continue;
      if (l.count === 'major' && !doc.strikes) continue; // majorTiers unknown: strikes did not parse
      const problem =
        (l.count === 'strikes' || l.count === 'category') && !strike
          ? `it adds no strikes`
          : l.count === 'minor' && c.tier !== 'minor'
            ? `it is not a minor category`
            : l.count === 'major' && !(c.tier && majorTiers.has(c.tier))
              ? `its tier is not in strikes.majorTiers`
              : undefined;
      if (problem) {
        add(path, `ladder "${name}" counts ${l.count} but ${problem}, so its later steps would never apply to ${cid}`, 'pick a ladder with one step, or one counted by what this category records');
      }
    }
  }

  for (const [alias, target] of Object.entries(doc.aliases)) {
    if (doc.categoryNames.has(alias)) add(['aliases', alias], `"${alias}" is already a category id`, 'remove the alias');
    categoryRef(['aliases', alias], target, 'alias target');
  }

  for (const [cid, row] of Object.entries(doc.messaging)) {
    categoryRef(['messaging', cid], cid, 'messaging row');
    if (row.ladder !== undefined) ladderRef(['messaging', cid, 'ladder'], row.ladder);
  }

  const url = doc.appeals?.url;
  if (url !== undefined) {
    for (const name of placeholders(url)) {
      if (!(APPEAL_URL_PLACEHOLDERS as readonly string[]).includes(name)) {
        add(['appeals', 'url'], `unknown placeholder {${name}}`, `placeholders: ${APPEAL_URL_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
      }
    }
    let ok = false;
    try {
      const u = new URL(url.replace(/\{[^{}]*\}/g, 'x'));
      ok = u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      ok = false;
    }
    if (!ok) add(['appeals', 'url'], 'must be an http(s) URL', 'e.g. https://example.org/appeals/{caseId}');
  }
  return issues;
}

// ---- locating a path in the YAML text --------------------------------------------------------------

type YamlDoc = ReturnType<typeof parseDocument>;

function nodeAt(doc: YamlDoc, path: readonly PropertyKey[]): unknown {
  try {
    return path.length === 0 ? doc.contents : doc.getIn(path, true);
  } catch {
    return undefined;
  }
}

/**
 * The line and column of `path` in the YAML text: the key's position for a mapping entry (a
 * nested map's value starts a line later), the item's for a list entry, and for a path that is
 * not in the document (a missing key) the nearest enclosing entry — none for a top-level key.
 */
function locate(doc: YamlDoc, lc: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  for (let n = path.length; n >= 0; n--) {
    if (n > 0) {
      const parent = nodeAt(doc, path.slice(0, n - 1));
      if (isMap(parent)) {
        const key = path[n - 1];
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isNode(pair.key) && pair.key.range) return pos(lc, pair.key.range[0]);
      }
    }
    // The document's own start says nothing about a missing top-level key: no line then.
    if (n === 0 && path.length > 0) break;
    const node = nodeAt(doc, path.slice(0, n));
    if (isNode(node) && node.range) return pos(lc, node.range[0]);
  }
  return undefined;
}

function pos(lc: LineCounter, offset: number): { line: number; column: number } {
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

// ---- parse, load, freeze ----------------------------------------------------------------------------

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function toPolicy(doc: PolicyDocument, source: string): Policy {
  const p: Policy = {
    version: doc.version,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    source,
    strikes: { expirySec: doc.strikes.expiry, ladder: doc.strikes.ladder, majorTiers: doc.strikes.majorTiers },
    minor: { windowSec: doc.minor.window },
    appeals: doc.appeals.url !== undefined ? { url: doc.appeals.url } : {},
    review: { targetSec: doc.review.targets, heldReason: doc.review.heldReason },
    tiers: doc.tiers,
    ladders: doc.ladders,
    categories: doc.categories,
    aliases: doc.aliases,
    messaging: doc.messaging,
    livestream: doc.livestream,
  };
  return deepFreeze(p);
}

/**
 * Parses and validates a policy document (YAML or JSON). Throws `PolicyError` listing every issue
 * with its path (and line); returns a deep-frozen Policy. `source` names the text in messages.
 */
export function parsePolicy(text: string, source: string): Policy {
  const lc = new LineCounter();
  const ydoc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (ydoc.errors.length) {
    throw new PolicyError(
      source,
      ydoc.errors.map((e) => {
        const issue: PolicyIssue = { path: '(yaml)', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') };
        if (Array.isArray(e.pos)) Object.assign(issue, pos(lc, e.pos[0]));
        return issue;
      }),
    );
  }
  let input: unknown;
  try {
    input = ydoc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyError(source, [{ path: '(yaml)', message: (e as Error).message }]);
  }
  if (input === null || input === undefined) {
    throw new PolicyError(source, [{ path: '(root)', message: 'the document is empty', hint: 'start from rules/default-policy.yaml' }]);
  }
  const parsed = documentSchema.safeParse(input);
  const raw = [...(parsed.success ? [] : zodIssues(parsed.error, input)), ...crossCheck(partsOf(input))];
  if (raw.length) {
    throw new PolicyError(
      source,
      raw.map((r) => {
        const issue: PolicyIssue = { path: formatPath(r.path), message: r.message };
        if (r.hint) issue.hint = r.hint;
        const where = locate(ydoc, lc, r.path);
        if (where) Object.assign(issue, where);
        return issue;
      }),
    );
  }
  return toPolicy(parsed.data!, source);
}

/** Reads and validates a policy file; no path: the shipped default (`DEFAULT_POLICY_PATH`). */
export function loadPolicy(path: string = DEFAULT_POLICY_PATH): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PolicyError(path, [{ path: '(file)', message: `cannot read the file${code ? ` (${code})` : ''}` }]);
  }
  return parsePolicy(text, path);
}

// ---- reading a Policy --------------------------------------------------------------------------------

/** The canonical category id for an id or alias, or undefined when the policy has neither. */
export function resolveCategory(policy: Policy, category: string): string | undefined {
  if (Object.hasOwn(policy.categories, category)) return category;
  if (Object.hasOwn(policy.aliases, category)) return policy.aliases[category];
  return undefined;
}

/** True when `category` is a category id or an alias of this policy. Validate input with it first. */
export function isKnownCategory(policy: Policy, category: string): boolean {
  return resolveCategory(policy, category) !== undefined;
}

/** The category ids (not aliases), in document order. */
export function categoryIds(policy: Policy): string[] {
  return Object.keys(policy.categories);
}

/** A category's settings with its tier's defaults applied. Undefined for an unknown id (aliases too). */
export function categorySettings(policy: Policy, id: string): CategorySettings | undefined {
  if (!Object.hasOwn(policy.categories, id)) return undefined;
  const c = policy.categories[id]!;
  // Validation guarantees that a category without a tier sets ladder, appealable and review.
  const d = c.tier ? policy.tiers[c.tier] : undefined;
  return {
    id,
    tier: c.tier ?? 'special',
    title: c.title,
    guideline: c.guideline ?? c.title,
    reason: c.reason,
    ladder: c.ladder ?? d!.ladder,
    strike: c.strike ?? d?.strike ?? false,
    appealable: c.appealable ?? d!.appealable,
    review: c.review ?? d!.review,
    ...(c.remove !== undefined ? { remove: c.remove } : {}),
    automation: c.automation,
    ...(c.repeat !== undefined ? { repeat: c.repeat } : {}),
  };
}

/** The review-queue priority and target of a category (POLICY.md: critical 2 h, high 24 h, standard 72 h). */
export function reviewTarget(policy: Policy, category: string): { priority: ReviewPriority; targetSec: number } | undefined {
  const id = resolveCategory(policy, category);
  const s = id !== undefined ? categorySettings(policy, id) : undefined;
  return s ? { priority: s.review, targetSec: policy.review.targetSec[s.review] } : undefined;
}

/**
 * Valid but suspicious: printed by `modgate policy check` as warnings (exit status stays 0).
 */
export function policyWarnings(policy: Policy): string[] {
  const out: string[] = [];
  const url = policy.appeals.url;
  if (url === undefined) out.push('appeals.url: not set — notices will not tell users where to appeal');
  else if (/^https?:\/\/([^/]*\.)?(example\.(com|org|net)|[^/]*\.invalid)([/:]|$)/i.test(url)) {
    out.push(`appeals.url: ${url} is a placeholder — set your own appeal page`);
  }
  for (const id of categoryIds(policy)) {
    const s = categorySettings(policy, id)!;
    if (s.tier === 'critical' && s.appealable) out.push(`categories.${id}: critical but appealable (POLICY.md: critical categories are not appealable)`);
  }
  const used = new Set<string>([policy.strikes.ladder, ...Object.values(policy.tiers).map((t) => t.ladder)]);
  for (const c of Object.values(policy.categories)) if (c.ladder) used.add(c.ladder);
  for (const r of Object.values(policy.messaging)) if (r.ladder) used.add(r.ladder);
  for (const name of Object.keys(policy.ladders)) if (!used.has(name)) out.push(`ladders.${name}: not used by any tier, category or messaging row`);
  return out;
}
