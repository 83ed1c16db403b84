/**
 * Scenario 9 — kill propagation (issue #6).
 *
 * A moderator kills a live stream through node A's `/ws/admin`; a viewer of the room is connected
 * to node B's `/ws`; measured: `stream:kill` sent → `stream:ended` received by the viewer on node B.
 * The kill's reply waits for every node's confirmation (KILL_ACK_WINDOW_MS, 250 ms) but viewers
 * are told at once, so the reply is not what is timed: it is collected at the end of each block
 * and every reply must be `ok` for the run to be valid. Side by side, interleaved in blocks: raw
 * Redis PUBLISH → SUBSCRIBE one-way latency on the same redis-server (as in scenario 7). All
 * times from one clock.
 *
 * Each kill needs a live stream: a sample is `stream:start` by the room's streamer (on node A),
 * wait until the viewer on B has `stream:started`, pause, then kill and time. A plain moderator
 * kill (no `suspendDays`, no `category`) records a 60 s `stream_kill` sanction only, which does not
 * stop its owner going live again (`livestreamRefusal` looks at bans, suspensions and
 * livestream restrictions), so the same streamer restarts at once; the samples still rotate over
 * ROOMS rooms, each with its own streamer, so no streamer collects more than 1/ROOMS of the kill
 * records and a start never lands in a room whose kill is still in its confirmation window.
 *
 * Two gateway processes (taskset core 0) and a redis-server (core 1) are started for the run.
 */
import { sleep } from '../lib/proc.ts';
import { interleave, latencyFigures, latencyTable, nowMs, recordMs, RawPubSub, SAMPLE_TIMEOUT_MS, TwoNodes, usHistogram, type InterleavePlan, type RawConn } from '../lib/propagation.ts';
import { round4 } from '../lib/stats.ts';
import type { BenchContext, Figures, Scenario, ScenarioResult } from '../lib/types.ts';

const BAR = 'p99 ≤ 2× raw Redis PUBLISH→SUBSCRIBE';
const P99_RATIO = 2;
/** Rooms (one streamer each, all watched by the viewer) the kills rotate over. */
const ROOMS = 8;

const FULL: InterleavePlan = { samples: 1000, block: 100, gapMs: 2 };
const QUICK: InterleavePlan = { samples: 150, block: 50, gapMs: 2 };

interface Outcome {
  figures: Figures;
  ok: boolean;
  notes: string[];
}

