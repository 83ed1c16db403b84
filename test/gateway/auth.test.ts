import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gateway, raw, rawRefusal, sio, sioConnectError, sioRequest, token, SECRET } from '../helpers/gateway.ts';
import type { Gateway } from '../../gateway/server.ts';

const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

let gw: Gateway;
let es: Awaited<ReturnType<typeof generateKeyPair>>;
beforeAll(async () => {
  es = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(es.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const dir = mkdtempSync(join(tmpdir(), 'modgate-jwks-'));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  gw = await gateway({ jwks: join(dir, 'jwks.json'), jwtClockSkewSec: 5 });
});
afterAll(() => gw.close());

/** Tokens that must be refused, each for its own reason. */
async function badTokens(): Promise<[string, string | undefined][]> {
  const other = new TextEncoder().encode('another-secret-another-secret-another-secret');
  return [
    ['missing token', undefined],
    ['garbage', 'not-a-jwt'],
    ['wrong signature', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setExpirationTime('1h').sign(other)],
    ['expired past the skew', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setExpirationTime(now() - 60).sign(key)],
    ['not yet valid', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setNotBefore(now() + 120).setExpirationTime('1h').sign(key)],
    ['no sub', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key)],
    ['unknown role', await new SignJWT({ roles: ['root'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setExpirationTime('1h').sign(key)],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.`],
    ['HS384 not accepted', await new SignJWT({}).setProtectedHeader({ alg: 'HS384' }).setSubject('a').setExpirationTime('1h').sign(new Uint8Array(48).fill(7))],
    ['oversize', 'a'.repeat(9000)],
  ];
}

describe('handshake authentication', () => {
  it('refuses every bad token on the socket.io door with connect_error data.code unauthorized', async () => {
    for (const [why, t] of await badTokens()) {
      const err = await sioConnectError(gw.port, t);
      expect(err.data?.code, why).toBe('unauthorized');
    }
  });

  it('refuses every bad token on the raw door with HTTP 401 and a JSON body before the upgrade', async () => {
    for (const [why, t] of await badTokens()) {
      const r = await rawRefusal(gw.port, t === undefined ? '' : `?token=${encodeURIComponent(t)}`);
      expect(r.status, why).toBe(401);
      expect(r.body.code, why).toBe('unauthorized');
      expect(typeof r.body.message).toBe('string');
    }
  });

  it('accepts a token slightly past exp within the clock skew, and HS256 in an Authorization header', async () => {
    const t = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('skewed').setExpirationTime(now() - 2).sign(key);
    const c = await raw(gw.port, t, { header: true });
    const r = await c.request('room:join', { room: 'a' });
    expect(r.ok).toBe(true);
    c.close();
  });

  it('accepts ES256 tokens signed by a key in the JWKS file, and takes identity only from the token', async () => {
    const t = await new SignJWT({ name: 'Eve', roles: ['user'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('eve').setExpirationTime('1h').sign(es.privateKey);
    const s = await sio(gw.port, t);
    await sioRequest(s, 'room:join', { room: 'jwks' });
    const got = new Promise<any>((r) => s.once('message', r));
    // A forged user field in the payload is refused by the schema, not trusted.
    const forged = await sioRequest(s, 'message:send', { room: 'jwks', text: 'hi', user: { id: 'admin' } });
    expect(forged.error.code).toBe('invalid');
    await sioRequest(s, 'message:send', { room: 'jwks', text: 'hi' });
    expect((await got).user).toEqual({ id: 'eve', name: 'Eve' });
    s.close();
  });

  it('logs neither tokens nor message bodies', async () => {
    const t = await token('logcheck');
    const c = await raw(gw.port, t);
    await c.request('room:join', { room: 'logs' });
    await c.request('message:send', { room: 'logs', text: 'secret-body-text-4711' });
    c.close();
    await c.closed;
    const all = (gw as any).logs.raw.join('\n');
    expect(all).toContain('logcheck');
    expect(all).not.toContain(t);
    expect(all).not.toContain('secret-body-text-4711');
  });
});
