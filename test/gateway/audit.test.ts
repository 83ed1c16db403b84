import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, freePort, type RedisServer } from '../helpers/redis-server.ts';
import {
  AUDIT_STREAM,
  GENESIS,
  MemoryAuditLog,
  QUERY_MAX_LIMIT,
  RedisAuditLog,
  canonicalJSON,
  hashRecord,
  verifyChain,
  type AuditEntryInput,
  type AuditLog,
  type AuditRecord,
} from '../../gateway/audit.ts';
import { auditVerifyCommand } from '../../gateway/audit-verify.ts';

const DAY = 86_400_000;

function entry(over: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return {
    kind: 'sanction',
    action: 'ban',
    category: 'spam',
    actor: { type: 'automation', id: 'spam-filter', detector: 'spam', score: 0.97 },
    subject: { userId: 'u1', room: 'a', messageId: 'm1' },
    caseId: 'c1',
    policy: 'spam.ladder[2]',
    policyVersion: '2024-06-01',
    restriction: 'account suspended',
    durationSec: 86_400,
    facts: 'same link posted 40 times in 60 s',
    automatedDetection: true,
    automatedDecision: true,
    ground: 'Community guidelines §3 (spam)',
    redress: 'https://example.test/appeal/c1',
    evidence: { messageId: 'm1', scores: { spam: 0.97 } },
    ...over,
  };
}

async function collect(log: AuditLog): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const page of log.scan()) all.push(...page);
  return all;
}

function capture() {
  const lines: string[] = [];
  return { io: { out: (s: string) => void lines.push(s), err: (s: string) => void lines.push(s) }, text: () => lines.join('') };
}

let server: RedisServer;
let admin: Redis;
const open: AuditLog[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

interface Backend {
  name: string;
  make(node: string, o?: { clock?: () => number }): AuditLog;
  reset(): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    make: (node, o) => new MemoryAuditLog(node, o),
    reset: async () => {},
  },
  {
    name: 'redis',
    make: (node, o) => new RedisAuditLog(server.url, node, o),
    reset: async () => {
      await admin.flushall();
    },
  },
];

