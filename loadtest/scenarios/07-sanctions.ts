/**
 * Scenario 7 — sanction propagation.
 *
 * (a) A moderator bans a user through node A's `/ws/admin`; the user is connected to node B's
 *     `/ws`; measured: admin request sent → `session:ended` received by the user on node B (the
 *     moment node B enforces the ban; the user's next message would be refused from then on).
 *     Side by side, interleaved in blocks: raw Redis PUBLISH → SUBSCRIBE one-way latency between
 *     two connections of this process, on the same redis-server. All times from one clock.
 * (b) The message path in process (validation + sanction gate + pipeline + fan-out to an empty
 *     room), with the gate and without it, over a store holding 100k sanctions of other users.
 *
 * Two gateway processes (taskset core 0) and a redis-server (core 1) are started for the run.
 */
import { sleep } from '../lib/proc.ts';
import { interleave, latencyFigures, latencyTable, nowMs, recordMs, RawPubSub, SAMPLE_TIMEOUT_MS, TwoNodes, usHistogram, type InterleavePlan } from '../lib/propagation.ts';
import { round4, spread } from '../lib/stats.ts';
import type { BenchContext, Figures, Scenario, ScenarioResult } from '../lib/types.ts';

const BAR = 'p50 ≤ raw + 1 ms; p99 ≤ 2× raw; message path with the sanction check ≤ 1.05× without';
const P50_SLACK_MS = 1;
const P99_RATIO = 2;
const GATE_RATIO = 1.05;

interface Plan extends InterleavePlan {
  /** Message-path iterations per variant and round, and rounds. */
  pathIterations: number;
  pathRounds: number;
}
const FULL: Plan = { samples: 1000, block: 100, gapMs: 2, pathIterations: 200_000, pathRounds: 5 };
const QUICK: Plan = { samples: 100, block: 50, gapMs: 2, pathIterations: 20_000, pathRounds: 2 };

async function propagation(ctx: BenchContext, plan: Plan): Promise<{ figures: Figures; ok: boolean; notes: string[] }> {
  // One admin connection issues every ban: lift the per-connection flood limit (30/s by default)
  // and the per-moderator ban limit (30/min), both meant for humans, so the measurement is of
  // propagation, not of the limiters.
  const cluster = await TwoNodes.start(ctx, '07', { limits: { floodRatePerSec: 10_000, floodBurst: 10_000, highImpactPerMinute: 100_000 } });
  try {
    const { A, B } = cluster;
    const admin = await cluster.connect(A, '/ws/admin', { sub: 'bench-mod', roles: ['moderator'] });
    const raw = await RawPubSub.connect(cluster.redisPort);
    const mod = usHistogram();
    let failures = 0;
    let userSeq = 0;
    const banSample = async () => {
      const user = `bench-user-${userSeq++}`;
      const conn = await cluster.connect(B, '/ws', { sub: user, roles: ['user'] });
      const ended = new Promise<number>((resolve) => conn.on('session:ended', () => resolve(nowMs())));
      await sleep(plan.gapMs);
      const t0 = nowMs();
      const replied = admin.request('user:sanction', { userId: user, action: 'ban', reason: 'bench' });
      const t1 = await Promise.race([ended, sleep(SAMPLE_TIMEOUT_MS).then(() => -1)]);
      const reply = await replied;
      if (t1 < 0 || !reply.ok) failures++;
      else recordMs(mod, t1 - t0);
      conn.close();
    };
    // Warm-up (JIT, connections, Lua script cache), then raw and ban blocks in turn.
    await interleave(ctx, { label: 'scenario 7', unit: 'bans' }, plan, {
      raw,
      modgate: banSample,
      reset: () => {
        mod.reset();
        failures = 0;
      },
    });
    admin.close();
    raw.close();
    const figures: Figures = { 'raw-redis-pubsub': { ...latencyFigures(raw.hist) }, 'modgate-ban-propagation': { ...latencyFigures(mod), failures } };
    return { figures, ok: failures === 0, notes: failures ? [`${failures} bans did not reach node B within ${SAMPLE_TIMEOUT_MS / 1000} s: run invalid`] : [] };
  } finally {
    await cluster.stop();
  }
}

