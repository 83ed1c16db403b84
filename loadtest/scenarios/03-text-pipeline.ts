/**
 * Scenario 3 — the text pipeline in process.
 *
 * Variants, interleaved per round (null, keyword, full, obscenity, null, ...):
 *   - null: `Pipeline([])` — the cost of the pipeline machinery alone;
 *   - keyword: the keyword filter's `check` alone, for context;
 *   - full: what the gateway does with a text message after validation (client-events.ts): the
 *     sanction gate (`sanctionGate` over a MemorySanctionStore holding 100k sanctions of other
 *     users), then `Pipeline(textPipelineFilters(...))` — visible-text, the spam filter and the
 *     keyword filter (built-in profanity + 1k custom global terms, split detection on), built
 *     and wrapped as gateway/server.ts does (`alwaysRuns`, the real `Rooms` answering the spam
 *     filter's room-settings and exemption questions);
 *   - obscenity: obscenity 0.4.6's English preset alone (`RegExpMatcher` with
 *     `englishDataset.build()` and `englishRecommendedTransformers`), `hasMatch` — its cheapest
 *     call (masking would need `getAllMatches`, which is slower), so the ratio is conservative.
 * The corpus is generated from a fixed seed: ordinary chat (everyday lines, Scunthorpe words,
 * numbers, links, emoji), plain profanity, and adversarial messages (profanity from obscenity's
 * own dataset run through the evasion transforms of test/filters/keyword/fixtures/evasions.ts).
 * Each variant's mean comes from a batch-timed pass and its p99 from a second pass timing every
 * message (performance.now around each call, so p99 includes ~30–50 ns of timer).
 *
 * The stream's clock: the replay runs far faster than real time (1M messages in seconds), so the
 * spam filter reads a simulated clock that advances STREAM_STEP_MS per message — STREAM_RATE
 * messages per second over 5k users, i.e. each user writes about every 17 minutes. At a faster
 * rate the corpus's few hundred base lines, sent by many users within a minute, read (correctly)
 * as a coordinated campaign and the spam filter drops them before the keyword filter runs, which
 * would make "full" cheaper, not more honest. The share of messages the spam filter refuses is
 * reported. Split detection keeps the keyword filter's own (coarse, real) clock, so every user's
 * previous message is within its window: its most expensive case.
 *
 * Detection agreement (BENCHMARKS.md: "on an adversarial corpus"): of the messages with an
 * inserted profane word that obscenity flags, the share we flag. The whole corpus is also
 * compared, for context, with obscenity's other flags broken down.
 */
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import hdr from 'hdr-histogram-js';
import { Pipeline, type Filter, type PipelineMessage } from '../../filters/pipeline.ts';
import { visibleText } from '../../filters/visible-text.ts';
import { createKeywordFilter, type KeywordFilter } from '../../filters/keyword/keyword-filter.ts';
import { createSpamFilter, type SpamFilter } from '../../filters/spam/spam-filter.ts';
import type { Conn } from '../../gateway/connection.ts';
import { sanctionGate } from '../../gateway/enforcement.ts';
import { alwaysRuns } from '../../gateway/pipeline-config.ts';
import type { RoomSettings } from '../../gateway/protocol.ts';
import { Rooms } from '../../gateway/rooms.ts';
import { MemorySanctionStore } from '../../gateway/sanction-store.ts';
import type { TermInput } from '../../filters/keyword/terms.ts';
import { EVERYDAY_LINES, SCUNTHORPE_LINES } from '../../test/filters/keyword/fixtures/clean-corpus.ts';
import { EVASIONS, rng, type Rng } from '../../test/filters/keyword/fixtures/evasions.ts';
import { round4, spread } from '../lib/stats.ts';
import type { BenchContext, Figures, Scenario, ScenarioResult } from '../lib/types.ts';

const BAR = 'full ≤ 3 µs mean; obscenity ≥ 10× slower; catches ≥ 99% of what obscenity catches';
const FULL_MAX_NS = 3_000;
const OBSCENITY_MIN_RATIO = 10;
const AGREEMENT_MIN = 0.99;
/** Per-message budget given to the pipeline (the gateway's default is of this order). */
const BUDGET = { text: 50, image: 200 } as const;

