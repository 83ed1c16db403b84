/**
 * verifySync (node:crypto, used by the raw door to upgrade inside uWS's callback) must decide
 * exactly as verify (jose) does: same identity, or the same refusal message — or hand over (ASYNC).
 */
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASYNC, AuthError, createAuthenticator, type Authenticator } from '../../gateway/auth.ts';

const SECRET = 'sync-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

type Outcome = { identity: unknown } | { error: string } | 'async';

function sync(a: Authenticator, t: string | undefined): Outcome {
  try {
    const r = a.verifySync(t);
    return r === ASYNC ? 'async' : { identity: r };
  } catch (e) {
    if (e instanceof AuthError) return { error: e.message };
    throw e;
  }
}

async function viaJose(a: Authenticator, t: string | undefined): Promise<Outcome> {
  try {
    return { identity: await a.verify(t) };
  } catch (e) {
    if (e instanceof AuthError) return { error: e.message };
    throw e;
  }
}

let es: Awaited<ReturnType<typeof generateKeyPair>>;
let esOther: Awaited<ReturnType<typeof generateKeyPair>>;
let rs: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksPath: string;

beforeAll(async () => {
  es = await generateKeyPair('ES256');
  esOther = await generateKeyPair('ES256');
  rs = await generateKeyPair('RS256');
  const dir = mkdtempSync(join(tmpdir(), 'modgate-auth-sync-'));
  jwksPath = join(dir, 'jwks.json');
  writeFileSync(
    jwksPath,
    JSON.stringify({
      keys: [
        { ...(await exportJWK(es.publicKey)), kid: 'es1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rs.publicKey)), kid: 'rs1', alg: 'RS256' },
        { ...(await exportJWK(esOther.publicKey)), kid: 'enc', use: 'enc' },
      ],
    }),
  );
});

async function hsCases(): Promise<[string, string | undefined][]> {
  const hs = (claims: Record<string, unknown> = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  const other = new TextEncoder().encode('another-secret-another-secret-another-secret');
  return [
    ['valid', await hs({ roles: ['moderator'], owns: ['r1'], name: 'Ann' }).setSubject('ann').setExpirationTime('1h').sign(key)],
    ['valid, no exp', await hs().setSubject('ann').sign(key)],
    ['missing', undefined],
    ['garbage', 'not-a-jwt'],
    ['four parts', 'a.b.c.d'],
    ['bad base64', '!!.??.##'],
    ['wrong signature', await hs().setSubject('a').setExpirationTime('1h').sign(other)],
    ['expired past the skew', await hs().setSubject('a').setExpirationTime(now() - 60).sign(key)],
    ['expired within the skew', await hs().setSubject('a').setExpirationTime(now() - 2).sign(key)],
    ['not yet valid', await hs().setSubject('a').setNotBefore(now() + 120).setExpirationTime('1h').sign(key)],
    ['nbf within the skew', await hs().setSubject('a').setNotBefore(now() + 2).setExpirationTime('1h').sign(key)],
    ['exp not a number', await hs({ exp: 'soon' }).setSubject('a').sign(key)],
    ['no sub', await hs().setExpirationTime('1h').sign(key)],
    ['unknown role', await hs({ roles: ['root'] }).setSubject('a').setExpirationTime('1h').sign(key)],
    ['alg none', `${b64({ alg: 'none' })}.${b64({ sub: 'a' })}.`],
    ['HS384', await new SignJWT({}).setProtectedHeader({ alg: 'HS384' }).setSubject('a').setExpirationTime('1h').sign(new Uint8Array(48).fill(7))],
    ['payload not an object', `${b64({ alg: 'HS256' })}.${Buffer.from('[1]').toString('base64url')}.x`],
    ['oversize', 'a'.repeat(9000)],
  ];
}

describe('verifySync agrees with jose', () => {
  it('HS256: every case gets the same identity or the same refusal', async () => {
    const a = createAuthenticator({ jwtSecret: SECRET, jwtClockSkewSec: 5 });
    let decidedSync = 0;
    for (const [why, t] of await hsCases()) {
      const s = sync(a, t);
      const j = await viaJose(a, t);
      if (s === 'async') continue;
      decidedSync++;
      expect(s, why).toEqual(j);
    }
    // The valid tokens at least must not need the asynchronous path.
    expect(sync(a, (await hsCases())[0]![1])).toHaveProperty('identity.id', 'ann');
    expect(decidedSync).toBeGreaterThanOrEqual(14);
  });

  it('issuer and audience are checked like jose checks them', async () => {
    const a = createAuthenticator({ jwtSecret: SECRET, jwtClockSkewSec: 5, jwtIssuer: 'https://idp', jwtAudience: 'modgate' });
    const base = () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setExpirationTime('1h');
    const tokens = [
      await base().setIssuer('https://idp').setAudience('modgate').sign(key),
      await base().setIssuer('https://idp').setAudience(['x', 'modgate']).sign(key),
      await base().setIssuer('https://other').setAudience('modgate').sign(key),
      await base().setAudience('modgate').sign(key),
      await base().setIssuer('https://idp').sign(key),
      await base().setIssuer('https://idp').setAudience('nope').sign(key),
    ];
    const outcomes = tokens.map((t) => sync(a, t));
    for (let i = 0; i < tokens.length; i++) expect(outcomes[i], `token ${i}`).toEqual(await viaJose(a, tokens[i]));
    expect(outcomes.filter((o) => o !== 'async' && 'identity' in o)).toHaveLength(2);
  });

  it('JWKS file: ES256 and RS256 verify synchronously; unknown keys and enc-only keys do not verify', async () => {
    const a = createAuthenticator({ jwks: jwksPath, jwtClockSkewSec: 5 });
    const sign = (alg: 'ES256' | 'RS256', k: CryptoKey, kid?: string) =>
      new SignJWT({}).setProtectedHeader(kid ? { alg, kid } : { alg }).setSubject('k').setExpirationTime('1h').sign(k);
    const good = [await sign('ES256', es.privateKey, 'es1'), await sign('ES256', es.privateKey), await sign('RS256', rs.privateKey, 'rs1')];
    for (const t of good) {
      expect(sync(a, t)).toHaveProperty('identity.id', 'k');
      expect(await viaJose(a, t)).toHaveProperty('identity.id', 'k');
    }
    // Signed by a key the set only holds for encryption: refused both ways.
    const enc = await sign('ES256', esOther.privateKey, 'enc');
    const encSync = sync(a, enc);
    if (encSync !== 'async') expect(encSync).toEqual(await viaJose(a, enc));
    expect(await viaJose(a, enc)).toHaveProperty('error');
    // Right kid, wrong signer.
    const forged = await sign('ES256', esOther.privateKey, 'es1');
    expect(sync(a, forged)).toEqual({ error: 'token signature or format invalid' });
    expect(await viaJose(a, forged)).toEqual({ error: 'token signature or format invalid' });
    // HS256 is not accepted without a secret.
    const hs = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').sign(key);
    expect(sync(a, hs)).toEqual(await viaJose(a, hs));
  });
});