/** (b): the message path with and without the sanction gate, in this process. */
async function messagePath(plan: Plan): Promise<{ figures: Figures; ratio: number; ratioSpread: [number, number] }> {
  const { loadConfig } = await import('../../gateway/config.ts');
  const { ClientEvents } = await import('../../gateway/client-events.ts');
  const { MemorySanctionStore } = await import('../../gateway/sanction-store.ts');
  const { sanctionGate } = await import('../../gateway/enforcement.ts');
  const { Pipeline } = await import('../../filters/pipeline.ts');
  const { DEFAULT_FILTERS } = await import('../../gateway/server.ts');
  const { Metrics } = await import('../../gateway/metrics.ts');
  const { LocalBus } = await import('../../gateway/bus.ts');
  const { UserPrefs } = await import('../../gateway/user-prefs.ts');
  const config = loadConfig({}, { jwtSecret: 'x'.repeat(40), logLevel: 'silent' });
  const store = new MemorySanctionStore();
  const now = Date.now();
  for (let i = 0; i < 100_000; i++) {
    await store.put({ id: `s${i}`, userId: `other${i}`, kind: i % 2 ? 'mute' : 'ban', actor: { type: 'user', id: 'm' }, reason: 'r', caseId: `c${i}`, start: now });
  }
  const metrics = new Metrics();
  const pipeline = new Pipeline(DEFAULT_FILTERS, { budgetMs: config.pipeline.budgetMs });
  // Rooms stand-in: the room has no other member on this node, so fan-out costs the same in both.
  const rooms = { has: () => true, settings: () => ({ slowModeSec: 0, linksAllowed: true }), deliver: () => {}, connectionsOf: () => new Set(), join: () => true, leave: () => false, refreshUser: () => {} };
  const conn = { id: 'c', door: 'ws', user: { id: 'bench-user', name: 'b', roles: ['user'], owns: [], ageVerified: false, emailVerified: false }, ip: '127.0.0.1', rooms: new Set(['room']), takeFlood: () => true, tail: undefined, closed: false, log: undefined, emit() {}, subscribeShared() {}, unsubscribeShared() {}, bufferedAmount: () => 0, close() {} };
  const base = { config, rooms: rooms as never, bus: new LocalBus(), prefs: new UserPrefs(undefined), pipeline, metrics };
  const withGate = new ClientEvents({ ...base, gate: sanctionGate(store) });
  const without = new ClientEvents(base);
  const data = { room: 'room', text: 'a perfectly ordinary chat message of about sixty bytes!!' };
  const run = (ev: InstanceType<typeof ClientEvents>, n: number) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) ev.handle(conn as never, 'message:send', data);
    return Number(process.hrtime.bigint() - t0) / n;
  };
  run(withGate, 20_000);
  run(without, 20_000);
  const w: number[] = [];
  const wo: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < plan.pathRounds; r++) {
    const a = run(without, plan.pathIterations);
    const b = run(withGate, plan.pathIterations);
    wo.push(a);
    w.push(b);
    ratios.push(b / a);
  }
  metrics.close();
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const s = spread(ratios)!;
  return {
    figures: { 'path-without-gate': { ns_per_message: round4(med(wo)) }, 'path-with-gate': { ns_per_message: round4(med(w)) } },
    ratio: round4(med(ratios)),
    ratioSpread: [round4(s.min), round4(s.max)],
  };
}

const scenario: Scenario = {
  id: 7,
  name: 'sanction-propagation',
  title: 'ban on node A → enforced on node B vs raw Redis PUBLISH→SUBSCRIBE; message path with vs without the sanction gate',
  bar: BAR,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const plan = ctx.quick ? QUICK : FULL;
    const prop = await propagation(ctx, plan);
    const path = await messagePath(plan);
    const raw = prop.figures['raw-redis-pubsub']!;
    const mod = prop.figures['modgate-ban-propagation']!;
    const p99Ratio = round4(mod.p99_ms! / raw.p99_ms!);
    const p50Met = mod.p50_ms! <= raw.p50_ms! + P50_SLACK_MS;
    const p99Met = p99Ratio <= P99_RATIO;
    const gateMet = path.ratio <= GATE_RATIO;
    const figures: Figures = { ...prop.figures, ...path.figures, ratios: { p99_modgate_over_raw: p99Ratio, p50_excess_ms: round4(mod.p50_ms! - raw.p50_ms!), path_with_over_without: path.ratio } };
    const markdown = [
      `Bans measured: ${mod.samples} (each a fresh user on node B, issued on node A's /ws/admin), interleaved in blocks with ${raw.samples} raw PUBLISH→SUBSCRIBE samples on the same redis-server.`,
      '',
      ...latencyTable([
        ['raw Redis PUBLISH→SUBSCRIBE', raw],
        ['modgate ban A → session:ended on B', mod],
      ]),
      '',
      `p50 excess over raw: ${figures.ratios!.p50_excess_ms} ms (bar ≤ ${P50_SLACK_MS} ms: ${p50Met ? 'met' : 'NOT met'}); p99 ratio: ${p99Ratio} (bar ≤ ${P99_RATIO}: ${p99Met ? 'met' : 'NOT met'}).`,
      '',
      `Message path in process (zod validation + gate + pipeline + fan-out to an empty room; 100k sanctions of other users in the store): without gate ${path.figures['path-without-gate']!.ns_per_message} ns, with gate ${path.figures['path-with-gate']!.ns_per_message} ns; ratio ${path.ratio} (spread ${path.ratioSpread[0]}–${path.ratioSpread[1]}, ${plan.pathRounds} interleaved rounds; bar ≤ ${GATE_RATIO}: ${gateMet ? 'met' : 'NOT met'}).`,
      ...prop.notes.map((n) => `\n**Invalid:** ${n}`),
    ].join('\n');
    return {
      id: 7,
      name: 'sanction-propagation',
      figures,
      ratio: p99Ratio,
      bar: BAR,
      met: prop.ok && p50Met && p99Met && gateMet,
      markdown,
      raw: { plan, prop, path },
    };
  },
};
export default scenario;