async function propagation(ctx: BenchContext, plan: InterleavePlan): Promise<Outcome> {
  // One admin connection issues every kill: lift the per-connection flood limit (30/s by default)
  // and the per-moderator limit on bans, suspensions and kills (30/min), both meant for humans,
  // so the measurement is of propagation, not of the limiters.
  const cluster = await TwoNodes.start(ctx, '09', { limits: { floodRatePerSec: 10_000, floodBurst: 10_000, highImpactPerMinute: 100_000 } });
  try {
    const { A, B } = cluster;
    const admin = await cluster.connect(A, '/ws/admin', { sub: 'bench-mod', roles: ['moderator'] });
    const rooms = Array.from({ length: ROOMS }, (_, i) => `bench-live-${i}`);
    const streamers: RawConn[] = [];
    for (const [i, room] of rooms.entries()) streamers.push(await cluster.connect(A, '/ws', { sub: `bench-streamer-${i}`, owns: [room] }));
    const viewer = await cluster.connect(B, '/ws', { sub: 'bench-viewer' });
    for (const room of rooms) {
      const r = await viewer.request('room:join', { room });
      if (!r.ok) throw new Error(`viewer room:join ${room}: ${JSON.stringify(r)}`);
    }
    // The viewer's events, matched to the sample waiting for them: started by room (the start
    // reply and the event come on different sockets, in either order), ended by stream id.
    const startedIn = new Map<string, (streamId: string) => void>();
    const endedOf = new Map<string, (t: number) => void>();
    viewer.on('stream:started', (d) => startedIn.get(d.room as string)?.(d.streamId as string));
    viewer.on('stream:ended', (d) => {
      const t = nowMs();
      if (d.reason === 'killed') endedOf.get(d.streamId as string)?.(t);
    });

    const raw = await RawPubSub.connect(cluster.redisPort);
    const mod = usHistogram();
    let failures = 0;
    let refused = 0;
    const errors = new Set<string>();
    const fail = (why: string) => {
      failures++;
      errors.add(why);
    };
    let replies: Promise<void>[] = [];
    let seq = 0;
    const killSample = async () => {
      const i = seq++ % ROOMS;
      const room = rooms[i]!;
      const live = new Promise<string>((r) => startedIn.set(room, r));
      const start = await streamers[i]!.request('stream:start', { room, title: 'bench' });
      if (!start.ok) return fail(`stream:start refused: ${JSON.stringify(start).slice(0, 200)}`);
      const streamId = start.streamId as string;
      const seen = await Promise.race([live, sleep(SAMPLE_TIMEOUT_MS).then(() => '')]);
      startedIn.delete(room);
      if (seen !== streamId) return fail(`stream:started did not reach node B within ${SAMPLE_TIMEOUT_MS / 1000} s`);
      const ended = new Promise<number>((r) => endedOf.set(streamId, r));
      await sleep(plan.gapMs);
      const t0 = nowMs();
      const reply = admin.request('stream:kill', { room, reason: 'bench' });
      replies.push(
        reply.then((r) => {
          if (!r.ok || r.streamId !== streamId) {
            refused++;
            errors.add(`stream:kill answered ${JSON.stringify(r).slice(0, 200)}`);
          }
        }),
      );
      const t1 = await Promise.race([ended, sleep(SAMPLE_TIMEOUT_MS).then(() => -1)]);
      endedOf.delete(streamId);
      if (t1 < 0) return fail(`stream:ended did not reach the viewer on node B within ${SAMPLE_TIMEOUT_MS / 1000} s`);
      recordMs(mod, t1 - t0);
    };
    // Warm-up (JIT, connections, Lua script cache), then raw and kill blocks in turn; each kill
    // block ends by collecting its kills' replies (each about 250 ms after its kill).
    await interleave(ctx, { label: 'scenario 9', unit: 'kills' }, plan, {
      raw,
      modgate: killSample,
      reset: () => {
        mod.reset();
        failures = 0;
        refused = 0;
        errors.clear();
      },
      afterBlock: async () => {
        await Promise.all(replies);
        replies = [];
      },
    });
    for (const c of [admin, viewer, ...streamers]) c.close();
    raw.close();
    const figures: Figures = { 'raw-redis-pubsub': { ...latencyFigures(raw.hist) }, 'modgate-kill-propagation': { ...latencyFigures(mod), failures, kills_refused: refused } };
    const notes = failures || refused ? [`${failures} kills not measured and ${refused} kill replies not ok: run invalid (${[...errors].join('; ')})`] : [];
    return { figures, ok: notes.length === 0, notes };
  } finally {
    await cluster.stop();
  }
}

const scenario: Scenario = {
  id: 9,
  name: 'kill-propagation',
  title: 'stream kill on node A → stream:ended at a viewer on node B vs raw Redis PUBLISH→SUBSCRIBE',
  bar: BAR,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const plan = ctx.quick ? QUICK : FULL;
    const prop = await propagation(ctx, plan);
    const raw = prop.figures['raw-redis-pubsub']!;
    const mod = prop.figures['modgate-kill-propagation']!;
    const p99Ratio = round4(mod.p99_ms! / raw.p99_ms!);
    const p50Ratio = round4(mod.p50_ms! / raw.p50_ms!);
    const p99Met = p99Ratio <= P99_RATIO;
    const figures: Figures = { ...prop.figures, ratios: { p99_modgate_over_raw: p99Ratio, p50_modgate_over_raw: p50Ratio } };
    const markdown = [
      `Kills measured: ${mod.samples} (plain moderator kills on node A's /ws/admin, rotating over ${ROOMS} rooms each with its own streamer on node A; one viewer on node B in every room), interleaved in blocks of ${plan.block} with ${raw.samples} raw PUBLISH→SUBSCRIBE samples on the same redis-server. Each kill follows a fresh \`stream:start\` that the viewer has seen, then a ${plan.gapMs} ms pause; timed from the kill request's send to \`stream:ended\` at the viewer (the kill's reply, which waits the 250 ms confirmation window, is checked but not timed).`,
      '',
      ...latencyTable([
        ['raw Redis PUBLISH→SUBSCRIBE', raw],
        ['modgate kill A → stream:ended on B', mod],
      ]),
      '',
      `p99 ratio (modgate ÷ raw): ${p99Ratio} (bar ≤ ${P99_RATIO}: ${p99Met ? 'met' : 'NOT met'}); p50 ratio: ${p50Ratio}.`,
      ...prop.notes.map((n) => `\n**Invalid:** ${n}`),
    ].join('\n');
    return {
      id: 9,
      name: 'kill-propagation',
      figures,
      ratio: p99Ratio,
      bar: BAR,
      met: prop.ok && p99Met,
      markdown,
      raw: { plan, rooms: ROOMS, prop },
    };
  },
};
export default scenario;