interface Plan {
  /** Messages per variant and round (the pool is cycled). */
  messages: number;
  /** Messages per round for obscenity: ~30–60 µs each, so a tenth of the others. */
  obscenityMessages: number;
  /** Distinct messages generated. */
  pool: number;
  rounds: number;
  customTerms: number;
}
const FULL: Plan = { messages: 1_000_000, obscenityMessages: 100_000, pool: 50_000, rounds: 5, customTerms: 1_000 };
const QUICK: Plan = { messages: 30_000, obscenityMessages: 3_000, pool: 10_000, rounds: 2, customTerms: 1_000 };
const SEED = 0x5eed03;
const VARIANT_LABEL = {
  null: 'null pipeline',
  keyword: 'keyword filter alone (context)',
  full: 'full: sanction gate + visible-text + spam + keyword',
  obscenity: 'obscenity English preset (hasMatch)',
} as const;
/** Users the corpus is spread over, and rooms (each user chats in one). */
const USERS = 5_000;
const ROOMS = 50;
/** Sanctions of other users in the store the gate reads (as scenario 7). */
const SANCTIONS = 100_000;
/**
 * Messages per second of the simulated stream the spam filter sees (whole node): 5/s over 5k
 * users is one message per user every ~17 minutes. Faster, the corpus's repetition trips the
 * coordination rule (measured on this corpus: 10/s refuses ~1–2%, 20/s ~30%, 50/s ~45%).
 */
const STREAM_RATE = 5;
const STREAM_STEP_MS = 1000 / STREAM_RATE;

// ── Corpus ───────────────────────────────────────────────────────────────────────────────────
export type CorpusKind = 'clean' | 'profane' | 'adversarial';
export interface CorpusMessage {
  text: string;
  kind: CorpusKind;
  /** For profane/adversarial: the dataset word inserted, the evasion applied, the line it went into. */
  word?: string;
  evasion?: string;
  base?: string;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const FILLER = ['lol', 'tbh', 'honestly', 'bro', 'ngl', 'fr', 'omg', 'wow', 'ok', 'guys', 'chat', 'man', 'dude', 'lmao', 'haha', 'yo', '😂', '🔥', '!!', '...', '?', 'xD', ':)', '100%', '10/10', 'at 5pm', 'https://example.com/clip/123', '#1', 'GG', 'EZ'];

/** Profane words from obscenity's own dataset (its phrase metadata), so nothing is listed here. */
export function datasetWords(): string[] {
  const { blacklistedTerms } = englishDataset.build();
  const words = new Set<string>();
  for (const { id } of blacklistedTerms) {
    const w = englishDataset.getPayloadWithPhraseMetadata({ termId: id, startIndex: 0, endIndex: 0, matchLength: 0 }).phraseMetadata?.originalWord;
    if (w && !w.includes(' ')) words.add(w);
  }
  return [...words];
}

function cleanLine(r: Rng): string {
  // Mostly everyday chat; Scunthorpe-style lines at a realistic rate; sometimes a filler word.
  const base = r() < 0.04 ? pick(r, SCUNTHORPE_LINES) : pick(r, EVERYDAY_LINES);
  const roll = r();
  if (roll < 0.25) return `${pick(r, FILLER)} ${base}`;
  if (roll < 0.5) return `${base} ${pick(r, FILLER)}`;
  return base;
}

/** Inserts `word` at a word boundary of an everyday line; returns the message and the line. */
function withWord(r: Rng, word: string): { text: string; base: string } {
  const base = pick(r, EVERYDAY_LINES);
  const words = base.split(' ');
  words.splice(Math.floor(r() * (words.length + 1)), 0, word);
  return { text: words.join(' '), base };
}

/**
 * Shares of the corpus: clean chat, plain profanity, adversarial (profanity through one of the
 * evasion transforms). Far more profanity than real chat carries (a few percent), so that the
 * matching and masking paths weigh in the mean; the markdown also gives the cost per kind.
 */
const CLEAN_SHARE = 0.85;
const PROFANE_SHARE = 0.07;

/** A deterministic corpus (see CLEAN_SHARE, PROFANE_SHARE; the rest is adversarial). */
export function generateCorpus(size: number, seed = SEED): CorpusMessage[] {
  const r = rng(seed);
  const words = datasetWords();
  const out: CorpusMessage[] = [];
  for (let i = 0; i < size; i++) {
    const roll = r();
    if (roll < CLEAN_SHARE) out.push({ text: cleanLine(r), kind: 'clean' });
    else if (roll < CLEAN_SHARE + PROFANE_SHARE) {
      const word = pick(r, words);
      out.push({ ...withWord(r, word), kind: 'profane', word });
    } else {
      const word = pick(r, words);
      const evasion = pick(r, EVASIONS);
      out.push({ ...withWord(r, evasion.apply(word, r)), kind: 'adversarial', word, evasion: evasion.name });
    }
  }
  return out;
}

/**
 * Synthetic custom terms: pronounceable made-up words (so they rarely collide with chat), mostly
 * whole words, some prefixes/suffixes, a few phrases; block/hold/mask mixed.
 */
export function syntheticTerms(n: number, seed = 0x7e57): TermInput[] {
  const r = rng(seed);
  const syl = ['ka', 'ro', 'mi', 'ten', 'sha', 'lo', 'ver', 'qui', 'pra', 'dun', 'gle', 'bor', 'fi', 'nax', 'tru', 'zel', 'po', 'ri', 'an', 'es', 'ol', 'um', 'ba', 'de', 'ge', 'hu', 'vy', 'jo', 'ek', 'sto'];
  const word = () => Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(r, syl)).join('');
  const seen = new Set<string>();
  const out: TermInput[] = [];
  while (out.length < n) {
    const roll = r();
    let term = word();
    if (roll < 0.05) term = `${term} ${word()}`;
    else if (roll < 0.2) term = `${term}*`;
    else if (roll < 0.25) term = `*${term}`;
    else if (roll < 0.27) term = `*${term}*`;
    if (seen.has(term)) continue;
    seen.add(term);
    const a = r();
    out.push({ term, category: pick(r, ['harassment', 'scam', 'spam', 'hate']), severity: pick(r, ['low', 'medium', 'high'] as const), action: a < 0.6 ? 'block' : a < 0.8 ? 'hold' : 'mask' });
  }
  return out;
}

