/**
 * Three real `modgate serve` processes on one real redis-server: what an operator deploys.
 * (sanctions.test.ts covers the same behaviour in depth with in-process gateways.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { collect, raw, sio, sioRequest, token, until, SECRET } from '../helpers/gateway.ts';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let redis: RedisServer;
const nodes: { proc: ChildProcess; port: number }[] = [];

async function readyz(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`node on ${port} not ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  redis = await startRedis();
  for (const name of ['a', 'b', 'c']) {
    const port = await freePort();
    const proc = spawn(process.execPath, ['bin/modgate.mjs', 'serve'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', MODGATE_JWT_SECRET: SECRET, REDIS_URL: redis.url, MODGATE_NODE_ID: `proc-${name}`, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    nodes.push({ proc, port });
  }
  await Promise.all(nodes.map((n) => readyz(n.port)));
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.proc.kill('SIGTERM');
  await Promise.all(nodes.map((n) => new Promise((r) => (n.proc.exitCode !== null ? r(null) : n.proc.once('exit', r)))));
  await redis?.stop();
});

describe('three gateway processes', () => {
  it('share rooms across processes and enforce a ban issued on A on B and C', async () => {
    const [A, B, C] = nodes.map((n) => n.port) as [number, number, number];
    const user = 'proc-user';
    const onB = await sio(B, await token(user));
    const onC = await raw(C, await token(user));
    const friend = await raw(A, await token('proc-friend'));
    await sioRequest(onB, 'room:join', { room: 'procs' });
    await onC.request('room:join', { room: 'procs' });
    await friend.request('room:join', { room: 'procs' });
    const got = collect(onB);
    await friend.request('message:send', { room: 'procs', text: 'hello from A' });
    expect((await onC.next('message')).text).toBe('hello from A');
    await until(() => got.length === 1);

    const admin = await raw(A, await token('proc-mod', { roles: ['moderator'] }), { path: '/ws/admin' });
    const endedB = new Promise<any>((r) => onB.once('session:ended', r));
    expect((await admin.request('user:sanction', { userId: user, action: 'ban', reason: 'cross-process' })).ok).toBe(true);
    expect((await endedB).code).toBe('banned');
    expect((await onC.next('session:ended')).code).toBe('banned');
    expect(await onC.closed).toBe(1008);
    admin.close();
    friend.close();
  });
});
