/**
 * The spam filter with a real Redis (Debian's redis-server, started per file): the cluster budget
 * and coordinated spam across two filter instances ("nodes"), Redis killed and restarted, Redis
 * frozen, and the number of Redis operations per message.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpamFinding } from '../../../filters/spam/types.ts';
import { startRedis, type RedisServer } from '../../helpers/redis-server.ts';
import { harness, outcome, T0, type Harness } from './helpers.ts';

let server: RedisServer;
const open: Redis[] = [];
const nodes: Harness[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedis();
});
afterEach(() => {
  for (const n of nodes.splice(0)) n.spam.close();
  for (const r of open.splice(0)) r.disconnect();
});
afterAll(async () => {
  await server?.stop();
});

/** A connection as the gateway makes them (DESIGN.md): no offline queue, a command timeout, quick retries. */
async function connect(commandTimeout = 1000): Promise<Redis> {
  const r = new Redis(server.url, { enableOfflineQueue: false, commandTimeout, maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: true });
  r.on('error', () => {});
  open.push(r);
  await r.connect();
  return r;
}

/** Two nodes sharing one Redis (and one clock), with a key prefix of their own per test. */
async function twoNodes(): Promise<[Harness, Harness]> {
  const clock = { t: T0 };
  const keyPrefix = `modgate:spam:test${++prefixSeq}:`;
  const a = harness({ nodeId: 'node-a', redis: await connect(), keyPrefix }, clock);
  const b = harness({ nodeId: 'node-b', redis: await connect(), keyPrefix }, clock);
  nodes.push(a, b);
  return [a, b];
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A burst on A, reported; one message on B, reported; B's next message is over the cluster budget. */
async function crossNodeBudget(a: Harness, b: Harness, user: string): Promise<string[]> {
  const out = Array.from({ length: 5 }, (_, i) => outcome(a.send(user, `hello from a ${i}`)));
  await a.spam.sync();
  out.push(outcome(b.send(user, 'hello from b')));
  await b.spam.sync();
  const v = b.send(user, 'again from b');
  out.push(v.action === 'pass' ? 'pass' : `${v.error!.code}:${String(v.error!.retryAfterMs)}`);
  return out;
}

describe('cluster budget (two nodes, one Redis)', () => {
  it('a user busy on node A is limited on node B after one sync, and owes what both accepted', async () => {
    const [a, b] = await twoNodes();
    // 5 on A (tat +10 s) + 1 on B (+2 s) = 12 s ahead, minus the 8 s burst tolerance: wait 4 s.
    expect(await crossNodeBudget(a, b, 'u')).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'rate_limited:4000']);
    expect(b.spam.stats.cluster).toMatchObject({ enabled: true, degraded: false, syncFailures: 0 });
  });

  it('without Redis the same user gets a full burst on each node (what the cluster budget prevents)', () => {
    const clock = { t: T0 };
    const a = harness({ nodeId: 'node-a' }, clock);
    const b = harness({ nodeId: 'node-b' }, clock);
    for (let i = 0; i < 5; i++) a.send('u', `a ${i}`);
    expect(Array.from({ length: 6 }, (_, i) => outcome(b.send('u', `b ${i}`)))).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'rate_limited']);
  });

  it('a user alternating nodes for a minute gets the cluster rate plus at most one burst per extra node', async () => {
    const [a, b] = await twoNodes();
    let accepted = 0;
    let i = 0;
    for (let t = 0; t < 60_000; t += 100, i++) {
      a.clock.t = T0 + t;
      if (outcome((i % 2 ? a : b).send('u', `message ${i}`)) === 'pass') accepted++;
      if (t % 250 === 0) await Promise.all([a.spam.sync(), b.spam.sync()]); // the sync interval
    }
    // One node alone: burst 5 + 0.5/s × 60 s = 35. Two independent nodes: 70. The cluster
    // budget bound: 35 + one burst and one sync interval of rate for the second node.
    expect(accepted).toBeGreaterThanOrEqual(30);
    expect(accepted).toBeLessThanOrEqual(35 + 5 + 1);
  });
});