describe.each(backends)('audit log ($name)', (b) => {
  async function fresh(node = 'n1', o?: { clock?: () => number }): Promise<AuditLog> {
    await b.reset();
    const log = b.make(node, o);
    open.push(log);
    return log;
  }

  it('records the statement of reasons with id, time, node and chain fields; query filters, newest first', async () => {
    const log = await fresh();
    const first = entry();
    log.append(first);
    log.append(entry({ action: 'mute', subject: { userId: 'u2', room: 'b' }, durationSec: 600 }));
    log.append(entry({ kind: 'decision', action: 'warn', subject: { userId: 'u1', room: 'b' } }));
    log.append(entry({ kind: 'pardon', action: 'pardon', actor: { type: 'user', id: 'mod1', roles: ['moderator'] }, subject: { userId: 'u2' }, automatedDetection: false, automatedDecision: false }));
    await log.flush();

    const all = await log.query({});
    expect(all.map((r) => r.action)).toEqual(['pardon', 'warn', 'mute', 'ban']);
    expect(all.map((r) => r.seq)).toEqual([4, 3, 2, 1]);
    const ban = all[3]!;
    expect(ban).toMatchObject(first);
    expect(ban.node).toBe('n1');
    expect(ban.prev).toBe(GENESIS);
    expect(ban.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(ban.ts).toISOString()).toBe(ban.ts);
    expect(all[2]!.prev).toBe(ban.hash);
    const { hash, ...body } = ban;
    expect(hash).toBe(hashRecord(body));

    expect((await log.query({ userId: 'u1' })).map((r) => r.action)).toEqual(['warn', 'ban']);
    expect((await log.query({ room: 'b' })).map((r) => r.action)).toEqual(['warn', 'mute']);
    expect((await log.query({ userId: 'u2', room: 'b' })).map((r) => r.action)).toEqual(['mute']);
    // By the actor, too: what a moderator did.
    expect((await log.query({ userId: 'mod1' })).map((r) => r.action)).toEqual(['pardon']);
    expect(await log.query({ userId: 'nobody' })).toEqual([]);
  });

  it('keeps a copy: changing the appended object afterwards changes nothing; reserved fields cannot be injected', async () => {
    const log = await fresh();
    const e = entry();
    log.append({ ...e, seq: 99, hash: 'x', node: 'evil' } as AuditEntryInput);
    e.subject!.userId = 'changed';
    e.evidence!.scores!.spam = 0;
    await log.flush();
    const [r] = await log.query({});
    expect(r!.subject!.userId).toBe('u1');
    expect(r!.evidence!.scores).toEqual({ spam: 0.97 });
    expect(r!.seq).toBe(1);
    expect(r!.node).toBe('n1');
    expect(verifyChain(await collect(log)).ok).toBe(true);
  });

  it('caps limit: default 100, at most 1000', async () => {
    const log = await fresh();
    for (let i = 0; i < 1100; i++) log.append(entry({ subject: { userId: `u${i}` } }));
    await log.flush();
    expect(await log.query({})).toHaveLength(100);
    expect(await log.query({ limit: 5000 })).toHaveLength(QUERY_MAX_LIMIT);
    expect((await log.query({ limit: 3 })).map((r) => r.seq)).toEqual([1100, 1099, 1098]);
    expect(await log.query({ limit: 0 })).toHaveLength(1);
  });

  it('filters by since (ISO or epoch ms) and rejects a since that is neither', async () => {
    let now = Date.now() - 10 * DAY;
    const log = await fresh('n1', { clock: () => now });
    log.append(entry({ subject: { userId: 'old' } }));
    log.append(entry({ subject: { userId: 'old' } }));
    now = Date.now();
    for (let i = 0; i < 3; i++) log.append(entry({ subject: { userId: 'new' } }));
    await log.flush();
    const since = new Date(Date.now() - DAY);
    expect((await log.query({ since: since.toISOString() })).map((r) => r.subject!.userId)).toEqual(['new', 'new', 'new']);
    expect(await log.query({ since: since.getTime() })).toHaveLength(3);
    expect(await log.query({ since: String(since.getTime()) })).toHaveLength(3);
    expect(await log.query({ since: Date.now() - 20 * DAY })).toHaveLength(5);
    await expect(log.query({ since: 'last tuesday' })).rejects.toThrow(RangeError);
  });

  it('transparency: counts sanctions and decisions by category and action inside the window', async () => {
    let now = Date.now() - 40 * DAY;
    const log = await fresh('n1', { clock: () => now });
    log.append(entry({ action: 'ban', category: 'spam' })); // outside the default 30 days
    now = Date.now() - 10 * DAY;
    log.append(entry({ kind: 'decision', action: 'mute', category: 'spam' }));
    log.append(entry({ action: 'ban', category: 'hate' }));
    now = Date.now();
    log.append(entry({ action: 'ban', category: 'spam' }));
    log.append(entry({ kind: 'decision', action: 'warn', category: undefined }));
    log.append(entry({ kind: 'violation', action: 'strike', category: 'spam' })); // not enforcement
    log.append(entry({ kind: 'pardon', action: 'pardon' }));
    log.append(entry({ kind: 'refused', action: 'forbidden', category: undefined }));
    await log.flush();

    const t = await log.transparency();
    expect(t.total).toBe(4);
    expect(t.byCategory).toEqual({ spam: { mute: 1, ban: 1 }, hate: { ban: 1 }, unspecified: { warn: 1 } });
    expect(t.truncated).toBe(false);
    expect(Date.parse(t.until) - Date.parse(t.since)).toBeGreaterThanOrEqual(30 * DAY);
    expect(Math.abs(Date.parse(t.until) - Date.now())).toBeLessThan(5000);

    const since = new Date(Date.now() - 5 * DAY).toISOString();
    const recent = await log.transparency(since);
    expect(recent).toMatchObject({ since, total: 2, byCategory: { spam: { ban: 1 }, unspecified: { warn: 1 } } });
    expect((await log.transparency(Date.now() - 50 * DAY)).total).toBe(5);
    await expect(log.transparency('soon')).rejects.toThrow(RangeError);
  });

  it('the chain verifies; edits, deletions, reorders and forged insertions are found; a cut tail only against a checkpoint', async () => {
    const log = await fresh();
    for (let i = 0; i < 10; i++) log.append(entry({ subject: { userId: `u${i}` } }));
    await log.flush();
    const all = await collect(log);
    expect(all).toHaveLength(10);
    const ok = verifyChain(all);
    expect(ok).toMatchObject({ ok: true, checked: 10, chains: 1 });
    const cp = await log.checkpoint();
    expect(cp).toEqual({ n1: { seq: 10, hash: all[9]!.hash } });

    // Edit one field of one record.
    const edited = structuredClone(all);
    edited[4]!.action = 'warn';
    expect(verifyChain(edited)).toMatchObject({ ok: false, checked: 4, brokenAt: all[4]!.id, reason: expect.stringMatching(/edited/) });

    // Edit and recompute that record's hash: the next record's link breaks.
    const rehashed = structuredClone(all);
    rehashed[4]!.durationSec = 60;
    const { hash: _h, ...body } = rehashed[4]!;
    rehashed[4]!.hash = hashRecord(body);
    expect(verifyChain(rehashed)).toMatchObject({ ok: false, brokenAt: all[5]!.id, reason: expect.stringMatching(/prev does not match/) });

    // Delete one in the middle.
    const deleted = all.filter((_, i) => i !== 3);
    expect(verifyChain(deleted)).toMatchObject({ ok: false, brokenAt: all[4]!.id, reason: expect.stringMatching(/1 record missing/) });

    // Reorder two.
    const swapped = [...all];
    [swapped[6], swapped[7]] = [swapped[7]!, swapped[6]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, brokenAt: all[7]!.id });

    // Insert a forged record (a copy of another, with the seq it would need).
    const forged = { ...structuredClone(all[2]!), id: 'forged', seq: 4, action: 'pardon' };
    expect(verifyChain([...all.slice(0, 3), forged, ...all.slice(3)])).toMatchObject({ ok: false, brokenAt: 'forged' });

    // Truncate the tail: the chain alone cannot tell; the checkpoint can.
    expect(verifyChain(all.slice(0, 8)).ok).toBe(true);
    expect(verifyChain(all.slice(0, 8), cp)).toMatchObject({ ok: false, brokenAt: all[7]!.id, reason: expect.stringMatching(/truncated/) });
    expect(verifyChain(all, cp).ok).toBe(true);
    expect(verifyChain(all, { n1: { seq: 10, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, brokenAt: all[9]!.id, reason: expect.stringMatching(/checkpoint/) });
    expect(verifyChain(all, { n9: { seq: 1, hash: 'f'.repeat(64) } })).toMatchObject({ ok: false, reason: expect.stringMatching(/no records of node n9/) });
    // A chain whose oldest records were trimmed by retention still verifies.
    expect(verifyChain(all.slice(3))).toMatchObject({ ok: true, checked: 7 });
    // ...but a seq 1 that does not start from the genesis is caught.
    const badGenesis = structuredClone(all.slice(0, 1));
    badGenesis[0]!.prev = 'f'.repeat(64);
    expect(verifyChain(badGenesis).ok).toBe(false);
    expect(verifyChain([{ not: 'a record' }])).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed/) });
  });

  it('append never throws: non-entries, unserialisable and oversized entries are dropped and counted', async () => {
    const log = await fresh();
    const circular = entry();
    (circular.evidence as Record<string, unknown>).self = circular;
    expect(() => {
      log.append(null as unknown as AuditEntryInput);
      log.append({ kind: 'nope' } as unknown as AuditEntryInput);
      log.append(circular);
      log.append(entry({ facts: 'x'.repeat(20_000) }));
      log.append({ ...entry(), evidence: { big: 10n } } as unknown as AuditEntryInput);
    }).not.toThrow();
    log.append(entry());
    await log.flush();
    expect(log.dropped).toBe(5);
    expect(log.drops).toEqual({ full: 0, invalid: 5, closed: 0 });
    expect(await log.query({})).toHaveLength(1);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level and leaves out undefined members', () => {
    expect(canonicalJSON({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[3,{"z":1}]},"b":1}');
    expect(canonicalJSON({ a: 1, b: 2 })).toBe(canonicalJSON({ b: 2, a: 1 }));
  });
});