export function toMessages(corpus: readonly CorpusMessage[], users = USERS, rooms = ROOMS): PipelineMessage[] {
  // Each user chats in one room, as most do. As in the gateway, the user id is one string per
  // connection while the room name and the text are parsed afresh from every message (JSON.parse:
  // flat strings — the generator's concatenations would otherwise be rope strings, slower to read).
  const userIds = Array.from({ length: users }, (_, u) => `user${u}`);
  return corpus.map((c, i) => {
    const { room, text } = JSON.parse(JSON.stringify({ room: `room${(i % users) % rooms}`, text: c.text })) as { room: string; text: string };
    return { kind: 'text', id: `m${i}`, room, userId: userIds[i % users]!, text };
  });
}

/**
 * The filters of the full text pipeline, in the gateway's order (gateway/server.ts
 * `builtInFilters` without the image filter): visible-text, then spam and keyword marked
 * `alwaysRuns` as the gateway marks them.
 */
export function textPipelineFilters(deps: { keyword: KeywordFilter; spam: SpamFilter }): Filter[] {
  return [visibleText, alwaysRuns(deps.spam.filter), alwaysRuns(deps.keyword.filter)];
}

/** A message as the gateway holds it: the sender's connection and the pipeline message. */
export interface Send {
  conn: Conn;
  msg: PipelineMessage;
}

/** The gateway's rooms and one connection per user (role `user`, owning no room). */
function gatewayRooms(msgs: readonly PipelineMessage[]): { rooms: Rooms; conns: Map<string, Conn> } {
  // Room settings as the shared configuration answers them: most rooms have none stored.
  const stored = new Map<string, Partial<RoomSettings>>([['room0', { slowModeSec: 0 }]]);
  const rooms = new Rooms(undefined as never, undefined as never, { isPersonal: () => false, accepts: () => true }, (room) => stored.get(room));
  const conns = new Map<string, Conn>();
  for (const m of msgs) {
    if (conns.has(m.userId)) continue;
    const conn = { id: `c-${m.userId}`, door: 'ws', user: { id: m.userId, name: m.userId, roles: ['user'], owns: [], ageVerified: true, emailVerified: true }, ip: '127.0.0.1', rooms: new Set([m.room]) } as unknown as Conn;
    conns.set(m.userId, conn);
    rooms.add(conn);
  }
  return { rooms, conns };
}

