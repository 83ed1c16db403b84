/**
 * The keyword filter: built-in profanity, the global list and the message's room list, matched
 * in one pass each over the normalised text, synchronously.
 *
 * Verdict: the strongest enforced action among the matches wins — block (drop with `blocked`),
 * then hold, then mask (the original text with each matched span replaced by `*`, one per UTF-16
 * unit so offsets do not move). Every match is a finding `{ filter: 'keyword', category,
 * severity, score: 1, evidence: [termId, ...] }`, one per category; a match split across
 * messages also carries the ids of the messages it spans. Lists in shadow mode report findings
 * under `filter: 'keyword:shadow'` (so rules can tell them apart) and never change the verdict.
 *
 * The no-match path allocates nothing: normalisation and scans reuse buffers, the split tracker
 * keeps its state in preallocated arrays, and a clean message returns a shared `pass` verdict.
 */
import { z } from 'zod';
import type { Filter, Finding, PipelineMessage, Verdict } from '../pipeline.ts';
import { builtinProfanityTerms } from './builtin-profanity.ts';
import { MatcherBuilder } from './matcher-builder.ts';
import { MatcherSet, type MatcherSetHooks } from './matcher-set.ts';
import { NormalizedText, normalizeInto } from './normalize.ts';
import { DEFAULT_SPLIT_MAX_ENTRIES, DEFAULT_SPLIT_WINDOW_MS, SplitTracker, type Tail } from './split-tracker.ts';
import { MatchList, type TermMatcher } from './term-matcher.ts';
import { TermLists, type TermListsSnapshot } from './term-lists.ts';
import { ACTION_RANK, SEVERITY_RANK, validateTerms, type KeywordAction, type ListName, type Severity, type Term } from './terms.ts';

export const KEYWORD_FILTER_NAME = 'keyword';
export const KEYWORD_SHADOW_FILTER_NAME = 'keyword:shadow';
/**
 * Per-message timeout the pipeline gives this filter. It is synchronous and runs in ~1–2 µs, so
 * this only matters if something is badly wrong; 5 ms is far above any real message.
 */
export const KEYWORD_TIMEOUT_MS = 5;

const optionsSchema = z.strictObject({
  /** Include the built-in profanity list (obscenity's English dataset). */
  builtin: z.boolean().default(true),
  /** What a built-in match does (POLICY.md: mask, no strike). */
  builtinAction: z.enum(['mask', 'hold', 'block']).default('mask'),
  /** Lists whose matches are reported but not enforced: 'builtin', 'global', 'room:<id>', 'room:*'. */
  shadowLists: z.array(z.string().regex(/^(builtin|global|room:\*|room:\S+)$/, 'builtin, global, room:* or room:<id>')).default([]),
  /** Window for split detection between a user's consecutive messages in a room; 0 turns it off. */
  splitWindowMs: z.number().int().min(0).max(60_000).default(DEFAULT_SPLIT_WINDOW_MS),
  /** (user, room) pairs whose tail is kept (LRU beyond). */
  splitMaxEntries: z.number().int().min(1).max(1_000_000).default(DEFAULT_SPLIT_MAX_ENTRIES),
  /** Build matchers in a worker thread (default); false builds in this thread (tests, tools). */
  buildInWorker: z.boolean().default(true),
  /** Lists to start with (e.g. read from Redis). */
  snapshot: z.custom<TermListsSnapshot>((v) => typeof v === 'object' && v !== null).optional(),
  /** What the pipeline applies if the filter throws: hold for review rather than let it through. */
  onFailure: z.enum(['pass', 'hold', 'drop']).default('hold'),
  timeoutMs: z.number().positive().default(KEYWORD_TIMEOUT_MS),
  /** Clock in ms (split window); tests. */
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  onBuildError: z.custom<MatcherSetHooks['onBuildError']>((v) => typeof v === 'function').optional(),
  onRejected: z.custom<MatcherSetHooks['onRejected']>((v) => typeof v === 'function').optional(),
  onSwap: z.custom<MatcherSetHooks['onSwap']>((v) => typeof v === 'function').optional(),
});

export type KeywordFilterOptions = z.input<typeof optionsSchema>;

export interface KeywordFilter {
  filter: Filter;
  lists: TermLists;
  /** Resolves when every list change so far is built and in use; rejects if a build failed. */
  ready(): Promise<void>;
  close(): void;
}

const PASS: Verdict = Object.freeze({ action: 'pass' }) as Verdict;

interface Hit {
  term: Term;
  list: ListName;
  /** Span in the current message's text. */
  from: number;
  to: number;
  /** Ids of earlier messages the match spans (split evasion). */
  earlier: string[] | undefined;
}