describe('coordinated spam across nodes', () => {
  const TEXT = 'free followers and free nitro at my channel, link in bio';

  it('counts accounts on both nodes as one group, named alike on both', async () => {
    const [a, b] = await twoNodes();
    const seen = [a.send('bot0', TEXT), a.send('bot1', TEXT), b.send('bot2', TEXT), b.send('bot3', TEXT)].map(outcome);
    expect(seen).toEqual(['pass', 'pass', 'pass', 'pass']); // neither node alone has 5 accounts
    await a.spam.sync(); // ships bot0, bot1
    await b.spam.sync(); // ships bot2, bot3 and learns bot0, bot1
    const vb = b.send('bot4', TEXT); // B knows 5 accounts: a group
    expect(outcome(vb)).toBe('blocked:spam:coordinated');
    // A learns the others when it next reports this text: its next copy still passes (it cannot
    // know yet), the one after is refused. Detection on a node lags by one sync.
    expect(outcome(a.send('bot5', TEXT))).toBe('pass');
    await b.spam.sync();
    await a.spam.sync();
    const va = a.send('bot6', TEXT);
    expect(outcome(va)).toBe('blocked:spam:coordinated');
    const fa = va.findings![0] as SpamFinding;
    const fb = vb.findings![0] as SpamFinding;
    expect(fa.groupId).toBe(fb.groupId);
    expect([...fb.members!].sort()).toEqual(['bot0', 'bot1', 'bot2', 'bot3', 'bot4']);
    expect([...fa.members!].sort()).toEqual(['bot0', 'bot1', 'bot2', 'bot3', 'bot4', 'bot5', 'bot6']);
    expect(b.groups[0]).toMatchObject({ id: fb.groupId, scope: 'room', deliveredBeforeDetection: 4, detectedBy: 'node-b' });
    expect(a.groups[0]).toMatchObject({ id: fb.groupId, detectedBy: 'node-a' });
    expect(a.spam.stats.cluster.sightingsSynced).toBeGreaterThan(0);
  });

  it('without Redis each node only sees its own accounts', () => {
    const clock = { t: T0 };
    const a = harness({ nodeId: 'node-a' }, clock);
    const b = harness({ nodeId: 'node-b' }, clock);
    const seen = [a.send('bot0', TEXT), a.send('bot1', TEXT), b.send('bot2', TEXT), b.send('bot3', TEXT), a.send('bot4', TEXT), b.send('bot5', TEXT)].map(outcome);
    expect(seen).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
  });
});

describe('Redis failures: local approximation, never unlimited', () => {
  it('Redis killed: limiting continues locally and is counted; restarted: the cluster budget resumes', async () => {
    const [a, b] = await twoNodes();
    expect(await crossNodeBudget(a, b, 'before')).toContain('rate_limited:4000');

    await server.kill();
    a.advance(60_000);
    // Every message is still checked synchronously; a fresh user gets exactly one burst.
    const during = Array.from({ length: 20 }, (_, i) => outcome(a.send('during', `text ${i}`)));
    expect(during.filter((o) => o === 'pass')).toHaveLength(5);
    expect(during.filter((o) => o === 'rate_limited')).toHaveLength(15);
    await a.spam.sync(); // fails or is skipped: the connection is gone
    expect(a.spam.stats.cluster.degraded).toBe(true);
    expect(a.spam.stats.cluster.syncFailures + a.spam.stats.cluster.syncSkipped).toBeGreaterThan(0);
    a.advance(10_000);
    expect(outcome(a.send('during', 'later'))).toBe('pass');
    expect(a.spam.stats.cluster.localOnly).toBeGreaterThan(0); // accepted on the local limiter alone
    expect(a.spam.stats.cluster.unreported).toBeGreaterThan(0);

    await server.restart(); // empty, on the same port
    await waitFor(() => open.every((r) => r.status === 'ready'));
    a.advance(60_000);
    expect(await crossNodeBudget(a, b, 'after')).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'rate_limited:4000']);
    expect(a.spam.stats.cluster.degraded).toBe(false);
    expect(b.spam.stats.cluster.degraded).toBe(false);
  });

  it('Redis frozen: the hot path never waits; the sync times out, counted; it recovers by itself', async () => {
    const [a] = await twoNodes();
    const admin = await connect(10_000);
    const frozen = admin.call('DEBUG', 'SLEEP', '1.5'); // blocks the server for 1.5 s; answers when it ends
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    const verdicts = Array.from({ length: 8 }, (_, i) => a.send('u', `frozen ${i}`));
    expect(performance.now() - t0).toBeLessThan(200); // synchronous: nothing waited for Redis
    expect(verdicts.map(outcome)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'rate_limited', 'rate_limited', 'rate_limited']);
    const s0 = performance.now();
    await a.spam.sync();
    expect(performance.now() - s0).toBeLessThan(1400); // gave up at syncTimeoutMs (500 ms), not at the end of the freeze
    expect(a.spam.stats.cluster).toMatchObject({ degraded: true, syncFailures: 1 });
    await frozen;
    a.advance(10_000);
    a.send('u', 'thawed');
    await a.spam.sync();
    expect(a.spam.stats.cluster.degraded).toBe(false);
  });
});