describe('memory audit log', () => {
  it('keeps a ring of the last N records; the kept chain verifies; transparency says when the window predates it', async () => {
    const log = new MemoryAuditLog('solo', { capacity: 5 });
    for (let i = 0; i < 12; i++) log.append(entry({ subject: { userId: `u${i}` } }));
    const all = await collect(log);
    expect(all.map((r) => r.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(verifyChain(all)).toMatchObject({ ok: true, checked: 5 });
    expect(await log.checkpoint()).toEqual({ solo: { seq: 12, hash: all[4]!.hash } });
    const t = await log.transparency();
    expect(t).toMatchObject({ total: 5, truncated: true });
    log.append(entry());
    await log.close();
    log.append(entry());
    expect(log.drops.closed).toBe(1);
  });
});

describe('redis audit log', () => {
  async function reset() {
    await admin.flushall();
  }
  function make(node: string, o?: ConstructorParameters<typeof RedisAuditLog>[2], url = server.url) {
    const log = new RedisAuditLog(url, node, o);
    open.push(log);
    return log;
  }
  async function verifyCmd(args: string[] = []) {
    const c = capture();
    const code = await auditVerifyCommand(args, { REDIS_URL: server.url }, c.io);
    return { code, text: c.text() };
  }
  async function streamIds(): Promise<string[]> {
    return (await admin.xrange(AUDIT_STREAM, '-', '+')).map(([id]) => id);
  }

  it('stores one JSON field per entry in modgate:audit; `modgate audit verify` says ok', async () => {
    await reset();
    const log = make('n1');
    for (let i = 0; i < 3; i++) log.append(entry());
    await log.flush();
    const raw = await admin.xrange(AUDIT_STREAM, '-', '+');
    expect(raw).toHaveLength(3);
    expect(raw[0]![1][0]).toBe('r');
    expect(JSON.parse(raw[0]![1][1]!)).toMatchObject({ node: 'n1', seq: 1, action: 'ban' });
    const r = await verifyCmd();
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^ok: 3 records, 1 chains$/m);
  });

  it('two nodes appending concurrently: each keeps its own chain and both verify', async () => {
    await reset();
    const a = make('node-a');
    const b = make('node-b');
    for (let i = 0; i < 300; i++) {
      a.append(entry({ subject: { userId: `a${i}` } }));
      b.append(entry({ subject: { userId: `b${i}` } }));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all([a.flush(), b.flush()]);
    const all = await collect(a);
    expect(all).toHaveLength(600);
    expect(new Set(all.map((r) => r.node))).toEqual(new Set(['node-a', 'node-b']));
    expect(verifyChain(all)).toMatchObject({ ok: true, checked: 600, chains: 2 });
    expect(await a.checkpoint()).toEqual({
      'node-a': { seq: 300, hash: all.filter((r) => r.node === 'node-a').at(-1)!.hash },
      'node-b': { seq: 300, hash: all.filter((r) => r.node === 'node-b').at(-1)!.hash },
    });
    const r = await verifyCmd();
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/ok: 600 records, 2 chains/);
  });

  it('a restarted node continues its chain (from the heads hash, or by scanning the stream if that is gone)', async () => {
    await reset();
    const first = make('n1');
    for (let i = 0; i < 3; i++) first.append(entry());
    await first.close();
    const other = make('n2');
    other.append(entry());
    await other.flush();

    const second = make('n1');
    second.append(entry());
    second.append(entry());
    await second.flush();
    await second.close();

    await admin.del(`${AUDIT_STREAM}:heads`);
    const third = make('n1');
    third.append(entry());
    await third.flush();

    const all = await collect(third);
    expect(all.filter((r) => r.node === 'n1').map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(verifyChain(all)).toMatchObject({ ok: true, checked: 7, chains: 2 });
  });

  it('a write whose reply was lost (Redis frozen past the command timeout) is not written twice', async () => {
    await reset();
    const log = make('n1');
    log.append(entry());
    await log.flush();
    const frozen = admin.call('DEBUG', 'SLEEP', '1.5');
    log.append(entry({ action: 'mute' }));
    await frozen;
    await log.flush(10_000);
    const all = await collect(log);
    expect(all.map((r) => r.action)).toEqual(['ban', 'mute']);
    expect(verifyChain(all).ok).toBe(true);
  });

  it('a node id used twice by mistake: the second writer chains after the first instead of forking', async () => {
    await reset();
    const a = make('same');
    const b = make('same');
    // One certain conflict: a, then b, then a again with the head it knew before b wrote.
    a.append(entry({ subject: { userId: 'first-a' } }));
    await a.flush();
    b.append(entry({ subject: { userId: 'first-b' } }));
    await b.flush();
    a.append(entry({ subject: { userId: 'second-a' } }));
    await a.flush();
    // Then both at once, interleaved as timing has it.
    for (let i = 0; i < 50; i++) {
      a.append(entry({ subject: { userId: `a${i}` } }));
      b.append(entry({ subject: { userId: `b${i}` } }));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all([a.flush(), b.flush()]);
    const all = await collect(a);
    expect(all).toHaveLength(103);
    expect(verifyChain(all)).toMatchObject({ ok: true, chains: 1 });
    expect((a as RedisAuditLog).conflicts + (b as RedisAuditLog).conflicts).toBeGreaterThan(0);
  });

  it('tampering in Redis is found by `modgate audit verify`: a forged XADD, a deletion (XDEL), an unreadable entry', async () => {
    await reset();
    const log = make('n1');
    for (let i = 0; i < 6; i++) log.append(entry({ subject: { userId: `u${i}` } }));
    await log.flush();
    const all = await collect(log);
    expect((await verifyCmd()).code).toBe(0);

    // Forged: a copy of record 2 claiming to be the next one, content changed, old hash kept.
    const forged = { ...all[1]!, id: 'forged-1', seq: 7, prev: all[5]!.hash, action: 'pardon' };
    const forgedId = await admin.xadd(AUDIT_STREAM, '*', 'r', JSON.stringify(forged));
    let r = await verifyCmd();
    expect(r.code).toBe(1);
    expect(r.text).toContain(`broken: record forged-1 (stream id ${forgedId}, node n1, seq 7)`);
    expect(r.text).toMatch(/edited/);
    await admin.xdel(AUDIT_STREAM, forgedId!);
    expect((await verifyCmd()).code).toBe(0);

    // Deletion in the middle.
    const ids = await streamIds();
    await admin.xdel(AUDIT_STREAM, ids[2]!);
    r = await verifyCmd();
    expect(r.code).toBe(1);
    expect(r.text).toContain(`broken: record ${all[3]!.id}`);
    expect(r.text).toMatch(/1 record missing/);
    expect(r.text).toMatch(/2 records verified before it/);

    // An entry that is not a record at all.
    await reset();
    const garbageId = await admin.xadd(AUDIT_STREAM, '*', 'r', '{not json');
    r = await verifyCmd();
    expect(r.code).toBe(1);
    expect(r.text).toContain(`broken: record ${garbageId}`);
  });

  it('a saved checkpoint makes a truncated tail detectable', async () => {
    await reset();
    const log = make('n1');
    for (let i = 0; i < 5; i++) log.append(entry());
    await log.flush();
    const file = join(mkdtempSync(join(tmpdir(), 'modgate-audit-')), 'cp.json');
    let r = await verifyCmd(['--save-checkpoint', file]);
    expect(r.code).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.heads).toEqual(await log.checkpoint());

    const ids = await streamIds();
    await admin.xdel(AUDIT_STREAM, ids[4]!, ids[3]!);
    expect((await verifyCmd()).code).toBe(0); // the documented limitation
    r = await verifyCmd(['--checkpoint', file]);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/ends at seq 3 but the checkpoint has seq 5: its tail was truncated/);
  });

  it('`modgate audit verify` exits 2 on usage errors and an unreachable Redis', async () => {
    const c = capture();
    expect(await auditVerifyCommand([], {}, c.io)).toBe(2);
    expect(c.text()).toMatch(/REDIS_URL/);
    expect(await auditVerifyCommand(['--bogus'], { REDIS_URL: server.url }, capture().io)).toBe(2);
    expect(await auditVerifyCommand(['extra'], { REDIS_URL: server.url }, capture().io)).toBe(2);
    const down = capture();
    expect(await auditVerifyCommand(['verify', '--redis', `redis://:secret@127.0.0.1:${await freePort()}`], {}, down.io)).toBe(2);
    expect(down.text()).toMatch(/cannot reach Redis/);
    expect(down.text()).not.toContain('secret');
    expect(await auditVerifyCommand(['--help'], {}, capture().io)).toBe(0);
  });
});

describe('redis audit log when Redis goes away', () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own.stop().catch(() => {});
  });

  it('append never throws or waits; the queue holds and is written after Redis returns; overflow drops new entries, counted', async () => {
    const log = new RedisAuditLog(own.url, 'n1');
    const small = new RedisAuditLog(own.url, 'n2', { maxQueue: 10 });
    open.push(log, small);
    for (let i = 0; i < 5; i++) log.append(entry());
    await log.flush();

    await own.kill();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) log.append(entry({ subject: { userId: `down${i}` } }));
    expect(performance.now() - t0).toBeLessThan(500);
    for (let i = 0; i < 15; i++) small.append(entry({ subject: { userId: `s${i}` } }));
    expect(small.pending).toBe(10);
    expect(small.drops).toEqual({ full: 5, invalid: 0, closed: 0 });
    expect(log.pending).toBe(1000);
    expect(log.dropped).toBe(0);
    await expect(log.flush(300)).rejects.toThrow(/timed out/);
    await expect(log.query({})).rejects.toThrow();

    await own.restart(); // comes back empty
    await Promise.all([log.flush(15_000), small.flush(15_000)]);
    expect(log.pending).toBe(0);

    const c = new Redis(own.url);
    try {
      const seen = (await c.xrange(AUDIT_STREAM, '-', '+')).map(([, f]) => JSON.parse(f[1]!) as AuditRecord);
      const n1 = seen.filter((r) => r.node === 'n1');
      expect(n1.map((r) => r.subject!.userId)).toEqual(Array.from({ length: 1000 }, (_, i) => `down${i}`));
      // The node went on with its chain (seq 6 onwards); the first five went with the old Redis.
      expect(n1[0]!.seq).toBe(6);
      expect(seen.filter((r) => r.node === 'n2').map((r) => r.subject!.userId)).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
      expect(verifyChain(seen)).toMatchObject({ ok: true, checked: 1010, chains: 2 });
    } finally {
      c.disconnect();
    }
  });

  it('close while Redis is down gives up after a bounded wait and counts what was lost', async () => {
    const log = new RedisAuditLog(own.url, 'n3');
    log.append(entry());
    await log.flush();
    await own.kill();
    log.append(entry());
    log.append(entry());
    const t0 = Date.now();
    await log.close();
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(log.drops.closed).toBe(2);
    log.append(entry());
    expect(log.drops.closed).toBe(3);
    await own.restart();
  });
});