/** The spam filter as gateway/server.ts creates it (no Redis: in-process), on `now`'s clock. */
export function gatewaySpamFilter(rooms: Rooms, now: () => number): SpamFilter {
  return createSpamFilter({
    nodeId: 'bench',
    now,
    roomSettings: (room) => rooms.settings(room),
    isExempt: (userId, room) => {
      for (const c of rooms.connectionsOf(userId)) return c.user.roles.some((r) => r === 'moderator' || r === 'admin') || c.user.owns.includes(room);
      return false;
    },
  });
}

/** A sanction store holding `n` sanctions (bans and mutes) of users who are not in the corpus. */
async function sanctionStore(n: number): Promise<MemorySanctionStore> {
  const store = new MemorySanctionStore();
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    await store.put({ id: `s${i}`, userId: `other${i}`, kind: i % 2 ? 'mute' : 'ban', actor: { type: 'user', id: 'm' }, reason: 'r', caseId: `c${i}`, start: now });
  }
  return store;
}

// ── Measurement ──────────────────────────────────────────────────────────────────────────────
/** Wall and CPU (this process: the thread, plus GC helpers) ns per message over a batch. */
function meanNs<T>(fn: (m: T) => unknown, msgs: readonly T[], count: number): { wall: number; cpu: number } {
  const n = msgs.length;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(msgs[i % n]!);
  const wall = Number(process.hrtime.bigint() - t0) / count;
  const c = process.cpuUsage(c0);
  return { wall, cpu: ((c.user + c.system) * 1000) / count };
}

function p99Ns<T>(fn: (m: T) => unknown, msgs: readonly T[], count: number): number {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3 });
  const n = msgs.length;
  for (let i = 0; i < count; i++) {
    const m = msgs[i % n]!;
    const t0 = performance.now();
    fn(m);
    h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
  }
  return h.getValueAtPercentile(99);
}

interface Agreement {
  obscenityFlagged: number;
  weFlaggedToo: number;
  share: number;
  weOnly: number;
  missesByEvasion: Record<string, number>;
  missesByWord: Record<string, number>;
}

function agreement(corpus: readonly CorpusMessage[], flags: (c: CorpusMessage) => { ob: boolean; us: boolean }, include: (c: CorpusMessage) => boolean): Agreement {
  let obscenityFlagged = 0;
  let weFlaggedToo = 0;
  let weOnly = 0;
  const missesByEvasion: Record<string, number> = {};
  const missesByWord: Record<string, number> = {};
  for (const c of corpus) {
    if (!include(c)) continue;
    const { ob, us } = flags(c);
    if (ob) {
      obscenityFlagged++;
      if (us) weFlaggedToo++;
      else {
        const e = c.evasion ?? c.kind;
        missesByEvasion[e] = (missesByEvasion[e] ?? 0) + 1;
        if (c.word) missesByWord[c.word] = (missesByWord[c.word] ?? 0) + 1;
      }
    } else if (us) weOnly++;
  }
  return { obscenityFlagged, weFlaggedToo, share: obscenityFlagged ? weFlaggedToo / obscenityFlagged : 1, weOnly, missesByEvasion, missesByWord };
}

const topOf = (o: Record<string, number>, n = 8) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