describe('Redis operations per message', () => {
  it('≤ 1 Redis round trip per 50 messages on the hot path (INFO commandstats on the test server)', async () => {
    const [a] = await twoNodes();
    const admin = await connect();
    a.send('warm', 'load the script once'); // the first sync also loads the Lua script (EVAL)
    await a.spam.sync();
    await admin.config('RESETSTAT');
    const messages = 6400;
    let accepted = 0;
    const refused: string[] = [];
    for (let i = 0; i < messages; i++) {
      a.advance(1);
      // 3200 users × 2 messages of distinct random words, long enough for coordination sightings too.
      const o = outcome(a.send(`user${i % 3200}`, words(i)));
      if (o === 'pass') accepted++;
      else if (refused.length < 5) refused.push(`#${i} ${o} (cluster: ${JSON.stringify(a.spam.stats.cluster)})`);
      // Let the event loop turn after every message, as a server does between socket reads:
      // the worst case for batching (a sync can start as soon as 64 messages wait).
      await new Promise((r) => setImmediate(r));
    }
    await a.spam.sync();
    const stats = parseCommandStats(await admin.info('commandstats'));
    const monitoring = (cmd: string) => cmd === 'info' || cmd.startsWith('config'); // this test's own (config|resetstat)
    const client = Object.entries(stats)
      .filter(([cmd]) => !monitoring(cmd) && !INNER.has(cmd))
      .reduce((s, [, n]) => s + n, 0);
    const inner = Object.entries(stats)
      .filter(([cmd]) => INNER.has(cmd))
      .reduce((s, [, n]) => s + n, 0);
    expect(refused).toEqual([]);
    expect(accepted).toBe(messages);
    expect(stats.evalsha).toBeGreaterThan(0);
    expect(client).toBe(stats.evalsha! + (stats.eval ?? 0)); // nothing but the sync script
    expect(client / messages).toBeLessThanOrEqual(1 / 50);
    // Inside the script: a constant 8 commands per sync (rates and sightings: HMGET ×2, HSET, PEXPIRE).
    expect(inner).toBeLessThanOrEqual(8 * client);
    // Every accepted message reached Redis, or is counted as not reported (a sync can time out
    // on an overloaded machine: the node then limits locally, as designed).
    const c = a.spam.stats.cluster;
    expect(c.messagesSynced + c.unreported, JSON.stringify(c)).toBeGreaterThanOrEqual(messages);
    if (c.syncFailures === 0) expect(c.messagesSynced).toBeGreaterThanOrEqual(messages);
  });
});

/** Six pseudo-random words, different for every i (distinct texts: no duplicate, no campaign). */
function words(i: number): string {
  let x = (i + 1) * 0x9e3779b1;
  const out: string[] = [];
  for (let w = 0; w < 6; w++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push((x >>> 0).toString(36));
  }
  return out.join(' ');
}

/** Commands the sync script runs inside Redis (counted by commandstats too, but not round trips). */
const INNER = new Set(['hmget', 'hset', 'pexpire']);

function parseCommandStats(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