export function createKeywordFilter(options: KeywordFilterOptions = {}): KeywordFilter {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(`keyword filter options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const opts = Object.freeze(parsed.data);
  const clock = opts.now || opts.splitWindowMs === 0 ? undefined : coarseClock();
  const now = opts.now ?? clock?.now ?? Date.now;
  const builtin = opts.builtin ? validateTerms(builtinProfanityTerms(opts.builtinAction), 'builtin') : [];
  const lists = new TermLists();
  if (opts.snapshot) lists.restore(opts.snapshot);
  const builder = new MatcherBuilder(opts.buildInWorker);
  builder.warm();
  const matchers = new MatcherSet(lists, builtin, builder, { onBuildError: opts.onBuildError, onRejected: opts.onRejected, onSwap: opts.onSwap });
  const split = opts.splitWindowMs > 0 ? new SplitTracker({ windowMs: opts.splitWindowMs, maxEntries: opts.splitMaxEntries }) : undefined;
  const shadow = new Set(opts.shadowLists);
  const shadowAllRooms = shadow.has('room:*');
  const isShadow = (list: ListName) => shadow.has(list) || (shadowAllRooms && list.startsWith('room:'));

  const nt = new NormalizedText(256);
  const joined = new NormalizedText(256);
  const matches = new MatchList();

  /**
   * Hits from `matches`. With `join`, the matches are over the recent messages + this one
   * (`joined`, this message from offset `join.offset`): spans are moved into this message and a
   * match that starts earlier names the earlier messages it spans.
   */
  function verdictFor(msg: PipelineMessage, text: string, global: TermMatcher<Term>, room: TermMatcher<Term> | undefined, join?: { offset: number; tail: Tail }): Verdict {
    const hits: Hit[] = [];
    for (let i = 0; i < matches.count; i++) {
      const source = matches.source[i]!;
      const index = matches.term[i]!;
      const term = (source === 0 ? global : room!).terms[index]!;
      let from = matches.from[i]!;
      let to = matches.to[i]!;
      let earlier: string[] | undefined;
      if (join) {
        // Entirely in the earlier messages: already judged with them.
        if (to <= join.offset) continue;
        if (from < join.offset) earlier = join.tail.ids.filter((_, k) => (join.tail.starts[k + 1] ?? join.offset) > from);
        from = Math.max(from, join.offset) - join.offset;
        to -= join.offset;
      }
      hits.push({ term, list: matchers.listOf(source, index, msg.room), from, to, earlier });
    }
    if (hits.length === 0) return PASS;
    // Findings: one per (shadow?, category) — a handful at most, so plain arrays.
    const findings: Finding[] = [];
    let strongest: Hit | undefined;
    for (const h of hits) {
      const sh = isShadow(h.list);
      const filterName = sh ? KEYWORD_SHADOW_FILTER_NAME : KEYWORD_FILTER_NAME;
      let f = findings.find((x) => x.category === h.term.category && x.filter === filterName);
      if (!f) findings.push((f = { filter: filterName, category: h.term.category, severity: h.term.severity, score: 1, evidence: [] }));
      if (SEVERITY_RANK[h.term.severity] > SEVERITY_RANK[f.severity as Severity]) f.severity = h.term.severity;
      const evidence = f.evidence!;
      if (!evidence.includes(h.term.id)) evidence.push(h.term.id);
      if (h.earlier) {
        for (const id of h.earlier) if (!evidence.includes(id)) evidence.push(id);
        if (!evidence.includes(msg.id)) evidence.push(msg.id);
      }
      if (sh) continue;
      if (!strongest || stronger(h.term, strongest.term)) strongest = h;
    }
    if (!strongest) return { action: 'pass', findings };
    const action = strongest.term.action as KeywordAction;
    if (action === 'block') {
      return {
        action: 'drop',
        findings,
        error: { code: 'blocked', message: 'message contains a blocked term', category: strongest.term.category, policy: `keyword:${strongest.list}` },
      };
    }
    if (action === 'hold') return { action: 'hold', findings };
    return { action: 'mask', text: maskSpans(text, hits, isShadow), findings };
  }

  /**
   * The exact check of a candidate split: the recent messages and this one normalised together
   * and matched from the root, keeping the matches that end in this message.
   */
  function joinedVerdict(msg: PipelineMessage, text: string, slot: number, global: TermMatcher<Term>, room: TermMatcher<Term> | undefined): Verdict {
    const tail = split!.tailOf(slot);
    const offset = tail.text.length;
    normalizeInto(joined, tail.text + text);
    let firstNew = 0;
    while (firstNew < joined.length && joined.end[firstNew]! <= offset) firstNew++;
    if (firstNew === joined.length) return PASS;
    matches.count = 0;
    global.find(joined, Math.max(0, firstNew - global.maxPatternLength + 1), firstNew, matches, 0);
    room?.find(joined, Math.max(0, firstNew - room.maxPatternLength + 1), firstNew, matches, 1);
    return matches.count === 0 ? PASS : verdictFor(msg, text, global, room, { offset, tail });
  }

  const filter: Filter = {
    name: KEYWORD_FILTER_NAME,
    kinds: ['text'],
    timeoutMs: opts.timeoutMs,
    onFailure: opts.onFailure,
    check(msg: PipelineMessage): Verdict {
      const text = msg.text;
      if (text === undefined || text.length === 0) return PASS;
      normalizeInto(nt, text);
      const global = matchers.global;
      const room = matchers.rooms.size === 0 ? undefined : matchers.rooms.get(msg.room);
      matches.count = 0;
      if (!split) {
        global.find(nt, 0, 0, matches, 0);
        room?.find(nt, 0, 0, matches, 1);
        return matches.count === 0 ? PASS : verdictFor(msg, text, global, room);
      }
      // Continue from where the user's recent messages in this room left each automaton: a hit
      // reaching back into them is a candidate split. When this message continues their last
      // letter run ("as" then "s"), its first symbol is that run: skip it, and a pattern that
      // ended on the run might now have the double letter it needs — also a candidate.
      const t = now();
      const slot = split.lookup(msg.userId, msg.room, t);
      let candidate = false;
      let from = 0;
      let fromG = 0;
      let fromR = 0;
      // Where words start at the end of the earlier text: a whole-word or prefix hit reaching
      // back must start at one, so the others are no candidates (-1: not known, all are).
      let earlierStarts = -1;
      if (slot >= 0) {
        fromG = split.stateOf(slot, 0, global.id);
        fromR = room ? split.stateOf(slot, 1, room.id) : 0;
        // A state from another build of a matcher is meaningless: check exactly instead.
        candidate = fromG < 0 || fromR < 0;
        earlierStarts = split.startsOf(slot);
        if (nt.length > 0 && nt.codes[0] === split.lastCodeOf(slot)) {
          from = 1;
          earlierStarts = -1;
          if ((fromG > 0 && global.isHitState(fromG)) || (room && fromR > 0 && room.isHitState(fromR))) candidate = true;
        }
      }
      global.find(nt, from, 0, matches, 0, Math.max(0, fromG), earlierStarts);
      candidate ||= global.crossing;
      const endG = global.endState;
      let endR = 0;
      if (room) {
        room.find(nt, from, 0, matches, 1, Math.max(0, fromR), earlierStarts);
        candidate ||= room.crossing;
        endR = room.endState;
      }
      let verdict: Verdict;
      if (slot >= 0 && candidate) verdict = joinedVerdict(msg, text, slot, global, room);
      else verdict = matches.count === 0 ? PASS : verdictFor(msg, text, global, room);
      split.save(msg.id, text, t, endG, global.id, endR, room ? room.id : 0, nt.length > 0 ? nt.codes[nt.length - 1]! : -1, nt.wordStarts, nt.length);
      return verdict;
    },
  };

  return {
    filter,
    lists,
    ready: () => matchers.ready(),
    close: () => {
      matchers.close();
      clock?.stop();
      void builder.close();
    },
  };
}

/**
 * Resolution of the split window's clock. Reading the time costs ~70 ns per call on the machines
 * measured (more than a term scan of a short message); the window is seconds long, so a clock
 * that ticks every 100 ms is exact enough and costs nothing per message.
 */
const COARSE_CLOCK_MS = 100;

function coarseClock(): { now: () => number; stop: () => void } {
  let t = Date.now();
  const timer = setInterval(() => (t = Date.now()), COARSE_CLOCK_MS);
  timer.unref();
  return { now: () => t, stop: () => clearInterval(timer) };
}

function stronger(a: Term, b: Term): boolean {
  const ra = ACTION_RANK[a.action as KeywordAction];
  const rb = ACTION_RANK[b.action as KeywordAction];
  return ra !== rb ? ra > rb : SEVERITY_RANK[a.severity] > SEVERITY_RANK[b.severity];
}

/** `text` with the span of every enforced hit replaced by one `*` per UTF-16 unit. */
function maskSpans(text: string, hits: readonly Hit[], isShadow: (list: ListName) => boolean): string {
  const spans: Hit[] = [];
  for (const h of hits) if (!isShadow(h.list)) spans.push(h);
  if (spans.length > 1) spans.sort((x, y) => x.from - y.from);
  let out = '';
  let at = 0;
  for (const { from, to } of spans) {
    const f = Math.max(from, at);
    if (to <= f) continue;
    out += text.slice(at, f) + '*'.repeat(to - f);
    at = to;
  }
  return out + text.slice(at);
}