const scenario: Scenario = {
  id: 3,
  name: 'text-pipeline',
  title: 'full text path (sanction gate + visible-text + spam + keyword) vs null pipeline vs obscenity English preset, in process',
  bar: BAR,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const plan = ctx.quick ? QUICK : FULL;
    ctx.log(`  scenario 3: generating ${plan.pool} messages, ${plan.customTerms} custom terms`);
    const corpus = generateCorpus(plan.pool);
    const msgs = toMessages(corpus);
    const { rooms, conns } = gatewayRooms(msgs);
    const sends: Send[] = msgs.map((msg) => ({ conn: conns.get(msg.userId)!, msg }));
    const store = await sanctionStore(SANCTIONS);

    // The spam filter's simulated clock (see the header): advanced once per message of "full".
    let streamNow = Date.now();
    const spam = gatewaySpamFilter(rooms, () => streamNow);
    const keyword = createKeywordFilter();
    const probe = createKeywordFilter({ splitWindowMs: 0 }); // agreement is judged per message
    try {
      const custom = syntheticTerms(plan.customTerms);
      await keyword.lists.addMany('global', custom);
      await probe.lists.addMany('global', custom);
      await Promise.all([keyword.ready(), probe.ready()]);

      const pipeline = new Pipeline(textPipelineFilters({ keyword, spam }), { budgetMs: BUDGET });
      const gate = sanctionGate(store);
      // As client-events.ts: the gate refuses (or shadows) first, then the pipeline runs.
      const spamVerdicts = { pass: 0, refused: 0, byRule: {} as Record<string, number> };
      const full = (s: Send) => {
        streamNow += STREAM_STEP_MS;
        const g = gate(s.conn, s.msg.room, 'text');
        if (g && g !== 'shadow') return g;
        return pipeline.run(s.msg);
      };
      const none = new Pipeline([], { budgetMs: BUDGET });
      const ob = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
      const ctxF = { deadlineMs: BUDGET.text, signal: new AbortController().signal };
      // `keyword` (the filter's check alone) is context: what the pipeline adds around it.
      const variants = [
        { name: 'null', fn: (s: Send) => none.run(s.msg), count: plan.messages },
        { name: 'keyword', fn: (s: Send) => keyword.filter.check(s.msg, ctxF), count: plan.messages },
        { name: 'full', fn: full, count: plan.messages },
        { name: 'obscenity', fn: (s: Send) => ob.hasMatch(s.msg.text!), count: plan.obscenityMessages },
      ];

      // Agreement first (it also warms every path up).
      ctx.log('  scenario 3: detection agreement');
      const flagsOf = new Map<CorpusMessage, { ob: boolean; us: boolean }>();
      corpus.forEach((c, i) => {
        const v = probe.filter.check(msgs[i]!, ctxF) as { action: string; findings?: unknown[] };
        flagsOf.set(c, { ob: ob.hasMatch(c.text), us: v.action !== 'pass' || (v.findings?.length ?? 0) > 0 });
      });
      const flags = (c: CorpusMessage) => flagsOf.get(c)!;
      // Judged on the inserted word: a message whose line alone obscenity already flags ("I have
      // 455 hours...") says nothing about the word, so it is left out (and counted).
      const baseFlagged = new Map<string, boolean>();
      const lineFlagged = (line: string) => baseFlagged.get(line) ?? (baseFlagged.set(line, ob.hasMatch(line)), baseFlagged.get(line)!);
      const adversarial = agreement(corpus, flags, (c) => c.kind !== 'clean' && !lineFlagged(c.base!));
      const leftOut = corpus.filter((c) => c.kind !== 'clean' && lineFlagged(c.base!)).length;
      const whole = agreement(corpus, flags, () => true);
      const cleanOnly = corpus.filter((c) => c.kind === 'clean' && flags(c).ob);
      const cleanObscenityWords: Record<string, number> = {};
      for (const c of cleanOnly) {
        for (const m of ob.getAllMatches(c.text)) {
          const w = englishDataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? '?';
          cleanObscenityWords[w] = (cleanObscenityWords[w] ?? 0) + 1;
        }
      }

      for (const v of variants) meanNs(v.fn, sends, Math.min(v.count, 50_000)); // warm-up
      const means: Record<string, number[]> = { null: [], keyword: [], full: [], obscenity: [] };
      const cpus: Record<string, number[]> = { null: [], keyword: [], full: [], obscenity: [] };
      const p99s: Record<string, number[]> = { null: [], keyword: [], full: [], obscenity: [] };
      const ratios: number[] = [];
      for (let round = 0; round < plan.rounds; round++) {
        for (const v of variants) {
          const m = meanNs(v.fn, sends, v.count);
          means[v.name]!.push(m.wall);
          cpus[v.name]!.push(m.cpu);
          p99s[v.name]!.push(p99Ns(v.fn, sends, v.count));
        }
        ratios.push(means.obscenity![round]! / means.full![round]!);
        ctx.log(`  scenario 3: round ${round + 1}/${plan.rounds}: null ${means.null![round]!.toFixed(0)} ns, full ${means.full![round]!.toFixed(0)} ns (cpu ${cpus.full![round]!.toFixed(0)}), obscenity ${means.obscenity![round]!.toFixed(0)} ns`);
      }
      // Cost per kind of message (full pipeline, CPU), so the mean can be redone for any mix.
      const perKind: Record<string, number> = {};
      for (const kind of ['clean', 'profane', 'adversarial'] as const) {
        const subset = sends.filter((_, i) => corpus[i]!.kind === kind);
        perKind[kind] = round4(meanNs(full, subset, Math.min(plan.messages, subset.length * 5)).cpu);
      }
      // What the spam filter said over everything "full" ran (its counters), as a share.
      const spamMessages = spam.stats.messages;
      let spamRefused = 0;
      for (const [rule, n] of Object.entries(spam.stats.drops)) {
        if (n > 0) spamVerdicts.byRule[rule] = n;
        spamRefused += n;
      }
      spamVerdicts.refused = spamRefused;
      spamVerdicts.pass = spamMessages - spamRefused;
      const spamRefusedShare = spamMessages ? spamRefused / spamMessages : 0;
      const med = (xs: number[]) => spread(xs)!.median;
      const r = spread(ratios)!;
      // The absolute bar is judged on CPU time per message (as scenario 1 does): on this shared
      // machine wall time also counts the time other processes hold the core.
      const fullCpu = med(cpus.full!);
      const figures: Figures = {
        null: { ns_mean: round4(med(means.null!)), ns_cpu_mean: round4(med(cpus.null!)), ns_p99: round4(med(p99s.null!)), messages: plan.messages },
        keyword: { ns_mean: round4(med(means.keyword!)), ns_cpu_mean: round4(med(cpus.keyword!)), ns_p99: round4(med(p99s.keyword!)), messages: plan.messages },
        full: { ns_mean: round4(med(means.full!)), ns_cpu_mean: round4(fullCpu), ns_p99: round4(med(p99s.full!)), messages: plan.messages, ns_cpu_clean: perKind.clean!, ns_cpu_profane: perKind.profane!, ns_cpu_adversarial: perKind.adversarial! },
        spam: { messages: spamMessages, refused: spamRefused, refused_share: round4(spamRefusedShare), stream_rate_per_sec: STREAM_RATE },
        obscenity: { ns_mean: round4(med(means.obscenity!)), ns_cpu_mean: round4(med(cpus.obscenity!)), ns_p99: round4(med(p99s.obscenity!)), messages: plan.obscenityMessages },
        agreement: {
          adversarial_obscenity_flagged: adversarial.obscenityFlagged,
          adversarial_we_flag_too: adversarial.weFlaggedToo,
          adversarial_share: round4(adversarial.share),
          adversarial_we_only: adversarial.weOnly,
          adversarial_left_out: leftOut,
          corpus_share: round4(whole.share),
          corpus_we_only: whole.weOnly,
          clean_lines_obscenity_flags: cleanOnly.length,
        },
      };
      const ratio = round4(r.median);
      const met = fullCpu <= FULL_MAX_NS && ratio >= OBSCENITY_MIN_RATIO && adversarial.share >= AGREEMENT_MIN;
      const kinds = (k: CorpusKind) => corpus.filter((c) => c.kind === k).length;
      const markdown = [
        `Corpus: ${plan.pool} distinct messages from seed 0x${SEED.toString(16)} (clean ${kinds('clean')}, plain profanity ${kinds('profane')}, adversarial ${kinds('adversarial')} — evasions: ${EVASIONS.map((e) => e.name).join(', ')}), cycled to ${plan.messages} messages per variant and round (obscenity: ${plan.obscenityMessages}); ${plan.rounds} interleaved rounds. Full: the sanction gate (${SANCTIONS / 1000}k sanctions of other users in a MemorySanctionStore), then the pipeline visible-text + spam (as the gateway builds it, in-process: no Redis) + keyword (built-in list, ${plan.customTerms} custom global terms, split detection on); ${USERS / 1000}k users in ${ROOMS} rooms.`,
        '',
        `Spam filter: its clock is a simulated stream of ${STREAM_RATE} messages/s (one message per user every ${Math.round(USERS / STREAM_RATE / 60)} min; faster, the corpus's few hundred repeated lines read as coordinated campaigns); it refused ${spamRefused} of the ${spamMessages} messages it checked = ${(spamRefusedShare * 100).toFixed(2)}% (${topOf(spamVerdicts.byRule)}), the rest passed on to the keyword filter. Split detection runs on the keyword filter's real clock: every user's last message is within its window (its most expensive case).`,
        '',
        '| variant | ns/message mean (wall) | ns/message mean (CPU) | ns/message p99 (wall) |',
        '|---|---|---|---|',
        ...(['null', 'keyword', 'full', 'obscenity'] as const).map((v) => `| ${VARIANT_LABEL[v]} | ${figures[v]!.ns_mean} | ${figures[v]!.ns_cpu_mean} | ${figures[v]!.ns_p99} |`),
        '',
        `Full by kind of message (CPU ns): clean ${perKind.clean}, plain profanity ${perKind.profane}, adversarial ${perKind.adversarial}. The difference between "keyword filter alone" and "full" is the sanction gate, the pipeline's own work per filter (clock reads), visible-text and the spam filter.`,
        '',
        `Full mean ${round4(fullCpu)} ns of CPU per message (bar ≤ ${FULL_MAX_NS} ns: ${fullCpu <= FULL_MAX_NS ? 'met' : 'NOT met'}; wall ${figures.full!.ns_mean} ns); obscenity ÷ full (wall, per round) = ${ratio} (spread ${round4(r.min)}–${round4(r.max)}; bar ≥ ${OBSCENITY_MIN_RATIO}: ${ratio >= OBSCENITY_MIN_RATIO ? 'met' : 'NOT met'}).`,
        '',
        `Detection agreement on the adversarial part (messages with an inserted dataset word; ${leftOut} more whose line alone obscenity flags are left out): obscenity flags ${adversarial.obscenityFlagged}, we flag ${adversarial.weFlaggedToo} of those = ${(adversarial.share * 100).toFixed(2)}% (bar ≥ ${AGREEMENT_MIN * 100}%: ${adversarial.share >= AGREEMENT_MIN ? 'met' : 'NOT met'}); misses by evasion: ${topOf(adversarial.missesByEvasion)}; by word: ${topOf(adversarial.missesByWord)}. We flag ${adversarial.weOnly} more that obscenity misses (spaced/separated letters, zero-width, math letters...).`,
        '',
        `Whole corpus, for context: ${(whole.share * 100).toFixed(2)}% of obscenity's flags; obscenity also flags ${cleanOnly.length} clean messages (by dataset word: ${topOf(cleanObscenityWords)}) — numbers read as leetspeak ("455") and words on our Scunthorpe allow list (cockpit, cumin, Penistone, rapeseed...), which we pass on purpose.`,
        '',
        'Means from a batch-timed pass (wall: hrtime; CPU: process.cpuUsage, the ≤ 3 µs bar is judged on it because this machine is shared — wall time also counts other processes holding the core); p99 from a second pass timing each message with performance.now() (adds ~30–50 ns). Obscenity timed with `hasMatch`, its cheapest call. Load average at start is in the header above.',
      ].join('\n');
      return { id: 3, name: 'text-pipeline', figures, ratio, ratioSpread: [round4(r.min), round4(r.max)], bar: BAR, met, markdown, raw: { plan, means, cpus, p99s, ratios, perKind, adversarial, whole, cleanObscenityWords, spamVerdicts } };
    } finally {
      keyword.close();
      probe.close();
      spam.close();
    }
  },
};
export default scenario;
