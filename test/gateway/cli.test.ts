import { describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { io as ioc } from 'socket.io-client';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, sioRequest } from '../helpers/gateway.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = `${root}bin/modgate.mjs`;
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

function serve(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, 'serve'], { cwd: root, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('modgate serve (embedded default)', () => {
  it('prints working tokens for a viewer, a streamer and a moderator; drains and exits on SIGTERM', async () => {
    const p = serve({ PORT: '0', LOG_LEVEL: 'info' });
    try {
      await waitFor(() => /Try it/.test(p.out()), 15_000, 'the welcome text');
      const out = p.out();
      const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(out)![1]);
      const tok = (who: string) => new RegExp(`^  ${who}\\s.*?\\s(eyJ[\\w-]+\\.[\\w-]+\\.[\\w-]+)$`, 'm').exec(out)![1]!;
      expect(out).toMatch(/socket\.io\s+node -e/);
      expect(out).toMatch(/raw ws\s+node -e/);

      const viewer = ioc(`http://127.0.0.1:${port}`, { auth: { token: tok('viewer') }, transports: ['websocket'], reconnection: false });
      await new Promise<void>((r) => viewer.once('connect', () => r()));
      await sioRequest(viewer, 'room:join', { room: 'demo' });
      const streamer = await raw(port, tok('streamer'));
      await streamer.request('room:join', { room: 'demo' });
      const moderator = await raw(port, tok('moderator'));
      expect((await moderator.request('room:join', { room: 'demo' })).ok).toBe(true);
      const got = new Promise<any>((r) => viewer.once('message', r));
      await streamer.request('message:send', { room: 'demo', text: 'we are live' });
      expect((await got).user.id).toBe('streamer');

      const told = new Promise<any>((r) => viewer.once('server:shutdown' as any, r));
      p.child.kill('SIGTERM');
      expect(await told).toEqual({ reconnect: true });
      expect((await streamer.next('server:shutdown')).reconnect).toBe(true);
      expect(await streamer.closed).toBe(1001);
      expect(await p.exited).toBe(0);
      viewer.close();
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('exits with a message naming the setting when the configuration is bad', async () => {
    const p = serve({ PORT: 'eighty' });
    expect(await p.exited).toBe(2);
    expect(p.out()).toMatch(/configuration error: PORT \(port\)/);
  });
});

describe('modgate policy check / audit verify / policy reload', () => {
  it('checks policy files: ok for the shipped one, errors with paths for a broken one', () => {
    const ok = spawnSync(process.execPath, [bin, 'policy', 'check', 'rules/default-policy.yaml'], { cwd: root, env: baseEnv, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^ok: /);
    const dir = mkdtempSync(join(tmpdir(), 'modgate-pol-'));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(join(root, 'rules/default-policy.yaml'), 'utf8').replace(/^version: .*$/m, 'version: 7\nbogus: true'));
    const bad = spawnSync(process.execPath, [bin, 'policy', 'check', broken], { cwd: root, env: baseEnv, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bogus/);
  });

  it('audit verify says when it cannot reach Redis (exit 2)', () => {
    const r = spawnSync(process.execPath, [bin, 'audit', 'verify', '--redis', 'redis://127.0.0.1:1'], { cwd: root, env: baseEnv, encoding: 'utf8' });
    expect(r.status).toBe(2);
  });

  it('SIGHUP reloads the policy; a broken file keeps the current one and the gateway serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modgate-pol-'));
    const file = join(dir, 'policy.yaml');
    const good = readFileSync(join(root, 'rules/default-policy.yaml'), 'utf8');
    writeFileSync(file, good);
    const p = serve({ PORT: '0', MODGATE_POLICY: file });
    try {
      await waitFor(() => /Try it/.test(p.out()), 15_000, 'start');
      writeFileSync(file, 'version: [');
      p.child.kill('SIGHUP');
      await waitFor(() => /policy reload failed/.test(p.out()), 10_000, 'the reload failure');
      writeFileSync(file, good.replace(/^version: .*$/m, 'version: reloaded-2'));
      p.child.kill('SIGHUP');
      await waitFor(() => /"version":"reloaded-2".*policy reloaded/.test(p.out()), 10_000, 'the reload');
      const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(p.out())![1]);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});

describe('modgate token', () => {
  const secret = 'cli-secret-0123456789-0123456789-0123456789';
  it('mints a token with the configured key and the given claims', async () => {
    const r = spawnSync(process.execPath, [bin, 'token', '--sub', 'alice', '--roles', 'moderator', '--owns', 'room1,room2', '--ttl', '600'], {
      cwd: root,
      env: { ...baseEnv, MODGATE_JWT_SECRET: secret },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    expect(payload).toMatchObject({ sub: 'alice', roles: ['moderator'], owns: ['room1', 'room2'] });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('refuses unknown roles and a missing key, clearly', () => {
    const bad = spawnSync(process.execPath, [bin, 'token', '--sub', 'a', '--roles', 'root'], { cwd: root, env: { ...baseEnv, MODGATE_JWT_SECRET: secret }, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown role root/);
    const nokey = spawnSync(process.execPath, [bin, 'token', '--sub', 'a'], { cwd: root, env: baseEnv, encoding: 'utf8' });
    expect(nokey.status).toBe(2);
    expect(nokey.stderr).toMatch(/MODGATE_JWT_SECRET is not set/);
  });
});
